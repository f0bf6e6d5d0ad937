"""`tcd-hub bench sfu` on the smallest room (two sites, a second or two), in the hub's process
and on one media worker. It measures; nothing here depends on how fast, only that the counts
arrive and agree with each other."""

from __future__ import annotations

import json

import pytest

from hub.cli import main


def test_the_benchmark_reports_forwarding_from_the_agents_and_the_hub(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The default: packet forwarding and frame forwarding, one after the other, in one run.
    assert main(["bench", "sfu", "--sites", "2", "--seconds", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"packet", "frame", "packet_over_frame"}
    for mode in ("packet", "frame"):
        run = result[mode]
        assert run["sites"] == 2 and run["forwarded_video_streams"] == run["flowing_streams"] == 2
        assert run["hub_cpu_cores"] > 0 and run["min_frame_share"] > 0
        # The hub's own figures (RoomManager.stats()): each site's video goes to the other one.
        rooms = run["hub_rooms"]
        assert rooms["forwarded_tracks"] >= 2
        assert rooms["frames_received"] > 0 and rooms["frames_forwarded"] > 0
        assert run["rooms"] == 1 and "workers" not in run and "by_worker" not in run
    assert result["packet_over_frame"] == round(
        result["packet"]["streams_per_core"] / result["frame"]["streams_per_core"], 2
    )


def test_the_benchmark_on_a_media_worker_reports_its_cpu_placement_and_frames(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "sfu", "--workers", "1", "--rooms", "1", "--sites", "2", "--seconds", "2"]
    assert main([*argv, "--mode", "packet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"packet"}
    run = result["packet"]
    assert (run["workers"], run["rooms"], run["sites"]) == (1, 1, 2)
    assert run["forwarded_video_streams"] == run["flowing_streams"] == 2
    # The one room was placed on the one worker, which forwarded its frames and used CPU.
    ((worker_id, worker),) = run["by_worker"].items()
    assert list(run["placement"].values()) == [worker_id]
    assert worker["rooms"] == 1 and worker["participants"] == 2
    assert worker["forwarded_tracks"] == 2
    assert worker["frames_received"] > 0 and worker["frames_forwarded"] > 0
    assert worker["cpu_cores"] > 0 and run["workers_cpu_cores"] == worker["cpu_cores"]
    assert run["streams_per_core"] > 0 and run["hub_cpu_cores"] >= 0
    shares = run["subscriber_frame_share"]
    assert shares["subscribers"] == 2 and shares["min"] > 0
    assert run["min_frame_share"] > 0 and "load_average" in run

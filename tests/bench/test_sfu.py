"""`tcd-hub bench sfu` on the smallest room: two sites, one second. It measures; nothing here
depends on how fast, only that both sides' counts arrive and agree with each other."""

from __future__ import annotations

import json

import pytest

from hub.cli import main


def test_the_benchmark_reports_forwarding_from_the_agents_and_the_hub(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "sfu", "--mode", "passthrough", "--sites", "2", "--seconds", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    run = result["passthrough"]
    assert run["sites"] == 2 and run["forwarded_video_streams"] == 2
    assert run["hub_cpu_cores"] > 0 and run["min_frame_share"] > 0
    # The hub's own figures (RoomManager.stats()): each site's video goes to the other one.
    rooms = run["hub_rooms"]
    assert rooms["forwarded_tracks"] >= 2
    assert rooms["frames_received"] > 0 and rooms["frames_forwarded"] > 0
    assert "mediarelay" not in result and "ratio" not in result

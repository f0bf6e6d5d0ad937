"""`tcd-hub bench mixed` on a small register and a two-site hearing: it seeds, serves on a media
worker and in-process, forwards, storms the API and reports the figures the issue names. It
checks that everything was measured and answered; nothing here depends on how fast."""

from __future__ import annotations

import argparse

import pytest

from bench.mixed import run_bench_mixed

pytestmark = pytest.mark.timeout(400)


async def test_the_benchmark_reports_media_and_api_figures_both_ways() -> None:
    args = argparse.Namespace(sites=2, petitions=2000, storm=10, baseline_seconds=1.0, json=True)
    result = await run_bench_mixed(args)
    assert result["sites"] == 2 and result["petitions"] == 2000
    for run, workers in ((result, 1), (result["in_process"], 0)):
        assert run["media_workers"] == workers
        media, api = run["media"], run["api"]
        assert set(media) >= {"baseline_fps", "min_fps", "frame_share"}
        assert set(api) >= {"p95_ms", "requests"}
        # Media flowed between the two sites before the storm (both subscriptions counted).
        assert media["subscriptions"] == 2 and media["baseline_fps"] > 0
        assert 0 <= media["min_fps"] and 0 <= media["frame_share"] <= 1
        # Every sign-in and search got an HTTP answer; only 200, or 503 from the full
        # password-check queue, are answers the storm should get.
        assert api["requests"] == 20 and api["answered"] == 20 and api["errors"] == []
        assert sum(api["statuses"].values()) == 20
        assert set(api["statuses"]) <= {"200", "503"}, api["statuses"]
        assert api["p95_ms"] > 0

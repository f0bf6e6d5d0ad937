"""`tcd-hub bench presence` on a small cluster: 30 sites over two nodes. It measures; nothing
here depends on how fast, only that the figures are all there and every change reached the
operator's board."""

from __future__ import annotations

import json

import pytest

from hub.cli import main

pytestmark = pytest.mark.timeout(180)


def test_the_benchmark_sees_every_change_on_the_operators_board(
    capsys: pytest.CaptureFixture[str], redis_server: str
) -> None:
    # (redis_server: the bench starts a redis-server of its own; this only skips, or fails
    # under CI, where it is not installed, as every Redis test does.)
    argv = ["bench", "presence", "--sites", "30", "--nodes", "2", "--changes", "20", "--json"]
    assert main([*argv, "--rate", "10"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["sites"], result["nodes"]) == (30, 2)
    # Every site, whichever node it is on, is in the snapshot of the operator on the last one.
    assert result["snapshot_online"] == 30
    assert result["changes"] == 20 and result["seen"] == 20 and result["failed_changes"] == 0
    latency = result["board_latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    assert result["cpu_cores_per_1000_sites"] > 0 and result["hub_cpu_cores"] > 0

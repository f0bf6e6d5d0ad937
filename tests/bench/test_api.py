"""`tcd-hub bench api` on a small register: it seeds, serves, signs in, times each kind of call
and reports the figures the issue names. It measures; nothing here depends on how fast."""

from __future__ import annotations

import argparse

from bench.api import run_bench_api


async def test_the_benchmark_reports_list_search_and_detail_latency() -> None:
    result = await run_bench_api(argparse.Namespace(petitions=300, requests=6, json=True))
    assert result["petitions"] == 300
    assert result["server"] == "subprocess"
    assert result["database"] == "sqlite"
    for kind in ("list", "search", "detail"):
        figures = result[kind]
        assert figures["requests"] == 6
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
        assert figures["server_cpu_p50_ms"] > 0

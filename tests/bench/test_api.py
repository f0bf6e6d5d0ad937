"""`tcd-hub bench api` on a small register: it seeds, serves, signs in, times each kind of call
and reports the figures the issue names, on SQLite and on PostgreSQL with several users at once.
It measures; nothing here depends on how fast, only that every request was answered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from bench.api import KINDS
from hub.cli import main
from tests.fixtures_postgres import PostgresServer


def _bench(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main(["bench", "api", "--json", *args])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 0, result["errors"]
    return result


def _check_kinds(result: dict[str, Any], requests: int) -> None:
    for kind in KINDS:
        figures = result[kind]
        assert figures["requests"] == requests and figures["failed"] == 0
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
        assert figures["p99_ms"] <= figures["max_ms"]
        assert figures["throughput_rps"] > 0
    assert result["requests"] == len(KINDS) * requests
    assert result["failed"] == 0 and result["errors"] == []
    assert result["throughput_rps"] > 0 and result["hub_cpu_ms_per_request"] > 0
    assert len(result["load_average_1min"]) == 2


def test_the_benchmark_reports_list_search_and_detail_latency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = _bench(capsys, "--petitions", "300", "--requests", "6")
    assert result["petitions"] == 300 and result["concurrency"] == 1
    assert result["server"] == "subprocess"
    assert result["database"] == "sqlite"
    _check_kinds(result, 6)
    for kind in KINDS:
        # One request at a time: the hub's CPU clock measures each one alone.
        assert result[kind]["server_cpu_p50_ms"] > 0


async def _databases(server: PostgresServer) -> set[str]:
    conn = await asyncpg.connect(server.url("postgres", driver="postgresql"))
    try:
        return {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()


@pytest.mark.postgres
def test_the_benchmark_runs_concurrent_users_on_postgresql(
    capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer
) -> None:
    before = asyncio.run(_databases(postgres_server))
    result = _bench(
        capsys,
        "--database-url", postgres_server.url("postgres"),
        "--petitions", "2000",
        "--requests", "24",
        "--concurrency", "8",
        "--think-ms", "5",
    )  # fmt: skip
    assert result["database"] == "postgresql"
    assert result["petitions"] == 2000 and result["concurrency"] == 8
    assert result["think_ms"] == 5
    _check_kinds(result, 24)
    # Several requests at once: no per-request server CPU, which one clock cannot tell apart.
    assert "server_cpu_p50_ms" not in result["list"]
    postgresql = result["postgresql"]
    assert postgresql["server_version"] and postgresql["database_size_mb"] > 0
    assert set(postgresql["settings"]) >= {"shared_buffers", "work_mem", "jit"}
    # The scratch database (tcdhub_bench_<pid>) is gone again.
    assert asyncio.run(_databases(postgres_server)) == before


def test_the_benchmark_refuses_a_database_url_that_is_not_postgresql(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "api", "--database-url", "sqlite+aiosqlite:///x.db"]) == 2
    assert "--database-url must be postgresql+asyncpg://" in capsys.readouterr().err


@pytest.mark.postgres
def test_a_kept_database_is_timed_again_with_the_hubs_statements_and_kept(
    capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer
) -> None:
    url = postgres_server.url("postgres")
    kept = _bench(capsys, "--database-url", url, "--petitions", "500", "--requests", "3",
                  "--keep-database")["kept_database"]  # fmt: skip
    try:
        again = _bench(capsys, "--database-url", url, "--reuse-database", kept,
                       "--requests", "6", "--statements")  # fmt: skip
        # The register as kept: the 500 seeded and the demo's own few.
        assert again["reused_database"] is True and again["petitions"] >= 500
        _check_kinds(again, 6)
        # A reused database stays for the next run: dropping it is the user's call.
        assert again["kept_database"] == kept
        assert kept in asyncio.run(_databases(postgres_server))
        # The server runs on this machine: its processes' CPU is read from /proc.
        assert again["database_cpu_ms_per_request"] > 0
        assert again["client_cpu_ms_per_request"] > 0
        statements = again["statements"]
        # The timed requests only (the warm-up's were dropped), each with its sign-in query.
        assert statements["requests"] == len(KINDS) * 6
        assert statements["statements_per_request"] >= 2
        assert statements["checkouts_per_request"] >= 1
        sign_in = [s for s in statements["costliest"] if "FROM sessions" in s["sql"]]
        assert sign_in and sign_in[0]["count"] == len(KINDS) * 6
        for shape in statements["costliest"]:
            assert 0 < shape["p50_ms"] <= shape["p95_ms"] <= shape["max_ms"]
    finally:
        asyncio.run(_drop(postgres_server, kept))


async def _drop(server: PostgresServer, name: str) -> None:
    conn = await asyncpg.connect(server.url("postgres", driver="postgresql"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()

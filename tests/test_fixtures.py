"""The shared fixtures start real servers of their own: Redis answers, PostgreSQL databases are
fresh, and a server that cannot start fails the run under CI instead of skipping."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests import conftest
from tests.fixtures_net import free_port, port_open
from tests.fixtures_postgres import PostgresServer


async def test_redis_server_is_our_own_and_answers(redis_server: str) -> None:
    client = aioredis.from_url(redis_server)
    try:
        assert await client.ping()
        info = await client.info("server")
        assert info["tcp_port"] == urlsplit(redis_server).port
        assert info["tcp_port"] != 6379  # never the machine's shared server
        await client.set("tcd:probe", "1")
        assert await client.get("tcd:probe") == b"1"
    finally:
        await client.aclose()


async def test_postgres_url_is_a_fresh_empty_database(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    assert parts.scheme == "postgresql+asyncpg"
    conn = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT current_database()") == parts.path.lstrip("/")
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables == 0
    finally:
        await conn.close()


async def test_postgres_server_is_our_own(postgres_server: PostgresServer) -> None:
    conn = await asyncpg.connect(postgres_server.url("postgres", driver="postgresql"))
    try:
        assert int(await conn.fetchval("SHOW port")) == postgres_server.port
        assert postgres_server.port != 5432  # never the machine's shared server
        data = await conn.fetchval("SHOW data_directory")
        assert data.startswith(str(postgres_server.folder))
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        assert await conn.fetchval("SELECT lower('ĐỨC')") == "đức"
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [("true", pytest.fail.Exception), ("", pytest.skip.Exception)],
)
def test_a_server_that_cannot_start_fails_under_ci_and_skips_locally(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL is not installed"):
        conftest._unavailable("PostgreSQL is not installed (no initdb)")


def test_db_url_names_a_fresh_database_per_back_end(db_url: str) -> None:
    assert db_url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://"))


def test_free_port_is_free() -> None:
    assert not port_open("127.0.0.1", free_port(), timeout=0.5)

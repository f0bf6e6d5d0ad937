"""The shared fixtures start real servers: Redis answers, PostgreSQL databases are fresh."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as aioredis

from tests.fixtures_net import free_port, port_open


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


def test_db_url_names_a_fresh_database_per_back_end(db_url: str) -> None:
    assert db_url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://"))


def test_free_port_is_free() -> None:
    assert not port_open("127.0.0.1", free_port(), timeout=0.5)

"""Fixtures of the hub's tests: one seeded hub for the API and page tests, a JSON client, and a
module-wide PostgreSQL database.

Seeding hashes eight demo passwords with argon2 and every sign-in hashes once more, so the tests
share one hub (each test creates the records it asserts on) and each user signs in once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import pytest

from tests.hub.client import Api, ThreadedHub

T = TypeVar("T")


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a loop of its own (for sync fixtures)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHub]:
    """The demo hub on SQLite, migrated and seeded, served on an ephemeral port."""
    server = ThreadedHub.start(tmp_path_factory.mktemp("hub"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def api(hub: ThreadedHub) -> AsyncIterator[Api]:
    """A client of the shared hub in the test's own event loop; `user=` signs a call in."""
    async with aiohttp.ClientSession() as session:
        yield Api(hub.url, session, hub.tokens)


async def _pg(user: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user=user, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def module_postgres_url(postgres_admin_user: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test module (skips when no server is reachable)."""
    name = f"tcd_hubtest_{uuid.uuid4().hex[:12]}"
    run_in_thread(_pg(postgres_admin_user, f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{postgres_admin_user}@127.0.0.1:5432/{name}"
    finally:
        run_in_thread(_pg(postgres_admin_user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

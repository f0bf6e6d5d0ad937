"""Fixtures of the hub's tests: a module-wide hub, a JSON client, a module-wide PostgreSQL database.

Sign-in hashes with argon2 and seeding hashes eight demo passwords, so a hub is started once per
module (or per package, see api/conftest.py) and each user signs in once per hub.
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


@pytest.fixture(scope="module")
def module_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHub]:
    """A migrated, seeded hub on SQLite for one test module."""
    hub = ThreadedHub.start(tmp_path_factory.mktemp("hub"))
    try:
        yield hub
    finally:
        hub.close()


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


@pytest.fixture
async def module_api(module_hub: ThreadedHub) -> AsyncIterator[Api]:
    """A client of the module's hub, living in the test's own event loop."""
    async with aiohttp.ClientSession() as session:
        yield Api(module_hub.url, session, module_hub.tokens)

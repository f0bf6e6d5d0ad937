"""Fixtures of the hub's tests: one seeded hub for the API and page tests, a JSON client, and a
module-wide database on the session's own PostgreSQL server.

Seeding hashes eight demo passwords with argon2 and every sign-in hashes once more, so the tests
share one hub (each test creates the records it asserts on) and each user signs in once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.fixtures_postgres import PostgresServer, create_database, drop_database
from tests.hub.client import Api, ThreadedHub


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


@pytest.fixture(scope="module")
def module_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database for one test module on the session's own PostgreSQL server."""
    name, url = create_database(postgres_server, "tcd_hubtest")
    try:
        yield url
    finally:
        drop_database(postgres_server, name)

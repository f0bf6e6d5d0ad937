"""One seeded hub for every API test module: each module creates the records it asserts on, so
they share the server and the demo users' sign-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.hub.client import Api, ThreadedHub


@pytest.fixture(scope="package")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHub]:
    """The demo hub on SQLite, served on an ephemeral port for the API tests."""
    server = ThreadedHub.start(tmp_path_factory.mktemp("api-hub"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def api(hub: ThreadedHub) -> AsyncIterator[Api]:
    """A client of the shared hub in the test's own event loop; `user=` signs a call in."""
    async with aiohttp.ClientSession() as session:
        yield Api(hub.url, session, hub.tokens)

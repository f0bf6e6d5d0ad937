"""Sign-in storms against the real hub: the limiter counts before it verifies, passwords are
checked off the event loop on a bounded pool, and hubs sharing Redis share the limit."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest
import redis.asyncio

from tests.fixtures_hub import HubFactory
from tests.hub.api.conftest import HubProcess

pytestmark = pytest.mark.timeout(120)


async def attempt(http: aiohttp.ClientSession, url: str, username: str, password: str) -> int:
    """One sign-in; its HTTP status (401 checked and wrong, 429 limited, 503 pool full)."""
    async with http.post(
        f"{url}/api/v1/auth/login", json={"username": username, "password": password}
    ) as response:
        await response.read()
        return response.status


def client() -> aiohttp.ClientSession:
    # No connection cap: every attempt of a storm is on the wire at once.
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


async def test_simultaneous_wrong_passwords_let_no_right_one_through(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()  # 10 attempts a minute per account
    async with client() as http:
        storm = [
            asyncio.create_task(attempt(http, hub.url, "staff", f"guess-{i}")) for i in range(40)
        ]
        # The moment the hub answers any of them, the right password follows, while the
        # attempts let through are still being checked.
        await asyncio.wait(storm, return_when=asyncio.FIRST_COMPLETED)
        right = await attempt(http, hub.url, "staff", "demo")
        statuses = Counter(await asyncio.gather(*storm))
        assert statuses == {401: 10, 429: 30}, statuses
        assert right == 429
        # Still refused after the storm's checks are over: the minute is not.
        assert await attempt(http, hub.url, "staff", "demo") == 429


async def test_unknown_accounts_cost_a_check_and_limited_attempts_cost_none(
    hub_server: HubFactory,
) -> None:
    # One password check at a time and none waiting: whatever reaches the pool while another
    # check runs is turned away with 503.
    hub = await hub_server(password_workers=1, password_queue=0, login_attempts_per_minute=1)
    async with client() as http:
        # Two unknown accounts: the second finds the pool taken by the first's (dummy) check,
        # exactly as it would behind a real account's.
        ghosts = await asyncio.gather(
            attempt(http, hub.url, "no.such.user", "guess"),
            attempt(http, hub.url, "nor.this.one", "guess"),
        )
        assert sorted(ghosts) == [401, 503]
        # One account, twice at once: the limiter refuses the second before the pool sees it.
        twice = await asyncio.gather(
            attempt(http, hub.url, "leader", "guess"), attempt(http, hub.url, "leader", "guess")
        )
        assert sorted(twice) == [401, 429]


async def test_healthz_answers_promptly_during_120_simultaneous_sign_ins(
    hub_process: HubProcess,
) -> None:
    # The hub in a process of its own: what is timed is its loop, not this test's clients.
    url = hub_process.url
    latencies: list[float] = []
    async with client() as http:
        storm = [asyncio.create_task(attempt(http, url, f"ghost{i}", "guess")) for i in range(120)]
        while not all(task.done() for task in storm) or len(latencies) < 5:
            started = time.monotonic()
            async with http.get(f"{url}/healthz") as response:
                assert response.status == 200
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.05)
        statuses = Counter(await asyncio.gather(*storm))
    print(f"/healthz during the storm: worst {max(latencies):.3f} s; sign-ins {dict(statuses)}")
    assert set(statuses) <= {401, 429, 503}
    # One address: no more checks than its allowance (50 a minute) were made.
    assert statuses[401] <= 50
    assert max(latencies) < 0.5, latencies


@pytest.fixture
async def limiter_redis(redis_server: str) -> str:
    """A database of the session's redis-server for this test alone, emptied."""
    url = redis_server.rsplit("/", 1)[0] + "/5"
    conn = redis.asyncio.Redis.from_url(url)
    await conn.flushdb()
    await conn.aclose()
    return url


async def test_two_hubs_sharing_redis_share_one_limit(
    hub_server: HubFactory, limiter_redis: str
) -> None:
    hub_a = await hub_server(redis_url=limiter_redis, login_attempts_per_minute=3)
    hub_b = await hub_server(
        prepare_db=False,
        database_url=hub_a.settings.effective_database_url,
        redis_url=limiter_redis,
        login_attempts_per_minute=3,
    )
    async with client() as http:
        statuses = Counter(
            await asyncio.gather(
                *(attempt(http, hub.url, "staff", "guess") for hub in (hub_a, hub_b) * 10)
            )
        )
        assert statuses == {401: 3, 429: 17}, statuses
        assert await attempt(http, hub_a.url, "staff", "demo") == 429
        assert await attempt(http, hub_b.url, "staff", "demo") == 429
        # Other accounts are untouched, on either hub.
        assert await attempt(http, hub_b.url, "leader", "demo") == 200

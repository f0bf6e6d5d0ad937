"""The sign-in limiter: slots taken atomically before any password is checked, per account and
per address, in memory and in a Redis shared by several limiters (as by several hub processes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from hub.config import settings_from_env
from hub.domain.errors import RateLimited
from hub.services.login_limiter import LimiterUnavailable, LoginRateLimiter
from tests.fixtures_net import free_port


async def outcomes(limiter: LoginRateLimiter, attempts: list[tuple[str, str]]) -> list[str]:
    """Run the reservations all at once: "ok" or the refusal's message, in order."""

    async def one(username: str, address: str) -> str:
        try:
            await limiter.reserve(username, address)
        except RateLimited as exc:
            return exc.message
        return "ok"

    return list(await asyncio.gather(*(one(u, a) for u, a in attempts)))


async def test_simultaneous_attempts_get_no_more_slots_than_the_limit() -> None:
    limiter = LoginRateLimiter(per_account=10, per_address=50)
    results = await outcomes(limiter, [("staff", f"10.0.0.{i}") for i in range(40)])
    assert results.count("ok") == 10
    assert all("this account" in r for r in results if r != "ok")
    assert await limiter.remaining("staff") == 0


async def test_the_address_limit_is_looser_and_spans_accounts() -> None:
    limiter = LoginRateLimiter(per_account=3, per_address=5)
    results = await outcomes(limiter, [(f"user{i}", "192.0.2.1") for i in range(8)])
    assert results[:5] == ["ok"] * 5
    assert all("this address" in r for r in results[5:])
    # Someone else, somewhere else, is not held up by either.
    assert await outcomes(limiter, [("leader", "192.0.2.2")]) == ["ok"]


async def test_a_refusal_for_the_account_takes_nothing_from_the_address() -> None:
    limiter = LoginRateLimiter(per_account=2, per_address=4)
    await outcomes(limiter, [("staff", "192.0.2.1")] * 6)
    # Two slots of the address were used by the two attempts the account allowed.
    assert await outcomes(limiter, [("a", "192.0.2.1"), ("b", "192.0.2.1")]) == ["ok", "ok"]
    assert "this address" in (await outcomes(limiter, [("c", "192.0.2.1")]))[0]


async def test_a_successful_sign_in_clears_its_account_but_not_its_address() -> None:
    limiter = LoginRateLimiter(per_account=3, per_address=4)
    assert await outcomes(limiter, [("staff", "192.0.2.1")] * 3) == ["ok"] * 3
    await limiter.succeeded("staff")
    assert await limiter.remaining("staff") == 3
    assert await outcomes(limiter, [("staff", "192.0.2.1")]) == ["ok"]
    assert "this address" in (await outcomes(limiter, [("staff", "192.0.2.1")]))[0]


@pytest.fixture
async def shared(redis_server: str) -> AsyncIterator[tuple[LoginRateLimiter, LoginRateLimiter]]:
    """Two limiters on one Redis database of their own (the session's server serves others)."""
    url = redis_server.rsplit("/", 1)[0] + "/4"
    client = redis.asyncio.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    one = LoginRateLimiter(per_account=10, per_address=50, redis_url=url)
    two = LoginRateLimiter(per_account=10, per_address=50, redis_url=url)
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


async def test_limiters_sharing_redis_share_their_counts(
    shared: tuple[LoginRateLimiter, LoginRateLimiter],
) -> None:
    one, two = shared
    both = await asyncio.gather(
        outcomes(one, [("staff", "192.0.2.1")] * 20), outcomes(two, [("staff", "192.0.2.2")] * 20)
    )
    assert sum(r.count("ok") for r in both) == 10
    assert await one.remaining("staff") == await two.remaining("staff") == 0
    await two.succeeded("staff")
    assert await one.remaining("staff") == 10


async def test_an_unreachable_redis_refuses_sign_in_rather_than_allowing_it() -> None:
    limiter = LoginRateLimiter(10, 50, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(LimiterUnavailable, match="does not answer"):
            await limiter.reserve("staff", "192.0.2.1")
    finally:
        await limiter.close()


async def test_the_limits_come_from_the_environment() -> None:
    settings = settings_from_env(
        {"TCD_LOGIN_ATTEMPTS_PER_MINUTE": "2", "TCD_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "7"}
    )
    limiter = LoginRateLimiter.from_settings(settings)
    assert (limiter.per_account.amount, limiter.per_address.amount) == (2, 7)
    assert await outcomes(limiter, [("staff", "192.0.2.1")] * 3) == [
        "ok",
        "ok",
        "too many sign-in attempts for this account; wait a minute",
    ]


async def test_a_full_address_opens_no_window_for_the_accounts_it_sprays() -> None:
    limiter = LoginRateLimiter(per_account=3, per_address=2)
    await outcomes(limiter, [("a", "192.0.2.1"), ("b", "192.0.2.1")])
    assert "this address" in (await outcomes(limiter, [("fresh", "192.0.2.1")]))[0]
    assert await limiter.remaining("fresh") == 3

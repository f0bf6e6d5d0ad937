"""Per-address sign-in limits behind a proxy: the proxy's X-Forwarded-For is believed only when
the hub is told to trust its proxy, and then only the entry the proxy itself appended."""

from __future__ import annotations

from collections import Counter

import aiohttp

from tests.fixtures_hub import HubFactory


async def storm(url: str, forwarded_for: list[str]) -> Counter[int]:
    """One wrong sign-in per header value, to a different unknown account each time, so that
    only the per-address limit can refuse them."""
    statuses: Counter[int] = Counter()
    async with aiohttp.ClientSession() as http:
        for i, value in enumerate(forwarded_for):
            async with http.post(
                f"{url}/api/v1/auth/login",
                json={"username": f"nobody-{i}", "password": "x"},
                headers={"X-Forwarded-For": value},
            ) as response:
                await response.read()
                statuses[response.status] += 1
    return statuses


async def test_behind_a_trusted_proxy_each_client_has_its_own_address_limit(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server(trust_proxy=True, login_attempts_per_minute_per_address=3)
    # Six clients, two attempts each, all arriving through one proxy (one TCP peer address):
    # before the fix every one of them counted against the proxy's own address.
    values = [f"10.0.0.{n}" for n in range(6) for _ in range(2)]
    assert await storm(hub.url, values) == {401: 12}


async def test_a_forged_first_hop_does_not_dodge_the_limit(hub_server: HubFactory) -> None:
    hub = await hub_server(trust_proxy=True, login_attempts_per_minute_per_address=3)
    # The client forges ever-new first entries; the proxy appends the real one (the last).
    values = [f"203.0.113.{n}, 10.9.9.9" for n in range(6)]
    assert await storm(hub.url, values) == {401: 3, 429: 3}


async def test_without_trust_the_header_is_ignored(hub_server: HubFactory) -> None:
    hub = await hub_server(login_attempts_per_minute_per_address=3)
    values = [f"10.0.0.{n}" for n in range(6)]
    assert await storm(hub.url, values) == {401: 3, 429: 3}

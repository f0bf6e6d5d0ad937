"""Issue 7 item 4: no open redirect through `next`. `/lang/en?next=/%09/evil.example/x`
answered `Location: //evil.example/x` (the tab is dropped on the way out, leaving a
scheme-relative URL), and `/login?next=` sent a real sign-in on to another site."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from urllib.parse import urljoin, urlsplit

import aiohttp
import pytest
from playwright.async_api import Route
from yarl import URL

from tests.fixtures_hub import HubServer
from tests.ui.browser import PASSWORD, OpenContext

# Percent-encoded as an attacker would put them in a link.
ATTACKS = [
    "/%09/evil.example/x",
    "/%0a/evil.example/x",
    "/%0d%0a/evil.example/x",
    "%09//evil.example/x",
    "%20//evil.example/x",
    "/%00/evil.example/x",
    "/%7f/evil.example/x",
    "//evil.example/x",
    "/%2F/evil.example/x",
    "/%5C/evil.example/x",
    "/%5Cevil.example/x",
    "%5C%5Cevil.example/x",
    "https://evil.example/x",
    "https:evil.example/x",
    "javascript:alert(1)",
    "evil.example/x",
]
LOCAL = ["/staff/calendar", "/staff/petitions?q=H%C6%B0ng&status=received", "/schedule#today"]
HUB_ORIGIN = "http://hub.test"


def _stays_local(location: str) -> bool:
    """Where a browser on the hub goes with this Location: the hub itself, or not.

    urljoin drops tab and newlines and leading controls as browsers do."""
    target = urlsplit(urljoin(HUB_ORIGIN + "/here", location))
    return (target.scheme, target.netloc) == ("http", "hub.test") and "\\" not in location


@pytest.fixture
async def client(hub: HubServer) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client with its own cookies that does not follow redirects."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def _raw(hub: HubServer, path_and_query: str) -> URL:
    return URL(hub.url + path_and_query, encoded=True)


async def test_language_switch_only_goes_back_to_local_paths(
    hub: HubServer, client: aiohttp.ClientSession
) -> None:
    for attack in ATTACKS:
        async with client.get(
            _raw(hub, f"/lang/en?next={attack}"), allow_redirects=False
        ) as response:
            assert response.status == 302, attack
            location = response.headers["Location"]
            assert _stays_local(location), f"next={attack} -> Location: {location!r}"
            assert location == "/", attack
    for path in LOCAL:
        async with client.get(
            hub.url + "/lang/en", params={"next": path}, allow_redirects=False
        ) as response:
            assert response.headers["Location"] == path


async def test_sign_in_form_only_goes_on_to_local_paths(
    hub: HubServer, client: aiohttp.ClientSession
) -> None:
    for attack in ATTACKS:
        async with client.get(_raw(hub, f"/login?next={attack}")) as response:
            html = await response.text()
        match = re.search(r'data-next="([^"]*)"', html)
        assert match, attack
        next_url = unescape(match.group(1))
        assert _stays_local(next_url), f"next={attack} -> data-next={next_url!r}"
        assert next_url == "/", attack
    for path in LOCAL:
        async with client.get(hub.url + "/login", params={"next": path}) as response:
            assert f'data-next="{path}"' in (await response.text()).replace("&amp;", "&")


@pytest.mark.browser
async def test_a_real_sign_in_does_not_leave_for_another_site(
    hub: HubServer, open_context: OpenContext
) -> None:
    context = await open_context()
    visited: list[str] = []

    async def elsewhere(route: Route) -> None:
        # Answer for the other site here: the test's traffic stays on loopback.
        visited.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<p>evil</p>")

    await context.route(re.compile(r"^https?://evil\.example/"), elsewhere)
    page = await context.new_page()
    await page.goto("/login?next=/%09/evil.example/x")
    await page.get_by_label("Tên đăng nhập").fill("staff")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_load_state()
    assert visited == []
    assert page.url.startswith(hub.url + "/"), page.url

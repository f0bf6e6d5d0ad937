"""Issue 7 item 6: security headers. Every response carried none: a same-site page could frame
the signed-in petition page, browsers and proxies could keep pages and API answers with
citizens' data, and cookies stayed non-Secure behind an HTTPS proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser

import aiohttp
import pytest

from tests.fixtures_hub import HubFactory, HubServer
from tests.ui.browser import PASSWORD

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"inline <script {attrs}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style" and data.strip():
            self.found.append("inline <style>")


def _directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_hardened(response: aiohttp.ClientResponse, what: str) -> None:
    """The headers every response must carry, whatever it is."""
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, f"{what}: {name}"
    csp = _directives(response.headers.get("Content-Security-Policy", ""))
    assert csp.get("script-src") == ["'self'"], f"{what}: {csp}"
    assert csp.get("frame-ancestors") == ["'none'"], what
    assert csp.get("object-src") == ["'none'"], what
    assert "'unsafe-inline'" not in csp.get("style-src", ["missing"]), what
    assert "'unsafe-eval'" not in str(csp), what


async def _sign_in(session: aiohttp.ClientSession, base: str, username: str) -> None:
    async with session.post(
        base + "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    ) as response:
        assert response.status == 200


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client with its own cookie jar that does not follow redirects."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        yield client


async def _ids(session: aiohttp.ClientSession, base: str) -> tuple[int, int]:
    async with session.get(base + "/api/v1/petitions", params={"limit": "1"}) as response:
        petition = (await response.json())["items"][0]["id"]
    async with session.get(base + "/api/v1/hearings", params={"limit": "1"}) as response:
        hearing = (await response.json())["items"][0]["id"]
    return int(petition), int(hearing)


async def test_signed_in_pages_and_the_api_are_hardened_and_never_stored(
    hub: HubServer, session: aiohttp.ClientSession
) -> None:
    base = hub.url
    await _sign_in(session, base, "admin")
    petition_id, hearing_id = await _ids(session, base)
    pages = [
        "/staff",
        "/staff/deadlines",
        "/staff/calendar",
        "/staff/hearings/new",
        f"/staff/hearings/{hearing_id}",
        "/staff/petitions",
        "/staff/petitions/new",
        f"/staff/petitions/{petition_id}",
        "/leader",
        "/operator",
        "/site",
        f"/hearings/{hearing_id}/join",
        "/schedule",
        "/staff/no-such-page",
    ]
    for path in pages:
        async with session.get(base + path, allow_redirects=False) as response:
            assert response.status in (200, 404), path
            assert_hardened(response, path)
            assert response.headers.get("Cache-Control") == "no-store", path
            parser = _InlineCode()
            parser.feed(await response.text())
            assert parser.found == [], f"{path}: {parser.found}"
    for path in ("/api/v1/auth/me", f"/api/v1/petitions/{petition_id}", "/api/v1/petitions"):
        async with session.get(base + path) as response:
            assert response.status == 200, path
            assert_hardened(response, path)
            assert response.headers.get("Cache-Control") == "no-store", path
    async with session.get(base + "/api/v1/hearings/999999") as response:
        assert response.status == 404
        assert response.headers.get("Cache-Control") == "no-store"


async def test_public_pages_and_files_are_hardened_and_may_be_cached(
    hub: HubServer, session: aiohttp.ClientSession
) -> None:
    for path in ("/schedule", "/schedule.ics"):
        async with session.get(hub.url + path) as response:
            assert response.status == 200
            assert_hardened(response, path)
            cache = response.headers.get("Cache-Control", "")
            assert "no-store" not in cache and "public" in cache, path
            assert "Cookie" in response.headers.get("Vary", ""), path
    async with session.get(hub.url + "/static/js/common.js") as response:
        assert response.status == 200
        assert_hardened(response, "static")
        assert "no-store" not in response.headers.get("Cache-Control", "")
    for path in ("/login", "/no/such/page", "/healthz"):
        async with session.get(hub.url + path) as response:
            assert_hardened(response, path)
            assert response.headers.get("Cache-Control") == "no-store", path


def _secure_flags(response: aiohttp.ClientResponse) -> dict[str, bool]:
    return {name: bool(morsel["secure"]) for name, morsel in response.cookies.items()}


async def _login_cookies(
    session: aiohttp.ClientSession, base: str, headers: dict[str, str]
) -> dict[str, bool]:
    async with session.post(
        base + "/api/v1/auth/login",
        json={"username": "staff", "password": PASSWORD},
        headers=headers,
    ) as response:
        assert response.status == 200
        return _secure_flags(response)


async def test_cookies_are_secure_when_the_browser_came_over_https(
    hub_server: HubFactory, session: aiohttp.ClientSession
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    behind_proxy = await hub_server(trust_proxy=True)
    flags = await _login_cookies(session, behind_proxy.url, https)
    assert flags == {"tcd_session": True, "tcd_csrf": True}
    async with session.get(
        behind_proxy.url + "/lang/en",
        params={"next": "/schedule"},
        headers=https,
        allow_redirects=False,
    ) as response:
        assert _secure_flags(response) == {"lang": True}
        assert "max-age=" in response.headers.get("Strict-Transport-Security", "")
    # Plain HTTP through the same proxy: the cookies must still work, so not Secure.
    flags = await _login_cookies(session, behind_proxy.url, {"X-Forwarded-Proto": "http"})
    assert flags == {"tcd_session": False, "tcd_csrf": False}
    # A hub that does not sit behind a proxy does not believe a client's header.
    direct = await hub_server(
        prepare_db=False, database_url=behind_proxy.settings.effective_database_url
    )
    flags = await _login_cookies(session, direct.url, https)
    assert flags == {"tcd_session": False, "tcd_csrf": False}


def test_the_proxy_setting_comes_from_the_environment_or_the_serve_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hub.cli import _settings, build_parser
    from hub.config import settings_from_env

    assert settings_from_env({}).trust_proxy is False
    assert settings_from_env({"TCD_TRUST_PROXY": "true"}).trust_proxy is True
    monkeypatch.delenv("TCD_TRUST_PROXY", raising=False)
    parser = build_parser()
    assert _settings(parser.parse_args(["serve"])).trust_proxy is False
    assert _settings(parser.parse_args(["serve", "--behind-proxy"])).trust_proxy is True
    monkeypatch.setenv("TCD_TRUST_PROXY", "1")
    assert _settings(parser.parse_args(["serve"])).trust_proxy is True

"""The pages over plain HTTP: where "/" sends each role, the sign-in redirect, HTML error pages
(the API keeps its JSON errors), the language cookie and local-only redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.pages import TEMPLATES, html_errors_middleware, make_templates
from tests.fixtures_hub import HubServer
from tests.ui.browser import PASSWORD


@pytest.fixture
async def client(hub: HubServer) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client with its own cookies that does not follow redirects."""
    async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def _sign_in(client: aiohttp.ClientSession, username: str) -> None:
    async with client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    ) as response:
        assert response.status == 200


async def _location(client: aiohttp.ClientSession, path: str) -> str:
    async with client.get(path, allow_redirects=False) as response:
        assert response.status == 302, path
        return response.headers["Location"]


async def test_home_sends_each_role_to_its_start_page(client: aiohttp.ClientSession) -> None:
    assert await _location(client, "/") == "/schedule"
    starts = {"leader": "/leader", "staff": "/staff", "operator": "/operator", "admin": "/staff"}
    for username, start in starts.items():
        await _sign_in(client, username)
        assert await _location(client, "/") == start, username
    # Staff and admins start on the deadlines page; an operator opening /staff gets the calendar.
    async with client.get("/staff", allow_redirects=False) as response:
        assert response.status == 200
        assert 'id="sh-overdue"' in await response.text()
    await _sign_in(client, "operator")
    assert await _location(client, "/staff") == "/staff/calendar"


async def test_pages_need_sign_in_and_come_back(client: aiohttp.ClientSession) -> None:
    for path in ("/staff/calendar", "/staff/petitions/1", "/leader", "/operator"):
        location = await _location(client, path)
        assert location.startswith("/login?next=/"), location
    async with client.get("/login", params={"next": "//evil.example/x"}) as response:
        assert 'data-next="/"' in await response.text()


async def test_error_pages_are_html_and_the_api_stays_json(client: aiohttp.ClientSession) -> None:
    await _sign_in(client, "operator")
    async with client.get("/staff/petitions") as response:
        assert response.status == 403
        assert response.content_type == "text/html"
        assert "Không có quyền truy cập" in await response.text()
    await _sign_in(client, "staff.hungyen")
    for path in ("/staff/hearings/999999", "/staff/hearings/abc", "/staff/no-such-page"):
        async with client.get(path) as response:
            assert response.status == 404, path
            assert response.content_type == "text/html"
            assert "Không tìm thấy trang" in await response.text()
    async with client.get("/api/v1/hearings/999999") as response:
        assert response.status == 404
        assert "error" in await response.json()


async def test_a_sites_link_page_is_scoped_like_the_api(client: aiohttp.ClientSession) -> None:
    """/operator/sites/{id}: the operator's own offices and those below them; another
    province's office is a 404, as GET /api/v1/offices/{id}/link answers it."""
    await _sign_in(client, "operator")
    async with client.get("/api/v1/offices") as response:
        offices = {o["code"]: o for o in (await response.json())["items"]}
    hy, bg = offices["HY"], offices["BG"]
    async with client.get(f"/operator/sites/{hy['id']}") as response:
        assert response.status == 200
        page = await response.text()
        assert f"Đường truyền: {hy['name']}" in page
        assert 'src="/static/js/operator-site.js"' in page
    await _sign_in(client, "operator.hungyen")
    async with client.get(f"/operator/sites/{hy['id']}") as response:
        assert response.status == 200
    for path in (f"/operator/sites/{bg['id']}", "/operator/sites/999999", "/operator/sites/x"):
        async with client.get(path) as response:
            assert response.status == 404, path
            assert "Không tìm thấy trang" in await response.text()
    async with client.get(f"/api/v1/offices/{bg['id']}/link") as response:
        assert response.status == 404
    await _sign_in(client, "staff")
    async with client.get(f"/operator/sites/{hy['id']}") as response:
        assert response.status == 403  # the board is the operators' (Action.MONITOR)


async def test_language_cookie_switches_the_pages(client: aiohttp.ClientSession) -> None:
    await _sign_in(client, "staff")
    async with client.get(
        "/lang/en", params={"next": "/staff/calendar"}, allow_redirects=False
    ) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/staff/calendar"
        assert response.cookies["lang"].value == "en"
    async with client.get("/staff/calendar") as response:
        html = await response.text()
        assert '<html lang="en">' in html
        assert "Hearing calendar" in html
    assert await _location(client, "/lang/vi?next=//evil.example") == "/"
    async with client.get("/staff/calendar") as response:
        assert "Lịch phiên tiếp công dân" in await response.text()
    async with client.get("/lang/fr") as response:
        assert response.status == 404


async def test_html_errors_middleware_covers_unknown_pages_only() -> None:
    app = web.Application(middlewares=[html_errors_middleware])
    app[TEMPLATES] = make_templates()

    async def known(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/known", known)
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.get("/no/such/page")
        assert response.status == 404
        assert response.content_type == "text/html"
        assert "Không tìm thấy trang" in await response.text()
        response = await test_client.post("/known")
        assert response.status == 405
        assert response.content_type == "text/html"
        response = await test_client.get("/api/v1/nothing")
        assert response.status == 404
        assert response.content_type != "text/html"
        response = await test_client.get("/known")
        assert await response.text() == "ok"

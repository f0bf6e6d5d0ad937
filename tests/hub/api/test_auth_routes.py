"""Sign-in: bearer tokens for the API, a session cookie plus CSRF token for browsers, expiry and
the rate limit."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update

from hub.api.keys import DATABASE
from hub.clock import now
from hub.storage.tables import SessionRow
from tests.fixtures_hub import HubFactory
from tests.hub.client import Api, Reply, ThreadedHub, assert_error, petition_body


async def login(api: Api, username: str, password: str = "demo") -> Reply:
    return await api.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_login_returns_a_token_and_the_user(api: Api, hub: ThreadedHub) -> None:
    reply = await login(api, "staff.hungyen")
    assert reply.status == 200, reply.text
    body = reply.json
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert body["user"] == {
        "id": hub.user("staff.hungyen"),
        "username": "staff.hungyen",
        "display_name": "Cán bộ tiếp công dân tỉnh Hưng Yên",
        "role": "staff",
        "office_id": hub.office("HY"),
        "office_name": "Ban Tiếp công dân tỉnh Hưng Yên",
    }
    me = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status == 200 and me.json["user"]["username"] == "staff.hungyen"


async def test_the_session_cookie_is_httponly_and_samesite(api: Api) -> None:
    reply = await login(api, "leader")
    cookies = {c.split("=", 1)[0]: c for c in reply.headers.getall("Set-Cookie")}
    session = cookies["tcd_session"]
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
    # The CSRF cookie is meant to be read by the page's own script.
    assert "HttpOnly" not in cookies["tcd_csrf"] and "SameSite=Strict" in cookies["tcd_csrf"]


@pytest.mark.parametrize(
    ("username", "password"), [("staff", "wrong"), ("no.such.user", "demo"), ("staff", "DEMO")]
)
async def test_a_wrong_username_or_password_is_401_with_one_message(
    api: Api, username: str, password: str
) -> None:
    error = assert_error(await login(api, username, password), 401)
    assert error["message"] == "wrong username or password"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic c3RhZmY6ZGVtbw=="},
        {"Cookie": "tcd_session=not-a-token"},
    ],
)
async def test_calls_without_a_valid_sign_in_are_401_json(
    api: Api, headers: dict[str, str]
) -> None:
    for path in ("/api/v1/petitions", "/api/v1/hearings", "/api/v1/offices", "/api/v1/auth/me"):
        assert_error(await api.get(path, headers=headers), 401)
    assert_error(await api.post("/api/v1/petitions", json={}, headers=headers), 401)


async def test_logout_ends_the_session(api: Api) -> None:
    token = (await login(api, "operator")).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/api/v1/hearings", headers=bearer)).status == 200
    assert (await api.post("/api/v1/auth/logout", headers=bearer)).status == 200
    assert_error(await api.get("/api/v1/hearings", headers=bearer), 401)


@pytest.fixture
async def browser(hub: ThreadedHub) -> AsyncIterator[tuple[Api, str]]:
    """A cookie-keeping client signed in as Hưng Yên staff, and its CSRF token."""
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies set by 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        client = Api(hub.url, session, hub.tokens)
        reply = await login(client, "staff.hungyen")
        assert reply.status == 200
        assert {c.key for c in jar} >= {"tcd_session", "tcd_csrf"}
        csrf = reply.json["csrf_token"]
        assert next(c.value for c in jar if c.key == "tcd_csrf") == csrf
        yield client, csrf


async def test_cookie_sign_in_reads_without_a_csrf_token(browser: tuple[Api, str]) -> None:
    client, _ = browser
    assert (await client.get("/api/v1/petitions")).status == 200
    me = await client.get("/api/v1/auth/me")
    assert me.json["user"]["username"] == "staff.hungyen"


async def test_cookie_sign_in_needs_the_csrf_header_to_change_anything(
    browser: tuple[Api, str], hub: ThreadedHub
) -> None:
    client, csrf = browser
    hy = hub.office("HY")
    before = hub.counts()
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
        refused = await client.post("/api/v1/petitions", json=petition_body(hy), headers=headers)
        assert_error(refused, 403, says="X-CSRF-Token")
    assert hub.counts() == before

    created = await client.post(
        "/api/v1/petitions", json=petition_body(hy), headers={"X-CSRF-Token": csrf}
    )
    assert created.status == 201, created.text
    pid = created.json["id"]

    patch = {"subject_field": "Xây dựng"}
    assert_error(await client.patch(f"/api/v1/petitions/{pid}", json=patch), 403)
    ok = await client.patch(f"/api/v1/petitions/{pid}", json=patch, headers={"X-CSRF-Token": csrf})
    assert ok.status == 200 and ok.json["subject_field"] == "Xây dựng"

    hearing = hub.call(
        "POST",
        "/api/v1/hearings",
        user="staff.hungyen",
        json={
            "title": "Tiếp công dân đột xuất",
            "kind": "adhoc",
            "host_office_id": hy,
            "starts_at": "2027-02-01T08:00:00+07:00",
            "ends_at": "2027-02-01T10:00:00+07:00",
        },
    ).json["id"]
    link = f"/api/v1/hearings/{hearing}/petitions/{pid}"
    assert (await client.post(link, headers={"X-CSRF-Token": csrf})).status == 200
    assert_error(await client.delete(link), 403)
    assert (await client.delete(link, headers={"X-CSRF-Token": csrf})).status == 200


async def test_a_bearer_token_needs_no_csrf_header(api: Api, hub: ThreadedHub) -> None:
    reply = await api.post(
        "/api/v1/petitions", user="staff.hungyen", json=petition_body(hub.office("HY"))
    )
    assert reply.status == 201, reply.text


async def test_an_expired_sign_in_is_401(api: Api, hub: ThreadedHub) -> None:
    token = (await login(api, "leader.hungyen")).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/api/v1/hearings", headers=bearer)).status == 200
    # Let this session's time run out (the TTL is hours; the clock is not ours to move).
    hub.run(_expire(hub, token))
    error = assert_error(await api.get("/api/v1/hearings", headers=bearer), 401)
    assert "expired" in error["message"]
    assert (await api.get("/api/v1/hearings", user="leader.hungyen")).status == 200


async def _expire(hub: ThreadedHub, token: str) -> None:
    async with hub.server.app[DATABASE].transaction() as session:
        await session.execute(
            update(SessionRow)
            .where(SessionRow.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires_at=now() - timedelta(seconds=1))
        )


async def test_repeated_failed_sign_ins_are_rate_limited(hub_server: HubFactory) -> None:
    server = await hub_server(login_attempts_per_minute=3)
    async with aiohttp.ClientSession() as session:
        api = Api(server.url, session, tokens=None)  # type: ignore[arg-type]
        for _ in range(3):
            assert_error(await login(api, "staff", "guess"), 401)
        error = assert_error(await login(api, "staff", "guess"), 429)
        assert "too many" in error["message"]
        # Even the right password waits: the limiter answers before checking it.
        assert_error(await login(api, "staff", "demo"), 429)
        assert (await api.get("/healthz")).status == 200

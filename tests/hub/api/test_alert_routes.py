"""Alerts over the API: listed in the caller's scope with filters, acknowledged by operators
(CSRF-checked with a cookie sign-in), documented in the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from hub.api.keys import DATABASE
from hub.domain.alerts import AlertDraft, AlertKind
from hub.services import alerts
from tests.hub.client import Api, ThreadedHub, assert_error, assert_list, hearing_body


def open_alert(hub: ThreadedHub, kind: AlertKind, office: str, hearing: int) -> int:
    """An alert opened as the hub's own connectivity code does, straight through the service."""

    async def go() -> int:
        assert hub.server.app is not None
        async with hub.server.app[DATABASE].transaction() as session:
            row, _ = await alerts.open_alert(
                session, AlertDraft(kind, hub.office(office), hearing, {"why": "test"})
            )
            return row.id

    return hub.run(go())


def a_hearing(hub: ThreadedHub) -> int:
    body = hearing_body(hub.office("TW"), [hub.office("HY"), hub.office("BG")])
    reply = hub.call("POST", "/api/v1/hearings", user="staff", json=body)
    assert reply.status == 201, reply.text
    return int(reply.json["id"])


async def test_each_user_lists_the_alerts_of_their_subtree(api: Api, hub: ThreadedHub) -> None:
    hearing = a_hearing(hub)
    hy = open_alert(hub, AlertKind.SITE_NOT_CONNECTED_AT_START, "HY", hearing)
    bg = open_alert(hub, AlertKind.SITE_NOT_CONNECTED_AT_START, "BG", hearing)
    tw = open_alert(hub, AlertKind.SITE_DEGRADED, "TW", hearing)

    async def ids(user: str, **params: object) -> list[int]:
        reply = await api.get("/api/v1/alerts", user=user, params={"hearing": hearing, **params})
        return [a["id"] for a in assert_list(reply)]

    assert await ids("operator") == [tw, bg, hy]
    assert await ids("operator.hungyen") == [hy]
    assert await ids("leader.hungyen") == [hy]
    assert await ids("staff.bacgiang") == [bg]
    assert await ids("operator", kind="site_degraded") == [tw]
    assert await ids("operator", office=hub.office("HY")) == [hy]
    assert await ids("operator", open="true") == [tw, bg, hy]
    assert await ids("operator", open="false") == []
    one = assert_list(await api.get("/api/v1/alerts", user="operator.hungyen",
                                    params={"hearing": hearing}))[0]  # fmt: skip
    assert one["kind"] == "site_not_connected_at_start"
    assert one["office_name"] == "Ban Tiếp công dân tỉnh Hưng Yên"
    assert one["open"] is True and one["closed_at"] is None and one["detail"] == {"why": "test"}
    assert one["acknowledged_by"] is None


async def test_bad_filters_are_refused_naming_them(api: Api, hub: ThreadedHub) -> None:
    assert_error(
        await api.get("/api/v1/alerts", user="operator", params={"kind": "fire"}), 422, field="kind"
    )
    assert_error(
        await api.get("/api/v1/alerts", user="operator", params={"open": "maybe"}),
        422,
        field="open",
    )
    assert_error(
        await api.get(
            "/api/v1/alerts", user="operator.hungyen", params={"office": hub.office("BG")}
        ),
        422,
        field="office",
    )
    assert_error(await api.get("/api/v1/alerts"), 401)


async def test_an_operator_acknowledges_and_the_first_acknowledgement_is_kept(
    api: Api, hub: ThreadedHub
) -> None:
    hearing = a_hearing(hub)
    alert = open_alert(hub, AlertKind.SITE_OFFLINE, "HY", hearing)
    path = f"/api/v1/alerts/{alert}/acknowledge"
    assert_error(await api.post(path, user="leader.hungyen"), 403, says="leader")
    assert_error(await api.post(f"/api/v1/alerts/{a_bg(hub, hearing)}/acknowledge",
                                user="operator.hungyen"), 404)  # fmt: skip
    assert_error(await api.post("/api/v1/alerts/999999/acknowledge", user="operator"), 404)
    assert_error(await api.post("/api/v1/alerts/abc/acknowledge", user="operator"), 404)

    first = await api.post(path, user="operator.hungyen")
    assert first.status == 200, first.text
    assert first.json["acknowledged_by"] == hub.user("operator.hungyen")
    assert first.json["acknowledged_at"] is not None
    second = await api.post(path, user="operator")
    assert second.json["acknowledged_by"] == hub.user("operator.hungyen")
    assert second.json["acknowledged_at"] == first.json["acknowledged_at"]
    listed = assert_list(
        await api.get("/api/v1/alerts", user="leader.hungyen", params={"hearing": hearing})
    )
    assert [(a["id"], a["acknowledged_by_name"]) for a in listed] == [
        (alert, first.json["acknowledged_by_name"])
    ]


def a_bg(hub: ThreadedHub, hearing: int) -> int:
    return open_alert(hub, AlertKind.SITE_OFFLINE, "BG", hearing)


@pytest.fixture
async def operator_browser(hub: ThreadedHub) -> AsyncIterator[tuple[Api, str]]:
    """A cookie-keeping client signed in as the central operator, and its CSRF token."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        client = Api(hub.url, session, hub.tokens)
        reply = await client.post(
            "/api/v1/auth/login", json={"username": "operator", "password": "demo"}
        )
        assert reply.status == 200, reply.text
        yield client, reply.json["csrf_token"]


async def test_acknowledging_with_a_cookie_needs_the_csrf_header(
    operator_browser: tuple[Api, str], hub: ThreadedHub
) -> None:
    client, csrf = operator_browser
    alert = open_alert(hub, AlertKind.MEDIA_DEVICE_MISSING, "BG", a_hearing(hub))
    path = f"/api/v1/alerts/{alert}/acknowledge"
    assert_error(await client.post(path), 403, says="X-CSRF-Token")
    ok = await client.post(path, headers={"X-CSRF-Token": csrf})
    assert ok.status == 200, ok.text
    assert ok.json["acknowledged_by"] == hub.user("operator")


async def test_the_openapi_document_describes_both_operations(api: Api) -> None:
    spec = (await api.get("/api/v1/openapi.json")).json
    listing = spec["paths"]["/api/v1/alerts"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"open", "office", "hearing", "kind"}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AlertList"
    }
    ack = spec["paths"]["/api/v1/alerts/{id}/acknowledge"]["post"]
    assert {"200", "401", "403", "404"} <= set(ack["responses"])
    kinds = spec["components"]["schemas"]["AlertKind"]["enum"]
    assert set(kinds) == {k.value for k in AlertKind}

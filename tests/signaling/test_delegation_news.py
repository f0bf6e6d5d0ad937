"""A crowd delegation registered at one office reaches, at once, the staff and leaders of its
home office (and of the receiving office) on their open sockets, and nobody else: not another
province, not an operator, not a kiosk's join token."""

from __future__ import annotations

import asyncio
from datetime import datetime

import aiohttp
import pytest

from tests.fixtures_hub import HubFactory
from tests.hub.client import VN
from tests.signaling.live_hub import Client, Rest, error_code, wait_for

pytestmark = pytest.mark.timeout(90)


async def test_hung_yens_crowd_at_the_centre_is_pushed_to_hung_yen_only(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff = await rest.login("staff")
        users = {
            name: await rest.login(name)
            for name in ("staff.hungyen", "leader.hungyen", "staff.bacgiang", "leader")
        }
        operator = await rest.login("operator.hungyen")
        offices = await rest.offices(staff)
        hearing = await rest.schedule(staff, sites=[offices["HY"]])
        kiosk_token = await rest.join_token(staff, hearing, offices["HY"])
        clients = {name: await Client().connect(hub.url, u.token) for name, u in users.items()}
        board = await Client().connect(hub.url, operator.token)
        kiosk = await Client().connect(hub.url, kiosk_token)
        try:
            for name, client in clients.items():
                ack = await client.call("watch_delegations")
                assert ack == {"ok": True, "office_id": users[name].office_id}, ack
            assert error_code(await board.call("watch_delegations")) == "forbidden"
            assert error_code(await kiosk.call("watch_delegations")) == "forbidden"

            made = await rest.call(
                staff,
                "POST",
                "/api/v1/delegations",
                {
                    "receiving_office_id": offices["TW"],
                    "home_office_id": offices["HY"],
                    "received_on": datetime.now(VN).date().isoformat(),
                    "people_count": 30,
                    "representatives": ["Người đại diện một", "Người đại diện hai"],
                    "matter": "Phản ánh ô nhiễm từ khu công nghiệp",
                },
            )
            told = ("staff.hungyen", "leader.hungyen", "leader")
            for name in told:
                await wait_for(
                    lambda name=name: bool(clients[name].of("delegation")),  # type: ignore[misc]
                    within=5,
                    what=f"{name} told",
                )
            pushed = clients["staff.hungyen"].of("delegation")[0]
            assert pushed["id"] == made["id"] and pushed["status"] == "open"
            assert pushed["home_office_id"] == offices["HY"] and pushed["skipped_level"] is True
            # No personal data travels: the representatives are counted, not named.
            assert pushed["representatives_count"] == 2 and "representatives" not in pushed
            await asyncio.sleep(1.0)
            assert clients["staff.bacgiang"].of("delegation") == []
            assert board.of("delegation") == [] and kiosk.of("delegation") == []

            # Moving it along is pushed too.
            await rest.call(
                users["staff.hungyen"],
                "PATCH",
                f"/api/v1/delegations/{made['id']}",
                {"status": "handling"},
            )
            await wait_for(
                lambda: len(clients["leader"].of("delegation")) == 2, within=5, what="update"
            )
            assert clients["leader"].of("delegation")[1]["status"] == "handling"
        finally:
            for client in [*clients.values(), board, kiosk]:
                await client.close()


async def test_a_start_page_listening_does_not_put_its_office_online(
    hub_server: HubFactory,
) -> None:
    """The staff start page keeps a socket open for delegations: the operators' board must not
    take it for Bắc Giang's bridge point coming online."""
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        operator, bg = await rest.login("operator"), await rest.login("staff.bacgiang")
        bg_office = bg.office_id
        board = await Client().connect(hub.url, operator.token)
        page = Client()
        kiosk = Client()
        try:
            await board.call("watch_sites")

            def online() -> list[object]:
                return [
                    s
                    for s in board.of("site_status")
                    if s["office_id"] == bg_office and s["online"]
                ]

            await page.sio.connect(
                hub.url,
                auth={"token": bg.token, "watcher": True},
                transports=["websocket"],
                wait_timeout=5,
            )
            assert (await page.call("watch_delegations"))["ok"] is True
            await asyncio.sleep(1.0)
            assert online() == []
            # The same user's kiosk (a plain connection) is the bridge point coming online.
            await kiosk.connect(hub.url, bg.token)
            await wait_for(lambda: bool(online()), within=5, what="Bắc Giang online")
        finally:
            for client in (board, page, kiosk):
                await client.close()


async def test_with_redis_the_news_reaches_a_page_on_the_other_node(
    hub_server: HubFactory, redis_url: str
) -> None:
    """Two hub nodes sharing the database and Redis: the delegation registered through node A
    reaches Hưng Yên's page connected to node B."""
    node_a = await hub_server(redis_url=redis_url)
    node_b = await hub_server(
        prepare_db=False,
        redis_url=redis_url,
        database_url=node_a.settings.effective_database_url,
    )
    async with aiohttp.ClientSession() as session:
        rest_a = Rest(node_a.url, session)
        staff = await rest_a.login("staff")
        hy = await Rest(node_b.url, session).login("staff.hungyen")
        offices = await rest_a.offices(staff)
        page = await Client().connect(node_b.url, hy.token)
        try:
            assert (await page.call("watch_delegations"))["ok"] is True
            made = await rest_a.call(
                staff,
                "POST",
                "/api/v1/delegations",
                {
                    "receiving_office_id": offices["TW"],
                    "home_office_id": offices["HY"],
                    "received_on": datetime.now(VN).date().isoformat(),
                    "people_count": 11,
                    "matter": "Khiếu nại chậm giải quyết",
                },
            )
            await wait_for(lambda: bool(page.of("delegation")), within=5, what="across nodes")
            assert [d["id"] for d in page.of("delegation")] == [made["id"]]
        finally:
            await page.close()

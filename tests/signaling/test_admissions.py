"""Admissions outlive the hub: a site a moderator let into a live hearing comes back straight
in after the hub restarts (rooms in-process, or on a media worker that restarts with it), until
it is sent to the waiting room (issue 9: after a hub restart every kiosk landed in the waiting
room and the leader had to admit every site again)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from hub.api.keys import DATABASE
from hub.config import Settings
from hub.services import admissions
from tests.fixtures_hub import HubServer, start_hub
from tests.signaling.live_hub import Client, Rest, wait_for

pytestmark = pytest.mark.timeout(120)

Restart = Callable[[], Awaitable[HubServer]]


@pytest.fixture
async def restartable(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[HubServer, Restart]]:
    """A hub on a fresh database, and a way to stop it and serve a new create_app on the same
    database (with media workers its children stop and start with it)."""
    settings = Settings(
        data_dir=tmp_path / "hub",
        secret_key="tcd-hub-test-secret",
        ice_announced_ips=("127.0.0.1",),
        media_workers=int(request.param),
    )
    running: list[web.AppRunner] = []
    hub, runner = await start_hub(settings)
    running.append(runner)

    async def restart() -> HubServer:
        await running.pop().cleanup()
        again, runner = await start_hub(settings, prepare_db=False)
        running.append(runner)
        return again

    try:
        yield hub, restart
    finally:
        for runner in running:
            await runner.cleanup()


async def admitted_in_database(hub: HubServer, hearing_id: int) -> set[int]:
    assert hub.app is not None
    async with hub.app[DATABASE].transaction() as session:
        return await admissions.admitted_offices(session, hearing_id)


async def until_in_database(
    hub: HubServer, hearing_id: int, holds: Callable[[set[int]], bool]
) -> None:
    """Wait until the admissions in the database satisfy `holds` (a worker's log entries
    reach the node's database a moment after the site is told)."""
    deadline = time.monotonic() + 5
    while not holds(offices := await admitted_in_database(hub, hearing_id)):
        assert time.monotonic() < deadline, f"admissions in the database: {offices}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("restartable", [0, 1], ids=["in-process", "media-worker"], indirect=True)
async def test_an_admitted_site_rejoins_a_restarted_hub_without_a_click(
    restartable: tuple[HubServer, Restart],
) -> None:
    hub, restart = restartable
    async with aiohttp.ClientSession() as http:
        rest = Rest(hub.url, http)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        offices = await rest.offices(staff)
        hy = offices["HY"]
        hid = await rest.schedule(staff, sites=[hy], chair=leader)
        kiosk = await rest.login("staff.hungyen")

    chair = await Client().connect(hub.url, leader.token)
    site = await Client().connect(hub.url, kiosk.token)
    clients = [chair, site]
    try:
        assert (await chair.call("join", {"hearing_id": hid}))["moderator"] is True
        assert (await chair.call("start_hearing"))["ok"] is True
        joined = await site.call("join", {"hearing_id": hid})
        assert joined["state"] == "waiting"
        assert hy not in await admitted_in_database(hub, hid)
        ack = await chair.call("admit", {"participant_id": joined["participant_id"]})
        assert ack["ok"] is True
        await wait_for(lambda: bool(site.of("admitted")), what="the site admitted")
        await until_in_database(hub, hid, lambda offices: hy in offices)

        # The hub goes away with the hearing live; a new one serves the same database.
        hub = await restart()
        await wait_for(lambda: not site.sio.connected, what="the site's socket closed")
        chair, site = Client(), Client()
        clients += [chair, site]
        await site.connect(hub.url, kiosk.token)
        back = await site.call("join", {"hearing_id": hid})
        assert back["ok"] is True and back["state"] == "admitted", back
        assert not site.of("waiting")

        # Sent back to the waiting room: it waits again, across the next restart too.
        await chair.connect(hub.url, leader.token)
        assert (await chair.call("join", {"hearing_id": hid}))["moderator"] is True
        sent = await chair.call("send_to_waiting", {"participant_id": back["participant_id"]})
        assert sent["ok"] is True
        await wait_for(lambda: bool(site.of("waiting")), what="the site sent to the waiting room")
        await until_in_database(hub, hid, lambda offices: hy not in offices)
        hub = await restart()
        site = Client()
        clients.append(site)
        await site.connect(hub.url, kiosk.token)
        assert (await site.call("join", {"hearing_id": hid}))["state"] == "waiting"
    finally:
        for client in clients:
            await client.close()


@pytest.mark.parametrize("restartable", [0], ids=["in-process"], indirect=True)
async def test_ending_the_hearing_clears_its_admissions(
    restartable: tuple[HubServer, Restart],
) -> None:
    hub, _restart = restartable
    async with aiohttp.ClientSession() as http:
        rest = Rest(hub.url, http)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        hy = (await rest.offices(staff))["HY"]
        hid = await rest.schedule(staff, sites=[hy], chair=leader)
        kiosk = await rest.login("staff.hungyen")
    chair = await Client().connect(hub.url, leader.token)
    site = await Client().connect(hub.url, kiosk.token)
    try:
        await chair.call("join", {"hearing_id": hid})
        await chair.call("start_hearing")
        joined = await site.call("join", {"hearing_id": hid})
        await chair.call("admit", {"participant_id": joined["participant_id"]})
        await wait_for(lambda: bool(site.of("admitted")), what="the site admitted")
        await until_in_database(hub, hid, lambda offices: hy in offices)
        assert (await chair.call("end_hearing"))["ok"] is True
        assert await admitted_in_database(hub, hid) == set()
    finally:
        await chair.close()
        await site.close()

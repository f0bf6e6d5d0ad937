"""A live room's lifecycle: it closes when its last site's media drops, a failed offer can be
retried, unknown events count against the rate limit, shutdown stops Socket.IO's own task,
and a join racing the end of a hearing leaves nothing behind."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp import web
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from hub.config import Settings
from signaling.server import SIGNALING_KEY, setup_signaling
from signaling.site_agent import SiteAgent
from tests.signaling.conftest import FakeGateway, Hub
from tests.signaling.live_hub import Client, clip, error_code, wait_for

pytestmark = pytest.mark.timeout(60)


async def test_a_room_closes_when_its_last_sites_media_drops(hub: Hub) -> None:
    """The site's peer connection goes while its socket stays: the room saw the drop and took
    the site out, but kept its speaker and quality loops running with nobody in it."""
    server = hub.app[SIGNALING_KEY]
    # A site that does not heal (reconnect=False): told media_reset, it stays out.
    site = SiteAgent(hub.url, "site1", 1, clip=clip(), reconnect=False)
    try:
        await site.start()
        room = server.rooms.get(1)
        assert room is not None and len(room.participants) == 1
        (participant,) = room.participants.values()
        await wait_for(
            lambda: any(p.frames for p in participant.publications.values()), what="media in"
        )
        await site.lose_media()
        await wait_for(lambda: not room.participants, what="the drop seen by the room")
        await wait_for(lambda: room.closed, within=5, what="the empty room closed")
        assert server.rooms.get(1) is None
        assert server.rooms.stats().rooms == ()
        assert "participant_dropped" in hub.gateway.kinds()
        # The socket is still there, free to join again (a fresh room).
        again = await site.call("join", {"hearing_id": 1})
        assert again["ok"] is True and server.rooms.get(1) is not room
    finally:
        await site.close()


async def _offer(*, broken: bool) -> str:
    pc = RTCPeerConnection()
    pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
    pc.addTransceiver(VideoStreamTrack(), direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    if broken:
        # Well-formed enough for the hub's guard, but aiortc cannot answer it: both m-lines
        # claim the same mid.
        sdp = re.sub(r"a=mid:1", "a=mid:0", sdp)
    return sdp


async def test_a_failed_offer_can_be_followed_by_a_good_one(hub: Hub) -> None:
    """The refused offer's peer connection stayed behind, so every later offer was answered
    `conflict: an offer was already accepted`."""
    client = await Client().connect(hub.url, "site1")
    try:
        assert (await client.call("join", {"hearing_id": 1}))["ok"] is True
        ack = await client.call("offer", {"sdp": await _offer(broken=True), "type": "offer"})
        assert error_code(ack) == "invalid_sdp"
        ack = await client.call("offer", {"sdp": await _offer(broken=False), "type": "offer"})
        assert ack["ok"] is True and ack["sdp"].startswith("v=0")
        ack = await client.call("offer", {"sdp": await _offer(broken=False), "type": "offer"})
        assert error_code(ack) == "conflict"  # one accepted offer per participant, still
    finally:
        await client.close()


async def test_unknown_events_spend_the_rate_limit(hub: Hub) -> None:
    """Unknown events were answered without ever being counted: a flood of them cost the hub
    an answer each, for ever."""
    client = await Client().connect(hub.url, "site1")
    try:
        acks = [await client.call("no_such_event", {"n": i}) for i in range(80)]
        codes = [error_code(ack) for ack in acks]
        assert codes[0] == "unknown_event"
        assert "rate_limited" in codes
        # The allowance is shared: a real event right after the flood is limited too.
        assert error_code(await client.call("unwatch_sites")) == "rate_limited"
    finally:
        await client.close()


def _socketio_tasks() -> list[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and "_service_task" in getattr(task.get_coro(), "__qualname__", "")
    ]


async def test_shutdown_stops_socketio_and_every_task(
    gateway: FakeGateway, settings: Settings
) -> None:
    """sio.shutdown() was never called: Engine.IO's service task outlived the app."""
    app = web.Application()
    server = setup_signaling(app, settings, gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    client = await Client().connect(url, "site1")
    assert (await client.call("join", {"hearing_id": 1}))["ok"] is True
    assert _socketio_tasks(), "Engine.IO's service task runs while the app serves"
    await client.close()
    await runner.cleanup()
    assert _socketio_tasks() == []
    assert server.rooms.stats().rooms == ()


async def test_a_join_racing_the_end_of_the_hearing_leaves_nothing_behind(
    hub: Hub, gateway: FakeGateway
) -> None:
    """A site joined while the room was ending (the end waiting on the database): the room
    closed under it silently, and its socket stayed "in" a closed room for good, refused every
    later join with `already in hearing`."""
    server = hub.app[SIGNALING_KEY]
    lead = await Client().connect(hub.url, "site1")
    late = await Client().connect(hub.url, "site2")
    release = asyncio.Event()
    try:
        assert (await lead.call("join", {"hearing_id": 1}))["ok"] is True
        room = server.rooms.get(1)
        assert room is not None
        gateway.gates["participant_left"] = release
        ending = asyncio.create_task(server.status_changed(1, "ended"))
        await wait_for(lambda: "participant_left" in gateway.held, what="the end under way")
        # The gateway still says "live" (the race: admitted just before the end committed).
        ack = await late.call("join", {"hearing_id": 1})
        assert error_code(ack) == "conflict"
        release.set()
        await ending
        assert room.closed and server.rooms.get(1) is None
        # Nothing of the refused join remains: the socket joins another hearing at once.
        ack = await late.call("join", {"hearing_id": 2})
        assert ack["ok"] is True, ack
        assert [r.hearing_id for r in server.rooms.stats().rooms] == [2]
        assert server.connection_of(ack["participant_id"]) is not None
    finally:
        release.set()
        await lead.close()
        await late.close()


async def test_a_room_closed_under_its_participants_releases_their_sockets(hub: Hub) -> None:
    """Closing a room (shutdown, end) tells signaling about everyone still in it, so that no
    socket is left seated in a closed room."""
    server = hub.app[SIGNALING_KEY]
    clients = [await Client().connect(hub.url, f"site{i}") for i in (1, 2)]
    try:
        for client in clients:
            assert (await client.call("join", {"hearing_id": 1}))["ok"] is True
        room = server.rooms.get(1)
        assert room is not None
        await server.rooms.close_room(1)
        for client in clients:
            ack = await client.call("join", {"hearing_id": 2})
            assert ack["ok"] is True, ack
    finally:
        for client in clients:
            await client.close()


async def test_bare_clients_are_counted_in_the_stats(hub: Hub) -> None:
    server = hub.app[SIGNALING_KEY]
    client = await Client().connect(hub.url, "site2")
    try:
        await client.call("join", {"hearing_id": 1})
        stats = server.rooms.stats()
        assert [(r.hearing_id, r.participants, r.waiting) for r in stats.rooms] == [(1, 1, 1)]
        as_json = stats.as_dict()
        assert as_json["rooms"] == 1 and as_json["participants"] == 1
        assert as_json["by_room"][0]["forwarding"] == []
    finally:
        await client.close()

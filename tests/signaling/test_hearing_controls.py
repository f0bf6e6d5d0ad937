"""The waiting room and the leader's controls on the real hub, with site agents as the sites."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from signaling.server import SIGNALING_KEY
from signaling.site_agent import SiteAgent
from tests.fixtures_hub import HubFactory, HubServer
from tests.signaling.live_hub import Client, Rest, User, agent, error_code, wait_for

pytestmark = pytest.mark.timeout(120)


@dataclass
class Hearing:
    hub: HubServer
    rest: Rest
    id: int
    staff: User  # central office staff: scheduled it
    leader: User  # central office leader: the chair
    hy_token: str  # Hưng Yên's seat, issued by its staff
    bg_token: str  # Bắc Giang's seat, issued by its staff
    offices: dict[str, int]


@pytest.fixture
async def hearing(hub_server: HubFactory) -> AsyncIterator[Hearing]:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        offices = await rest.offices(staff)
        hearing_id = await rest.schedule(staff, sites=[offices["HY"], offices["BG"]], chair=leader)
        hy = await rest.join_token(await rest.login("staff.hungyen"), hearing_id)
        bg = await rest.join_token(await rest.login("staff.bacgiang"), hearing_id)
        yield Hearing(hub, rest, hearing_id, staff, leader, hy, bg, offices)


def video_from(receiver: SiteAgent, sender: SiteAgent) -> int:
    return receiver.stats().received_video.get(str(sender.participant_id), 0)


def audio_from(receiver: SiteAgent, sender: SiteAgent) -> int:
    return receiver.stats().received_audio.get(str(sender.participant_id), 0)


async def rising(count: Callable[[], int], seconds: float = 1.0) -> int:
    """How much a counter grows over `seconds`."""
    before = count()
    await asyncio.sleep(seconds)
    return count() - before


async def settle(count: Callable[[], int], within: float = 5.0) -> None:
    """Wait until a counter stops for 0.5 s: what was already on its way has arrived (the hub
    and the agents share one busy event loop here)."""
    deadline = asyncio.get_running_loop().time() + within
    while await rising(count, 0.5) > 0:
        assert asyncio.get_running_loop().time() < deadline, "the counter never stopped"


async def test_waiting_room_admit_mute_send_back_remove_and_end(hearing: Hearing) -> None:
    url, hid = hearing.hub.url, hearing.id
    lead = agent(url, hearing.leader.token, hid)
    hy = agent(url, hearing.hy_token, hid)
    bg = agent(url, hearing.bg_token, hid)
    staff = Client()
    agents = [lead, hy, bg]
    try:
        # The chair is let straight in and may run the hearing; it starts it.
        await lead.start()
        assert (lead.state, lead.moderator) == ("admitted", True)
        ack = await lead.call("start_hearing")
        assert ack == {"ok": True, "status": "live"}
        await wait_for(lambda: bool(lead.received_of("hearing_status")), what="hearing_status")
        assert lead.received_of("hearing_status")[-1] == {"hearing_id": hid, "status": "live"}

        # The provinces wait; everyone sees them waiting; nothing flows either way.
        await hy.start()
        await bg.start()
        assert (hy.state, hy.moderator, bg.state) == ("waiting", False, "waiting")
        assert hy.received_of("waiting") == [{"hearing_id": hid}]
        await wait_for(lambda: str(bg.participant_id) in lead.participants)
        assert lead.participants[str(hy.participant_id)]["state"] == "waiting"

        # Central staff are let in (host office) but are no moderators (they may start and
        # end it, as over REST); nor is a waiting site.
        await staff.connect(url, hearing.staff.token)
        joined = await staff.call("join", {"hearing_id": hid})
        assert (joined["state"], joined["moderator"]) == ("admitted", False)
        for client_call in (
            staff.call("admit", {"participant_id": hy.participant_id}),
            staff.call("spotlight", {"participant_id": hy.participant_id}),
            hy.call("end_hearing"),
            hy.call("admit", {"participant_id": hy.participant_id}),
            hy.call("mute_site", {"participant_id": lead.participant_id, "audio": True}),
        ):
            assert error_code(await client_call) == "forbidden"
        await asyncio.sleep(1.0)
        assert video_from(lead, hy) == video_from(hy, lead) == video_from(bg, hy) == 0

        # Admitted: both get `admitted`, everyone gets participant_state, media flows.
        for site in (hy, bg):
            ack = await lead.call("admit", {"participant_id": site.participant_id})
            assert ack == {"ok": True}
        await wait_for(lambda: hy.state == bg.state == "admitted", what="admitted events")
        states = [s for s in staff.of("participant_state") if s["state"] == "admitted"]
        assert {s["participant_id"] for s in states} == {hy.participant_id, bg.participant_id}
        await wait_for(
            lambda: all(video_from(a, b) >= 15 for a in agents for b in agents if a is not b),
            within=15,
            what="video between all three sites",
        )

        # Muted by the host: the site is told, its audio stops reaching the others.
        ack = await lead.call("mute_site", {"participant_id": hy.participant_id, "audio": True})
        assert ack == {"ok": True}
        await wait_for(lambda: hy.received_of("muted_by_host") == [{"audio": True}])
        await wait_for(
            lambda: any(s.get("muted_by_host") for s in bg.received_of("participant_state"))
        )
        await settle(lambda: audio_from(lead, hy))
        assert await rising(lambda: audio_from(lead, hy)) == 0
        assert await rising(lambda: audio_from(lead, bg)) > 20
        assert await rising(lambda: video_from(lead, hy)) > 10  # video is untouched
        await lead.call("mute_site", {"participant_id": hy.participant_id, "audio": False})
        await wait_for(lambda: hy.received_of("muted_by_host")[-1] == {"audio": False})
        assert await rising(lambda: audio_from(lead, hy)) > 20

        # Spotlight and "now hearing petition X".
        await lead.call("spotlight", {"participant_id": hy.participant_id})
        await wait_for(
            lambda: bg.received_of("spotlight") == [{"participant_id": hy.participant_id}]
        )
        await lead.call("spotlight", {"participant_id": None})
        await wait_for(lambda: bg.received_of("spotlight")[-1] == {"participant_id": None})
        petitions = await hearing.rest.call(hearing.leader, "GET", "/api/v1/petitions")
        petition = petitions["items"][0]
        ack = await lead.call("now_hearing", {"petition_id": petition["id"], "action": "start"})
        assert ack["ok"] and ack["case_code"] == petition["case_code"] and ack["heard_from"]
        await wait_for(lambda: bool(hy.received_of("now_hearing")))
        heard = hy.received_of("now_hearing")[0]
        assert heard["petition_id"] == petition["id"] and heard["heard_to"] is None
        ack = await lead.call("now_hearing", {"petition_id": petition["id"], "action": "stop"})
        assert ack["heard_to"] is not None
        await wait_for(lambda: len(hy.received_of("now_hearing")) == 2)

        # Sent back to the waiting room: its media stops both ways.
        ack = await lead.call("send_to_waiting", {"participant_id": bg.participant_id})
        assert ack == {"ok": True}
        await wait_for(lambda: bg.state == "waiting", what="waiting event")
        await settle(lambda: video_from(lead, bg))
        await settle(lambda: video_from(bg, lead))
        assert await rising(lambda: video_from(lead, bg)) == 0
        assert await rising(lambda: video_from(lead, hy)) > 10

        # Removed: told, disconnected, gone for everyone, and back in the waiting room on return.
        ack = await lead.call("remove", {"participant_id": hy.participant_id})
        assert ack == {"ok": True}
        await wait_for(lambda: hy.closed.is_set(), what="removed site disconnected")
        assert hy.received_of("removed") == [{"hearing_id": hid}]
        await wait_for(
            lambda: (
                {"participant_id": hy.participant_id, "reason": "removed"}
                in lead.received_of("participant_left")
            )
        )
        assert error_code(await lead.call("remove", {"participant_id": lead.participant_id})) == (
            "conflict"
        )
        again = agent(url, hearing.hy_token, hid)
        agents.append(again)
        await again.start()
        assert again.state == "waiting"

        # Admitted, then a network drop: the rejoin keeps the admission.
        await lead.call("admit", {"participant_id": again.participant_id})
        await wait_for(lambda: again.state == "admitted")
        await again.drop()
        await wait_for(
            lambda: (
                {"participant_id": again.participant_id, "reason": "dropped"}
                in lead.received_of("participant_left")
            )
        )
        rejoined = agent(url, hearing.hy_token, hid)
        agents.append(rejoined)
        await rejoined.start()
        assert rejoined.state == "admitted"

        # Ended: everyone is told and taken out of the room; the sockets stay up.
        ack = await lead.call("end_hearing")
        assert ack == {"ok": True, "status": "ended"}
        await wait_for(
            lambda: all(
                s.received_of("hearing_ended") == [{"hearing_id": hid}] for s in (rejoined, bg)
            )
        )
        for site in (rejoined, bg):
            assert site.received_of("hearing_status")[-1] == {"hearing_id": hid, "status": "ended"}
        server = hearing.hub.app[SIGNALING_KEY]
        await wait_for(lambda: len(server.rooms) == 0, what="room closed")
        assert staff.sio.connected
        ack = await staff.call("mute", {"audio_muted": True, "video_muted": False})
        assert error_code(ack) == "not_joined"
        status = await hearing.rest.call(hearing.staff, "GET", f"/api/v1/hearings/{hid}")
        assert status["status"] == "ended"
    finally:
        await staff.close()
        for site in agents:
            await site.close()

    # The session log tells the story, with the office concerned and the user who acted.
    log = await hearing.rest.log(hearing.staff, hid)
    kinds = [e["kind"] for e in log]
    for kind in (
        "started",
        "participant_joined",
        "participant_admitted",
        "participant_muted",
        "participant_removed",
        "participant_dropped",
        "participant_left",
        "ended",
    ):
        assert kind in kinds, (kind, kinds)
    hy_name = next(e["office_name"] for e in log if e["office_id"] == hearing.offices["HY"])
    admitted = [e for e in log if e["kind"] == "participant_admitted"]
    assert {e["office_id"] for e in admitted} == {hearing.offices["HY"], hearing.offices["BG"]}
    assert all(e["user_id"] == hearing.leader.id and e["user_name"] for e in admitted)
    muted = [e for e in log if e["kind"] == "participant_muted"]
    assert [e["detail"]["audio"] for e in muted] == [True, False]
    assert muted[0]["office_name"] == hy_name
    removed = next(e for e in log if e["kind"] == "participant_removed")
    assert removed["office_id"] == hearing.offices["HY"]
    assert removed["user_id"] == hearing.leader.id
    assert removed["detail"]["participant_id"] == hy.participant_id
    joined = [e for e in log if e["kind"] == "participant_joined"]
    assert {e["office_id"] for e in joined} == {
        hearing.offices["TW"],
        hearing.offices["HY"],
        hearing.offices["BG"],
    }
    assert all(e["office_name"] and e["user_name"] for e in joined)
    assert kinds.index("ended") < len(kinds) - 1  # participants left after the end was logged


async def test_controls_need_a_joined_moderator(hearing: Hearing) -> None:
    url, hid = hearing.hub.url, hearing.id
    leader = await Client().connect(url, hearing.leader.token)
    operator = await Client().connect(url, (await hearing.rest.login("operator")).token)
    try:
        # Not joined: nothing to moderate.
        assert error_code(await leader.call("admit", {"participant_id": "x"})) == "not_joined"
        assert error_code(await leader.call("admit", {"participant_id": 5})) == "invalid_message"
        # Operators cannot join hearings at all.
        assert error_code(await operator.call("join", {"hearing_id": hid})) == "not_found"
        await leader.call("join", {"hearing_id": hid})
        assert error_code(await leader.call("admit", {"participant_id": "nobody"})) == "not_found"
        ack = await leader.call("now_hearing", {"petition_id": 999999, "action": "start"})
        assert error_code(ack) == "not_found"
        # Ending a hearing that never started is refused by the hearings service.
        assert error_code(await leader.call("end_hearing")) == "conflict"
        assert (await leader.call("start_hearing"))["status"] == "live"
        assert error_code(await leader.call("start_hearing")) == "conflict"
    finally:
        await leader.close()
        await operator.close()


async def test_chair_and_leaders_above_moderate_but_the_chairs_kiosk_token_waits(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff_hy, chair = await rest.login("staff.hungyen"), await rest.login("leader.hungyen")
        central = await rest.login("leader")
        offices = await rest.offices(staff_hy)
        hid = await rest.schedule(staff_hy, sites=[offices["HY.VANLAM"]], chair=chair)
        # The chair issues the district kiosk's token: the kiosk is not the chair.
        kiosk_token = await rest.join_token(chair, hid, offices["HY.VANLAM"])
        clients = [
            await Client().connect(hub.url, token)
            for token in (kiosk_token, chair.token, central.token)
        ]
        try:
            acks = [await c.call("join", {"hearing_id": hid}) for c in clients]
            assert [(a["state"], a["moderator"]) for a in acks] == [
                ("waiting", False),  # the kiosk
                ("admitted", True),  # the chair
                ("admitted", True),  # the central office's leader, above the host office
            ]
            kiosk, _chair, leader = clients
            ack = await leader.call("admit", {"participant_id": acks[0]["participant_id"]})
            assert ack == {"ok": True}
            await wait_for(lambda: bool(kiosk.of("admitted")))
        finally:
            for client in clients:
                await client.close()


async def test_host_staff_end_a_hearing_over_the_socket_as_over_rest(hearing: Hearing) -> None:
    """One rule set (hub.domain.hearing_roles): the REST API lets the host's staff start and
    end a hearing, and so does the socket (it answered `forbidden` before)."""
    url, hid = hearing.hub.url, hearing.id
    staff = await Client().connect(url, hearing.staff.token)
    site = await Client().connect(url, hearing.hy_token)
    try:
        assert (await staff.call("join", {"hearing_id": hid}))["moderator"] is False
        assert (await site.call("join", {"hearing_id": hid}))["state"] == "waiting"
        assert await staff.call("start_hearing") == {"ok": True, "status": "live"}
        assert error_code(await site.call("end_hearing")) == "forbidden"
        assert await staff.call("end_hearing") == {"ok": True, "status": "ended"}
        await wait_for(lambda: bool(site.of("hearing_ended")), what="hearing_ended at the site")
        kinds = [e["kind"] for e in await hearing.rest.log(hearing.staff, hid)]
        assert "started" in kinds and "ended" in kinds
    finally:
        await staff.close()
        await site.close()

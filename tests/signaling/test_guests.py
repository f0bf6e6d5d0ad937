"""A guest in a live hearing over real signaling: it connects with its personal link, waits,
is admitted by the chair (and comes back admitted after a drop), is listed by name and
agency, may moderate nothing and watch no board, and loses its socket at once when its link is
revoked, the hearing ends, or the link is replaced; an expired link is refused at connect."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from hub.domain.guests import guest_seat
from hub.services import guests
from tests.fixtures_hub import HubFactory, HubServer
from tests.signaling.live_hub import Client, Rest, User, error_code, wait_for

pytestmark = pytest.mark.timeout(90)

POLICE = {
    "name": "Trần Văn Bình",
    "agency": "Công an tỉnh Hưng Yên",
    "agency_kind": "police",
    "position": "Phó Trưởng phòng",
}
# A pushed revocation (the REST call pokes the revalidation) lands within this.
PUSHED_WITHIN = 3.0


async def setting_up(hub: HubServer) -> tuple[Rest, User, User, int, int, str]:
    """(rest, staff, chair, hearing id, guest id, token): a Hưng Yên site's hearing hosted by
    the central office, chaired by its leader, with a police guest and its link."""
    http = aiohttp.ClientSession()
    rest = Rest(hub.url, http)
    staff, leader = await rest.login("staff"), await rest.login("leader")
    hy = (await rest.offices(staff))["HY"]
    hid = await rest.schedule(staff, sites=[hy], chair=leader)
    guest = await rest.call(staff, "POST", f"/api/v1/hearings/{hid}/guests", POLICE)
    link = await rest.call(staff, "POST", f"/api/v1/hearings/{hid}/guests/{guest['id']}/link")
    return rest, staff, leader, hid, int(guest["id"]), str(link["token"])


async def refused(hub: HubServer, token: str) -> str:
    """The message of the hub's refusal of a connection with `token`."""
    client = socketio.AsyncClient(reconnection=False)
    said: list[str] = []

    async def connect_error(data: object) -> None:
        said.append(str(data.get("message")) if isinstance(data, dict) else str(data))

    client.on("connect_error", connect_error)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            hub.url, auth={"token": token}, transports=["websocket"], wait_timeout=5
        )
    assert said, "refused without a reason"
    return said[0]


async def test_a_guest_waits_is_admitted_by_the_chair_and_comes_back_admitted(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server(media_workers=0)
    rest, staff, leader, hid, guest_id, token = await setting_up(hub)
    chair, guest = Client(), Client()
    try:
        await chair.connect(hub.url, leader.token)
        assert (await chair.call("join", {"hearing_id": hid}))["moderator"] is True
        assert (await chair.call("start_hearing"))["ok"] is True
        await guest.connect(hub.url, token)
        joined = await guest.call("join", {"hearing_id": hid})
        assert joined["ok"] is True and joined["state"] == "waiting", joined
        assert joined["moderator"] is False
        await wait_for(lambda: bool(chair.of("participant_joined")), what="the chair told")
        (listed,) = [p["participant"] for p in chair.of("participant_joined")]
        assert listed["role"] == "guest" and listed["state"] == "waiting"
        assert listed["display_name"] == "Trần Văn Bình"
        assert listed["office_name"] == "Công an tỉnh Hưng Yên"
        assert listed["office_id"] == guest_seat(guest_id)

        # A guest moderates nothing, watches no board, runs no self-test, joins nothing else.
        assert error_code(await guest.call("admit", {"participant_id": joined["participant_id"]}))
        assert error_code(await guest.call("watch_sites")) == "forbidden"
        other = await rest.schedule(staff, sites=[])
        elsewhere = await Client().connect(hub.url, token)
        try:
            assert error_code(await elsewhere.call("join", {"hearing_id": other})) == "not_found"
            assert error_code(await elsewhere.call("self_test", {"seconds": 5})) == "forbidden"
        finally:
            await elsewhere.close()

        ack = await chair.call("admit", {"participant_id": joined["participant_id"]})
        assert ack["ok"] is True, ack
        await wait_for(lambda: bool(guest.of("admitted")), what="the guest admitted")
        listing = await rest.call(staff, "GET", f"/api/v1/hearings/{hid}/guests")
        assert listing["items"][0]["admitted"] is True

        # A dropped guest comes back straight in (the admissions machinery, kept per seat).
        await guest.close()
        guest = Client()
        await guest.connect(hub.url, token)
        back = await guest.call("join", {"hearing_id": hid})
        assert back["state"] == "admitted", back

        log = await rest.log(staff, hid)
        named = [e for e in log if e["detail"].get("guest_id") == guest_id]
        assert {"participant_joined", "participant_admitted", "participant_dropped"} <= {
            e["kind"] for e in named
        }
        assert all(e["detail"]["agency"] == "Công an tỉnh Hưng Yên" for e in named)
        # No operator's board shows a guest: it is no office's site.
        board = await chair.call("watch_sites")
        assert all(int(s["office_id"]) > 0 for s in board["sites"])
    finally:
        await chair.close()
        await guest.close()
        await rest.session.close()


async def test_revoking_a_guest_drops_its_socket_at_once(hub_server: HubFactory) -> None:
    hub = await hub_server(media_workers=0)
    rest, staff, _leader, hid, guest_id, token = await setting_up(hub)
    guest = Client()
    try:
        await guest.connect(hub.url, token)
        assert (await guest.call("join", {"hearing_id": hid}))["state"] == "waiting"
        await rest.call(staff, "POST", f"/api/v1/hearings/{hid}/guests/{guest_id}/revoke")
        await wait_for(lambda: not guest.sio.connected, within=PUSHED_WITHIN, what="dropped")
        assert guest.of("revoked"), guest.events
        assert guests.REVOKED in await refused(hub, token)
        # A new link works at once; the one it replaced drops its socket.
        link = await rest.call(staff, "POST", f"/api/v1/hearings/{hid}/guests/{guest_id}/link")
        guest = Client()
        await guest.connect(hub.url, link["token"])
        await rest.call(staff, "POST", f"/api/v1/hearings/{hid}/guests/{guest_id}/link")
        await wait_for(lambda: not guest.sio.connected, within=PUSHED_WITHIN, what="replaced")
        assert guests.INVALID in await refused(hub, link["token"])
    finally:
        await guest.close()
        await rest.session.close()


async def test_the_end_of_the_hearing_ends_its_guests_links(hub_server: HubFactory) -> None:
    hub = await hub_server(media_workers=0)
    rest, _staff, leader, hid, _guest_id, token = await setting_up(hub)
    chair, guest = Client(), Client()
    try:
        await chair.connect(hub.url, leader.token)
        await chair.call("join", {"hearing_id": hid})
        assert (await chair.call("start_hearing"))["ok"] is True
        await guest.connect(hub.url, token)
        assert (await guest.call("join", {"hearing_id": hid}))["ok"] is True
        assert (await chair.call("end_hearing"))["ok"] is True
        await wait_for(lambda: bool(guest.of("hearing_ended")), what="the guest told")
        # Its socket goes with its link (the periodic pass: nothing pushed about the link).
        await wait_for(lambda: not guest.sio.connected, within=6.0, what="guest disconnected")
        assert guests.EXPIRED in await refused(hub, token)
        assert chair.sio.connected  # a signed-in user's socket stays
    finally:
        await chair.close()
        await guest.close()
        await rest.session.close()

"""Status changes made through the REST API reach the live room: ending there closes it."""

from __future__ import annotations

import aiohttp
import pytest

from signaling.server import SIGNALING_KEY
from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Rest, agent, wait_for

pytestmark = pytest.mark.timeout(90)


async def test_ending_a_hearing_over_rest_tells_the_sites_and_closes_its_room(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        offices = await rest.offices(staff)
        hearing_id = await rest.schedule(staff, sites=[offices["HY"]], chair=leader)
        lead = agent(hub.url, leader.token, hearing_id)
        try:
            await lead.start()
            await rest.call(staff, "POST", f"/api/v1/hearings/{hearing_id}/start")
            await wait_for(
                lambda: any(e["status"] == "live" for e in lead.received_of("hearing_status")),
                what="the live status reaches the site",
            )
            rooms = hub.app[SIGNALING_KEY].rooms
            assert rooms.get(hearing_id) is not None
            await rest.call(staff, "POST", f"/api/v1/hearings/{hearing_id}/end")
            await wait_for(lambda: bool(lead.received_of("hearing_ended")), what="hearing_ended")
            assert rooms.get(hearing_id) is None
            kinds = [e["kind"] for e in await rest.log(staff, hearing_id)]
            assert kinds.index("started") < kinds.index("ended")
        finally:
            await lead.close()

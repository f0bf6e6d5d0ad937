"""Two hub processes' worth of signaling sharing one Redis: operators on one hub see sites on
the other. (Rooms are per process; only Socket.IO fan-out crosses processes.)"""

from __future__ import annotations

import aiohttp
import pytest

from signaling.server import SIGNALING_KEY
from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Client, Rest, agent, wait_for

pytestmark = pytest.mark.timeout(90)


async def test_operator_on_hub_b_sees_a_site_join_on_hub_a(
    hub_server: HubFactory, redis_url: str
) -> None:
    hub_a = await hub_server(redis_url=redis_url)
    hub_b = await hub_server(
        prepare_db=False,
        database_url=hub_a.settings.effective_database_url,
        redis_url=redis_url,
    )
    assert hub_a.settings.secret_key == hub_b.settings.secret_key
    async with aiohttp.ClientSession() as session:
        rest_a, rest_b = Rest(hub_a.url, session), Rest(hub_b.url, session)
        staff = await rest_a.login("staff")
        offices = await rest_a.offices(staff)
        hid = await rest_a.schedule(staff, sites=[offices["HY"]])
        hy_token = await rest_a.join_token(await rest_a.login("staff.hungyen"), hid)
        # Signed in on hub B (the same database), watching there.
        operator = await Client().connect(hub_b.url, (await rest_b.login("operator")).token)
        site = agent(hub_a.url, hy_token, hid, audio=False)
        try:
            assert (await operator.call("watch_sites")) == {"ok": True, "sites": []}
            await site.start()
            assert site.state == "waiting"

            def from_a() -> list[dict[str, object]]:
                return [s for s in operator.of("site_status") if s["office_id"] == offices["HY"]]

            # Connected (online, in no hearing), then joined: both statuses crossed over.
            await wait_for(
                lambda: any(s["hearing_id"] == hid for s in from_a()),
                within=10,
                what="site_status through Redis",
            )
            assert from_a()[0]["online"] is True and from_a()[0]["hearing_id"] is None
            status = from_a()[-1]
            assert status["online"] is True and status["hearing_id"] == hid
            assert status["participant_id"] == site.participant_id
            assert status["state"] == "waiting"
            # The room and its traffic stayed on hub A: nothing of the hearing reached B.
            assert len(hub_a.app[SIGNALING_KEY].rooms) == 1
            assert len(hub_b.app[SIGNALING_KEY].rooms) == 0
            assert {name for name, _ in operator.events} == {"site_status"}

            await site.close()
            await wait_for(lambda: from_a()[-1]["online"] is False, what="offline through Redis")
        finally:
            await site.close()
            await operator.close()

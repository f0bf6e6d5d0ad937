"""client_stats: a site's own figures reach the operators in its site_status (`client`); bad
figures are refused by name and the connection stays up."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Client, Rest, agent, error_code, wait_for

pytestmark = pytest.mark.timeout(90)

FIGURES: dict[str, Any] = {
    "sent_width": 640,
    "sent_height": 480,
    "sent_fps": 29.5,
    "quality_limitation": "bandwidth",
    "candidate_type": "relay",
    "available_outgoing_kbps": 1800,
    "inbound": {"p-other": {"packets_lost": 12, "loss_pct": 1.5, "jitter_ms": 8.2, "fps": 30}},
}


async def test_a_sites_own_figures_reach_the_operator_with_its_status(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        offices = await rest.offices(staff)
        tw, hy = offices["TW"], offices["HY"]
        hid = await rest.schedule(staff, sites=[hy], chair=leader)
        hy_token = await rest.join_token(await rest.login("staff.hungyen"), hid)
        operator = await Client().connect(hub.url, (await rest.login("operator")).token)
        idle = await Client().connect(hub.url, hy_token)
        lead, site = agent(hub.url, leader.token, hid), agent(hub.url, hy_token, hid)
        try:
            assert (await operator.call("watch_sites"))["ok"] is True
            # Outside a hearing there is nothing to attach figures to.
            assert error_code(await idle.call("client_stats", FIGURES)) == "not_joined"

            await lead.start()
            await site.start()
            await lead.call("admit", {"participant_id": site.participant_id})
            assert (await site.call("client_stats", FIGURES))["ok"] is True

            def with_client() -> list[dict[str, Any]]:
                return [
                    s
                    for s in operator.of("site_status")
                    if s["office_id"] == hy and s.get("client") is not None
                ]

            # They come with the hub's next measurement (every 3 s), beside its own figures.
            await wait_for(lambda: bool(with_client()), within=10, what="client figures")
            status = with_client()[-1]
            # camera, microphone: not reported by this site, so null.
            assert status["client"] == {**FIGURES, "camera": None, "microphone": None}
            assert status["state"] == "admitted" and "bitrate_kbps" in status
            # The chair's office sent none: its statuses say so.
            chair = [s for s in operator.of("site_status") if s["office_id"] == tw]
            assert chair and all(s["client"] is None for s in chair)
            # A late operator's snapshot carries them too.
            snapshot = {s["office_id"]: s for s in (await operator.call("watch_sites"))["sites"]}
            assert snapshot[hy]["client"]["candidate_type"] == "relay"

            # Bad figures: refused, naming the field; the connection and the seat stay.
            for bad, field in (
                ({**FIGURES, "candidate_type": "tcp"}, "candidate_type"),
                ({**FIGURES, "sent_width": "640"}, "sent_width"),
                ({**FIGURES, "sent_fps": -1}, "sent_fps"),
                ({**FIGURES, "jitter": 3}, "jitter"),
                ({**FIGURES, "inbound": {"p": {"fps": 30, "rtt": 1}}}, "inbound.p.rtt"),
            ):
                ack = await site.call("client_stats", bad)
                assert error_code(ack) == "invalid_message", ack
                assert field in ack["error"]["message"], ack
            assert (await site.call("client_stats", {}))["ok"] is True

            # Out of the hearing: the figures go with the seat.
            await site.close()
            await wait_for(
                lambda: any(
                    s["office_id"] == hy and s["hearing_id"] is None
                    for s in operator.of("site_status")
                ),
                what="the site out of the hearing",
            )
            gone = [s for s in operator.of("site_status") if s["office_id"] == hy][-1]
            assert gone["client"] is None
        finally:
            for one in (lead, site):
                await one.close()
            for client in (operator, idle):
                await client.close()

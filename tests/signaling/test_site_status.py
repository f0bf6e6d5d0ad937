"""Operators watch the bridge points: a snapshot, then site_status on every change, with
connection quality while a site is in a hearing."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Client, Rest, agent, error_code, wait_for

pytestmark = pytest.mark.timeout(90)


def statuses(client: Client, office_id: int) -> list[dict[str, Any]]:
    return [s for s in client.of("site_status") if s["office_id"] == office_id]


def last(client: Client, office_id: int) -> dict[str, Any] | None:
    found = statuses(client, office_id)
    return found[-1] if found else None


async def test_operators_see_sites_join_get_admitted_and_go(hub_server: HubFactory) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        offices = await rest.offices(staff)
        tw, hy, bg = offices["TW"], offices["HY"], offices["BG"]
        hid = await rest.schedule(staff, sites=[hy, bg], chair=leader)
        hy_token = await rest.join_token(await rest.login("staff.hungyen"), hid)
        bg_token = await rest.join_token(await rest.login("staff.bacgiang"), hid)
        operator = await Client().connect(hub.url, (await rest.login("operator")).token)
        province_operator = await Client().connect(
            hub.url, (await rest.login("operator.hungyen")).token
        )
        others: list[Client] = []
        lead, hy_site, bg_site = (
            agent(hub.url, leader.token, hid),
            agent(hub.url, hy_token, hid),
            agent(hub.url, bg_token, hid),
        )
        late: Client | None = None
        try:
            # Only operators, admins and leaders, signed in, may watch. Any other connection
            # makes its office online, in no hearing yet (a kiosk waiting for the hearing).
            assert (await operator.call("watch_sites")) == {"ok": True, "sites": []}
            assert (await province_operator.call("watch_sites"))["ok"] is True
            others += [
                await Client().connect(hub.url, staff.token),
                await Client().connect(hub.url, hy_token),
            ]
            for client in others:
                assert error_code(await client.call("watch_sites")) == "forbidden"
            await wait_for(lambda: last(operator, hy) is not None)
            status = last(operator, hy)
            assert status is not None and status["online"] and status["hearing_id"] is None

            # Joining: online, in the hearing, admitted (the chair) or waiting (a province).
            await lead.start()
            await wait_for(lambda: (last(operator, tw) or {}).get("state") == "admitted")
            status = last(operator, tw)
            assert status is not None
            assert status["online"] is True and status["hearing_id"] == hid
            assert status["participant_id"] == lead.participant_id
            assert status["office_name"] and status["since"]
            await hy_site.start()
            await wait_for(lambda: (last(operator, hy) or {}).get("state") == "waiting")
            await bg_site.start()
            await wait_for(lambda: (last(operator, bg) or {}).get("state") == "waiting")

            # A province's operator sees its own province only.
            await wait_for(lambda: (last(province_operator, hy) or {}).get("state") == "waiting")
            assert not statuses(province_operator, tw) and not statuses(province_operator, bg)

            # Admitted: the state changes for the operators too.
            await lead.call("admit", {"participant_id": hy_site.participant_id})
            await wait_for(lambda: (last(operator, hy) or {}).get("state") == "admitted")

            # While in the hearing: quality figures every few seconds, no more.
            def measured(office: int) -> list[dict[str, Any]]:
                return [s for s in statuses(operator, office) if s.get("bitrate_kbps") is not None]

            await wait_for(lambda: len(measured(hy)) >= 2, within=12, what="two measurements")
            figures = measured(hy)[-1]
            assert figures["bitrate_kbps"] > 100  # about 1 Mbps of video, plus audio
            assert figures["loss_pct"] is not None and 0 <= figures["loss_pct"] < 5
            # The agent replays its clip at about 30 fps; the hub sends it the chair's media.
            assert figures["fps"] is not None and 20 <= figures["fps"] <= 40, figures
            assert figures["bitrate_out_kbps"] is not None and figures["bitrate_out_kbps"] > 100
            assert figures["jitter_ms"] is not None and 0 <= figures["jitter_ms"] < 100
            assert figures["keyframe_requests"] is not None and figures["keyframe_requests"] >= 0
            assert figures["grade"] in ("good", "unknown") and figures["presence"] in (
                "in_hearing",
                "degraded",
            )
            await wait_for(
                lambda: any(s.get("rtt_ms") is not None for s in measured(hy)),
                within=12,
                what="a round-trip time (the site receives the chair's media)",
            )
            assert all(s["rtt_ms"] is None or 0 <= s["rtt_ms"] < 1000 for s in measured(hy))
            # A measurement is no change of state: `since` stays when the site was admitted.
            assert len({s["since"] for s in measured(hy)}) == 1
            # Bounded: one status per site per measurement interval (3 s), plus real changes.
            admitted_at = next(
                i for i, s in enumerate(statuses(operator, hy)) if s["state"] == "admitted"
            )
            assert len(statuses(operator, hy)[admitted_at:]) <= len(measured(hy)) + 1

            # An operator arriving now gets the snapshot.
            late = await Client().connect(hub.url, (await rest.login("admin")).token)
            snapshot = {s["office_id"]: s for s in (await late.call("watch_sites"))["sites"]}
            assert snapshot[hy]["state"] == "admitted" and snapshot[bg]["state"] == "waiting"
            assert snapshot[tw]["participant_id"] == lead.participant_id
            assert {"office_name", "online", "hearing_id", "since"} <= snapshot[hy].keys()

            # Leaving: out of the hearing, still online (its other connection); then offline.
            await hy_site.close()
            await wait_for(lambda: (last(operator, hy) or {}).get("hearing_id", 0) is None)
            status = last(operator, hy)
            assert status is not None and status["online"] is True and status["state"] is None
            await others[1].close()
            await wait_for(lambda: (last(operator, hy) or {}).get("online") is False)
            await bg_site.drop()
            await wait_for(lambda: (last(operator, bg) or {}).get("online") is False)
            final = last(operator, bg)
            assert final is not None and final["hearing_id"] is None and final["state"] is None
        finally:
            for site in (lead, hy_site, bg_site):
                await site.close()
            for client in (operator, province_operator, *others, *([late] if late else [])):
                await client.close()

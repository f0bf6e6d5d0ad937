"""Connectivity alerts as operators get them, from a real hub: a site in a hearing that loses its
socket raises site_offline on the operators' board at once (the `alert` event) and over the API,
and its return closes it; an invited site not connected when the hearing's attendance is checked
gets site_not_connected_at_start, closed once it connects. Both go into the session log."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from signaling.server import SIGNALING_KEY
from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Client, Rest, agent, clip, wait_for

pytestmark = pytest.mark.timeout(90)


def _alerts(operator: Client, kind: str, office_id: int) -> list[dict[str, Any]]:
    return [a for a in operator.of("alert") if a["kind"] == kind and a["office_id"] == office_id]


async def test_site_offline_and_attendance_alerts_reach_the_operators(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    # The agents' clip, encoded once, off the loop: encoding it on the loop while the operator
    # is connected would hold the loop past the heartbeat and drop the operator's socket.
    await asyncio.to_thread(clip)
    server = hub.app[SIGNALING_KEY]
    server.attendance_checks = (1.5, 6.0)  # 30 s and 5 min in production
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        offices = await rest.offices(staff)
        hy, hp = offices["HY"], offices["HP"]
        hid = await rest.schedule(staff, sites=[hy, hp], chair=leader)
        operator_user = await rest.login("operator")
        operator = await Client().connect(hub.url, operator_user.token)
        assert (await operator.call("watch_sites"))["ok"] is True
        lead = agent(hub.url, leader.token, hid)
        site = agent(hub.url, await rest.join_token(await rest.login("staff.hungyen"), hid), hid)
        late = agent(hub.url, await rest.join_token(staff, hid, hp), hid)
        try:
            await rest.call(leader, "POST", f"/api/v1/hearings/{hid}/start")
            await lead.start()
            await site.start()
            await lead.call("admit", {"participant_id": site.participant_id})

            # Hải Phòng has not connected at the first check; Hưng Yên has.
            await wait_for(
                lambda: bool(_alerts(operator, "site_not_connected_at_start", hp)),
                10,
                "the attendance alert on the board",
            )
            assert not _alerts(operator, "site_not_connected_at_start", hy)
            await late.start()
            await wait_for(
                lambda: any(
                    not a["open"] for a in _alerts(operator, "site_not_connected_at_start", hp)
                ),
                15,
                "the attendance alert closed at the next check",
            )

            # Hưng Yên's socket goes: site_offline at once, closed when it is back.
            await site.drop()
            await wait_for(
                lambda: any(a["open"] for a in _alerts(operator, "site_offline", hy)),
                10,
                "site_offline on the board",
            )
            listed = await rest.call(operator_user, "GET", "/api/v1/alerts?open=true")
            assert any(
                a["kind"] == "site_offline" and a["office_id"] == hy for a in listed["items"]
            ), listed
            back = agent(hub.url, await rest.join_token(staff, hid, hy), hid)
            await back.start()
            assert back.state == "admitted"  # its admission outlived the drop
            await wait_for(
                lambda: any(not a["open"] for a in _alerts(operator, "site_offline", hy)),
                10,
                "site_offline closed on return",
            )
            await back.close()
            log = await rest.log(staff, hid)
        finally:
            for one in (lead, site, late):
                await one.close()
            await operator.close()
    incidents = [
        (e["detail"].get("event"), e["detail"].get("alert"), e["office_id"])
        for e in log
        if e["kind"] == "connectivity"
    ]
    assert ("alert_opened", "site_offline", hy) in incidents, incidents
    assert ("alert_closed", "site_offline", hy) in incidents, incidents
    assert ("alert_opened", "site_not_connected_at_start", hp) in incidents, incidents


async def test_a_missing_camera_is_an_alert_until_it_is_back(hub_server: HubFactory) -> None:
    hub = await hub_server()
    await asyncio.to_thread(clip)
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        hy = (await rest.offices(staff))["HY"]
        hid = await rest.schedule(staff, sites=[hy], chair=leader)
        await rest.call(leader, "POST", f"/api/v1/hearings/{hid}/start")
        operator_user = await rest.login("operator")
        operator = await Client().connect(hub.url, operator_user.token)
        assert (await operator.call("watch_sites"))["ok"] is True
        lead = agent(hub.url, leader.token, hid)
        try:
            await lead.start()
            bad = {"camera": "blocked", "microphone": "ok"}
            for _ in range(3):  # reported every few seconds: one alert, not three
                assert (await lead.call("client_stats", bad))["ok"] is True
            await wait_for(
                lambda: bool(_alerts(operator, "media_device_missing", leader.office_id)),
                10,
                "media_device_missing on the board",
            )
            (opened,) = _alerts(operator, "media_device_missing", leader.office_id)
            assert opened["open"] and opened["detail"]["camera"] == "blocked"
            refused = await lead.call("client_stats", {"camera": "unplugged"})
            assert refused["ok"] is False and "camera" in refused["error"]["message"]
            good = {"camera": "ok", "microphone": "ok"}
            assert (await lead.call("client_stats", good))["ok"] is True
            await wait_for(
                lambda: len(_alerts(operator, "media_device_missing", leader.office_id)) == 2,
                10,
                "the alert closed",
            )
            assert not _alerts(operator, "media_device_missing", leader.office_id)[-1]["open"]
        finally:
            await lead.close()
            await operator.close()

"""A real hearing: the hub's measurements of each site reach the link monitor, so a site's link
report and /metrics show it graded (good, on the loopback)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Rest, agent

pytestmark = pytest.mark.timeout(90)


async def test_a_site_in_a_hearing_is_measured_graded_and_exported(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        hy = (await rest.offices(staff))["HY"]
        hid = await rest.schedule(staff, sites=[hy], chair=leader)
        await rest.call(leader, "POST", f"/api/v1/hearings/{hid}/start")
        operator = await rest.login("operator")
        lead = agent(hub.url, leader.token, hid)
        site = agent(hub.url, await rest.join_token(await rest.login("staff.hungyen"), hid), hid)
        try:
            await lead.start()
            await site.start()
            await lead.call("admit", {"participant_id": site.participant_id})
            # The site's own figures (client_stats) ride on the hub's next sample.
            own = {"candidate_type": "host", "sent_width": 640, "quality_limitation": "none"}
            assert (await site.call("client_stats", own))["ok"] is True
            report: dict[str, Any] = {}
            # The rooms measure every 3 s; the first interval ends 6 s in.
            for _ in range(60):
                report = await rest.call(operator, "GET", f"/api/v1/offices/{hy}/link?graph=false")
                if report["grade"] != "unknown" and int(report["samples"]) >= 2:
                    break
                await asyncio.sleep(0.5)
            async with session.get(f"{hub.url}/metrics") as response:
                text = await response.text()
        finally:
            await site.close()
            await lead.close()
    assert report["grade"] == "good", report
    latest = report["latest"]
    assert isinstance(latest, dict) and latest["bitrate_in_kbps"] > 0
    kept = [p for p in report["sparkline"] if p["sent_width"] == 640]
    assert kept, report["sparkline"]  # the client's figure reached the history
    assert report["sparkline"]
    grades = {
        s.labels["office_id"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "tcd_site_grade"
    }
    assert grades.get(str(hy)) == 0, grades

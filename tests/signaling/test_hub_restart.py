"""A hub restart in the middle of a hearing: every site comes back with media by itself, no
moderator admits anyone again, and the session log has each site's drop and return.

The hub is the real `tcd-hub serve` (its media on worker processes, the database gateway, the
admissions table) stopped with SIGTERM and started again on the same port; the sites are site
agents (the chair, signed in, and two offices with join tokens) that only reconnect.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from signaling.site_agent import SiteAgent, encode_clip
from tests.browser.serve import hub_settings, prepare, served
from tests.browser.sites import HubApi

pytestmark = pytest.mark.timeout(150)

SITE_CODES = ("HP", "HY")
BACK_WITHIN_S = 10.0


def _all_receive(agents: list[SiteAgent], minimum: int) -> bool:
    ids = [a.participant_id for a in agents]
    if None in ids:
        return False
    for agent in agents:
        got = agent.stats().received_video
        if any(got.get(str(other), 0) < minimum for other in ids if other != agent.participant_id):
            return False
    return True


async def _until(predicate: object, within: float, what: object) -> float:
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > within:
            said = what() if callable(what) else what
            raise AssertionError(f"not within {within} s: {said}")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def test_every_site_comes_back_by_itself_after_a_hub_restart(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "hub")
    await prepare(settings)
    clip = await asyncio.to_thread(encode_clip, 1.0)
    agents: list[SiteAgent] = []
    async with aiohttp.ClientSession() as session:
        async with served(settings, tmp_path) as hub:
            port = hub.port
            staff = HubApi(hub.url, session)
            await staff.login("staff")
            offices = await staff.offices_by_code()
            site_ids = [offices[code]["id"] for code in SITE_CODES]
            hearing_id = await staff.live_hearing(
                "Phiên khởi động lại",
                host_office_id=staff.user["office_id"],
                site_office_ids=site_ids,
            )
            leader = HubApi(hub.url, session)
            await leader.login("leader")
            chair = SiteAgent(hub.url, leader._token, hearing_id, clip=clip)
            agents.append(chair)
            for office_id in site_ids:
                token = await staff.join_token(hearing_id, office_id)
                agents.append(SiteAgent(hub.url, token, hearing_id, clip=clip))
            try:
                for agent in agents:
                    await agent.start()
                for site in agents[1:]:
                    reply = await chair.call("admit", {"participant_id": site.participant_id})
                    assert reply["ok"], reply
                await _until(lambda: _all_receive(agents, 30), 30, "media between all three")
                before = {a.participant_id for a in agents}
            except BaseException:
                for agent in agents:
                    await agent.close()
                raise
        stopped = time.monotonic()
        try:
            async with served(settings, tmp_path, port=port) as again:
                up = time.monotonic()
                back = await _until(
                    lambda: (
                        not {a.participant_id for a in agents} & before and _all_receive(agents, 15)
                    ),
                    30,
                    lambda: (
                        "every site back with media: "
                        + repr(
                            [
                                (a.participant_id, a.state, a.reconnects, a.rejoins, a.events[-6:])
                                for a in agents
                            ]
                        )
                    ),
                )
                assert all(a.state == "admitted" for a in agents), [a.state for a in agents]
                assert all(a.reconnects == 1 for a in agents), [a.reconnects for a in agents]
                print(
                    f"\nhub down for {up - stopped:.1f} s; every site back with media "
                    f"{back:.2f} s after it answered"
                )
                assert back <= BACK_WITHIN_S

                staff = HubApi(again.url, session)
                await staff.login("staff")
                log = await staff.log(hearing_id)
        finally:
            for agent in agents:
                await agent.close()
    for office_id in site_ids:
        entries = [e for e in log if e["office_id"] == office_id]
        kinds = [e["kind"] for e in entries]
        drops = [e for e in entries if e["kind"] == "participant_dropped"]
        assert [d["detail"]["reason"] for d in drops] == ["hub_stopped"], kinds
        restored = [
            e
            for e in entries
            if e["kind"] == "connectivity" and e["detail"].get("event") == "site_restored"
        ]
        assert len(restored) == 1, kinds
        outage = restored[0]["detail"]["outage_seconds"]
        assert 0 < outage <= (up - stopped) + back + 2, outage
        # Admitted once, before the restart: nobody clicked again.
        assert kinds.count("participant_admitted") == 1, kinds

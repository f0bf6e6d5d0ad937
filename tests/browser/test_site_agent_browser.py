"""A site agent (aiortc, no browser) and a browser in one hearing: media flows both ways."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from signaling.site_agent import SiteAgent, encode_clip
from tests.browser.sites import HubApi, OpenSite, frames_keep_rising
from tests.fixtures_hub import HubServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

AGENT_OFFICE = "HP"  # Hải Phòng's bridge point has no demo account: it joins with a join token
# The host office's leader: in at once, and the one who lets the agent in from the waiting room.
BROWSER_USER = "leader"


@pytest.fixture
async def agent_hearing(hub: HubServer, api: HubApi) -> AsyncIterator[tuple[int, SiteAgent]]:
    """A live hearing with the agent already in it, publishing its test pattern."""
    offices = await api.offices_by_code()
    hearing_id = await api.live_hearing(
        "Phiên có điểm cầu không dùng trình duyệt",
        host_office_id=api.user["office_id"],
        site_office_ids=[offices[AGENT_OFFICE]["id"]],
    )
    token = await api.join_token(hearing_id, offices[AGENT_OFFICE]["id"])
    # Encoding the clip takes CPU time; off the loop, which also runs the hub.
    clip = await asyncio.to_thread(encode_clip, 1.0)
    agent = SiteAgent(hub.url, token, hearing_id, clip=clip)
    await agent.start()
    try:
        yield hearing_id, agent
    finally:
        await agent.close()


async def test_agent_and_browser_receive_each_other(
    agent_hearing: tuple[int, SiteAgent], open_site: OpenSite, api: HubApi
) -> None:
    hearing_id, agent = agent_hearing
    offices = await api.offices_by_code()
    site = await open_site(BROWSER_USER)
    await site.join(hearing_id)
    agent_id = str(agent.participant_id)
    await site.admit(agent_id)

    # The browser decodes the agent's video, labelled with the agent's office.
    await site.wait_playing([agent_id])
    tiles = await site.remote_tiles()
    assert [(t["participant_id"], t["label"]) for t in tiles] == [
        (agent_id, offices[AGENT_OFFICE]["name"])
    ]
    assert not await frames_keep_rising([site], {site.username: [agent_id]})

    # The agent receives the browser's video frames, and keeps receiving them.
    browser_id = str(site.participant_id)
    for _ in range(100):
        if agent.stats().received_video.get(browser_id, 0) > 0:
            break
        await asyncio.sleep(0.1)
    before = agent.stats().received_video.get(browser_id, 0)
    await asyncio.sleep(1.0)
    after = agent.stats().received_video.get(browser_id, 0)
    assert before > 0, f"agent received no video from the browser: {agent.stats()}"
    assert after > before, f"agent's video from the browser stalled at {before} frames"

    assert not site.console_errors, site.console_errors

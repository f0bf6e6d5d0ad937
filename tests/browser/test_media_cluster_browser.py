"""Issue 8's must-show: two `tcd-hub serve` nodes, a redis-server and two `tcd-hub media-worker`
processes on loopback. A site agent on node A and the leader in Chromium on node B share one
hearing with media both ways; kill -9 of the worker holding the room brings both back with
media within 10 s, with no admission click, and the session log says what happened."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from playwright.async_api import Browser

from rooms.channel import PREFIX
from signaling.site_agent import SiteAgent, encode_clip
from tests.browser.serve import hub_settings, prepare, served
from tests.browser.sites import HubApi, SitePage, frames_keep_rising
from tests.fixtures_hub import HubServer
from tests.fixtures_media import media_workers

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

AGENT_OFFICE = "HP"  # joins with a join token (no demo account), from the waiting room
RECOVERY_LIMIT_S = 10.0


@dataclass
class Cluster:
    """Two nodes over one database and one Redis, and the media workers by id."""

    node_a: HubServer
    node_b: HubServer
    redis_url: str
    workers: dict[str, asyncio.subprocess.Process]


@pytest.fixture
async def cluster(tmp_path: Path, redis_server: str) -> AsyncIterator[Cluster]:
    # A database of its own on the session's redis-server: no placement left by other tests.
    redis_url = redis_server.rsplit("/", 1)[0] + "/7"
    settings = hub_settings(tmp_path / "hub")
    await prepare(settings)
    # The nodes forward nothing themselves: every room goes to a worker registered in Redis.
    env = {"TCD_REDIS_URL": redis_url, "TCD_MEDIA_WORKERS": "0", "TCD_MEDIA_REMOTE": "1"}
    names = [f"browser-{os.getpid()}-a", f"browser-{os.getpid()}-b"]
    async with (
        media_workers(redis_url, names) as workers,
        served(settings, tmp_path, env=env) as node_a,
        served(settings, tmp_path, env=env) as node_b,
    ):
        yield Cluster(node_a, node_b, redis_url, workers)


async def _holder(redis_url: str, hearing_id: int, within: float = 10.0) -> str:
    """The worker the cluster's placement map gives the hearing to."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            holder = await client.get(f"{PREFIX}placement:{hearing_id}")
            if holder:
                return str(holder)
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()
    raise AssertionError(f"hearing {hearing_id} was never placed on a worker")


async def _agent_frames_rise(agent: SiteAgent, from_id: str, interval: float = 1.0) -> None:
    before = agent.stats().received_video.get(from_id, 0)
    await asyncio.sleep(interval)
    after = agent.stats().received_video.get(from_id, 0)
    assert after > before > 0, f"agent's video from {from_id}: {before} -> {after} frames"


async def _both_ways(leader: SitePage, agent: SiteAgent) -> bool:
    """True when the leader's page decodes the agent's current participant and the agent
    receives the leader's current participant (both ids as they are now)."""
    leader_id = await leader.page.get_attribute("#local-tile", "data-participant-id")
    agent_id = agent.participant_id
    if not leader_id or not agent_id:
        return False
    counts = await leader.frame_counts()
    return counts.get(agent_id, 0) > 0 and agent.stats().received_video.get(leader_id, 0) > 0


async def test_leader_in_chromium_and_agent_on_two_nodes_survive_a_worker_kill(
    cluster: Cluster, chromium: Browser
) -> None:
    async with aiohttp.ClientSession() as session:
        api = HubApi(cluster.node_a.url, session)
        await api.login("staff")
        offices = await api.offices_by_code()
        hearing_id = await api.live_hearing(
            "Phiên hai nút, hai tiến trình media",
            host_office_id=api.user["office_id"],
            site_office_ids=[offices[AGENT_OFFICE]["id"]],
        )
        token = await api.join_token(hearing_id, offices[AGENT_OFFICE]["id"])
        clip = await asyncio.to_thread(encode_clip, 1.0)
        agent = SiteAgent(cluster.node_a.url, token, hearing_id, clip=clip)
        leader = await SitePage.open(chromium, cluster.node_b.url, "leader")
        try:
            await agent.start()
            await leader.join(hearing_id)
            agent_id = str(agent.participant_id)
            await leader.admit(agent_id)

            # Media both ways: the page decodes the agent, the agent gets the leader's video.
            await leader.wait_playing([agent_id])
            assert not await frames_keep_rising([leader], {leader.username: [agent_id]})
            leader_id = str(leader.participant_id)
            for _ in range(100):
                if agent.stats().received_video.get(leader_id, 0) > 0:
                    break
                await asyncio.sleep(0.1)
            await _agent_frames_rise(agent, leader_id)

            holder = await _holder(cluster.redis_url, hearing_id)
            assert holder in cluster.workers, (holder, list(cluster.workers))
            os.kill(cluster.workers[holder].pid, signal.SIGKILL)
            killed = time.monotonic()

            # Both rejoin by themselves (new participant ids, admission kept): no click here.
            recovered = None
            while time.monotonic() - killed < RECOVERY_LIMIT_S:
                moved = agent.participant_id != agent_id and (
                    await leader.page.get_attribute("#local-tile", "data-participant-id")
                    != leader_id
                )
                if moved and await _both_ways(leader, agent):
                    recovered = time.monotonic() - killed
                    break
                await asyncio.sleep(0.1)
            tiles = await leader.remote_tiles()
            assert recovered is not None, (
                f"no media both ways {RECOVERY_LIMIT_S} s after kill -9 of {holder}: "
                f"agent {agent.participant_id} {agent.stats()}, leader tiles {tiles}"
            )
            new_agent_id = str(agent.participant_id)
            new_leader_id = str(
                await leader.page.get_attribute("#local-tile", "data-participant-id")
            )
            assert agent.state == "admitted"
            assert await leader.page.get_attribute("#hearing", "data-state") == "joined"
            assert not await frames_keep_rising([leader], {leader.username: [new_agent_id]})
            await _agent_frames_rise(agent, new_leader_id)
            assert await _holder(cluster.redis_url, hearing_id) != holder

            # The session log, as staff read it over the API from the other node.
            reader = HubApi(cluster.node_b.url, session)
            await reader.login("staff")
            events: list[dict[str, object]] = []
            for _ in range(50):
                log = await reader.log(hearing_id)
                events = [e["detail"] for e in log if e["kind"] == "connectivity"]
                if any(e.get("event") == "media_restored" for e in events):
                    break
                await asyncio.sleep(0.1)
            lost = [e for e in events if e.get("event") == "media_worker_lost"]
            assert len(lost) == 1 and lost[0]["worker_id"] == holder, events
            assert any(
                e.get("event") == "media_restored" and e.get("from") == holder for e in events
            ), events
            assert not leader.console_errors, leader.console_errors
            print(
                f"browser cluster: media back both ways {recovered:.2f} s after kill -9 of {holder}"
            )
        finally:
            await agent.close()
            await leader.close()

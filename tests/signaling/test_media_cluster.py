"""Two hub nodes sharing a real redis-server and two `tcd-hub media-worker` processes: a site
on node A and a site on node B share one hearing's room; kill -9 of the worker holding it
brings both back with media, and the log records the outage and the return."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from hub.config import Settings
from rooms.remote import WorkerBackend
from signaling.server import SIGNALING_KEY, setup_signaling
from signaling.site_agent import SiteAgent
from tests.fixtures_media import media_workers
from tests.signaling.conftest import FakeGateway, Hub
from tests.signaling.test_media_exchange import clip
from tests.signaling.test_media_workers import receives, wait_for


async def _node(gateway: FakeGateway, settings: Settings) -> tuple[Hub, web.AppRunner]:
    app = web.Application()
    setup_signaling(app, settings, gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return Hub(f"http://127.0.0.1:{port}", gateway, app, settings), runner


@pytest.fixture
async def cluster(
    gateway: FakeGateway, redis_server: str
) -> AsyncIterator[tuple[Hub, Hub, dict[str, asyncio.subprocess.Process]]]:
    settings = Settings(ice_announced_ips=("127.0.0.1",), redis_url=redis_server, media_remote=True)
    names = [f"cluster-{os.getpid()}-a", f"cluster-{os.getpid()}-b"]
    async with media_workers(redis_server, names) as workers:
        # Both nodes see the same hearings and write one log (one database in real life).
        node_a, runner_a = await _node(gateway, settings)
        node_b, runner_b = await _node(gateway, dataclasses.replace(settings))
        try:
            yield node_a, node_b, workers
        finally:
            await runner_a.cleanup()
            await runner_b.cleanup()


async def test_two_nodes_share_a_room_and_survive_a_worker_kill(
    cluster: tuple[Hub, Hub, dict[str, asyncio.subprocess.Process]],
) -> None:
    node_a, node_b, workers = cluster
    backend_a = node_a.app[SIGNALING_KEY].rooms
    backend_b = node_b.app[SIGNALING_KEY].rooms
    assert isinstance(backend_a, WorkerBackend) and isinstance(backend_b, WorkerBackend)
    await wait_for(lambda: set(workers) <= set(backend_a.channel_workers), 30, "workers up")
    chair = SiteAgent(node_a.url, "site1", 1, clip=clip())
    site = SiteAgent(node_b.url, "site2", 1, clip=clip())
    try:
        await chair.start()
        await site.start()
        assert site.state == "waiting"
        # The chair on node A admits a site connected to node B.
        assert (await chair.call("admit", {"participant_id": site.participant_id}))["ok"]
        await wait_for(
            lambda: receives(chair, site, 30) and receives(site, chair, 30), 15, "media both ways"
        )
        room_a, room_b = backend_a.get(1), backend_b.get(1)
        assert room_a is not None and room_b is not None
        holder = room_a.worker_id  # type: ignore[attr-defined]
        assert holder == room_b.worker_id  # type: ignore[attr-defined]
        os.kill(workers[holder].pid, signal.SIGKILL)
        old = (chair.participant_id, site.participant_id)
        took = await wait_for(
            lambda: (
                chair.participant_id != old[0]
                and site.participant_id != old[1]
                and receives(chair, site, 15)
                and receives(site, chair, 15)
            ),
            10,
            "both sites receive each other again after the kill",
        )
        assert site.state == "admitted"
        log = [r["detail"] for r in node_a.gateway.records if r["kind"] == "connectivity"]
        assert [d["event"] for d in log].count("media_worker_lost") == 1, log
        assert log[0]["worker_id"] == holder
        assert any(d["event"] == "media_restored" and d["from"] == holder for d in log), log
        print(f"two nodes: media back {took:.2f} s after kill -9 of {holder}")
    finally:
        await chair.close()
        await site.close()

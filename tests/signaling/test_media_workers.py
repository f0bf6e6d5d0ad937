"""Rooms on media worker processes: a hub with two local workers forwards between site agents,
and when the worker holding the room is killed (-9) the sites come back by themselves."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.config import Settings
from rooms.remote import RemoteRoom, WorkerBackend
from signaling.server import SIGNALING_KEY
from signaling.site_agent import SiteAgent
from tests.signaling.conftest import Hub
from tests.signaling.test_media_exchange import clip


@pytest.fixture
def settings() -> Settings:
    return Settings(ice_announced_ips=("127.0.0.1",), media_workers=2)


async def wait_for(predicate: Callable[[], bool], within: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def receives(agent: SiteAgent, other: SiteAgent, minimum: int) -> bool:
    return agent.stats().received_video.get(str(other.participant_id), 0) >= minimum


async def test_two_workers_forward_and_a_killed_worker_is_replaced(hub: Hub) -> None:
    backend = hub.app[SIGNALING_KEY].rooms
    assert isinstance(backend, WorkerBackend)
    await wait_for(lambda: len(backend.channel_workers) == 2, 30, "both workers reporting")
    chair, site = (
        SiteAgent(hub.url, "site1", 1, clip=clip()),
        SiteAgent(hub.url, "site2", 1, clip=clip()),
    )
    try:
        await chair.start()
        await site.start()
        assert site.state == "waiting"
        assert (await chair.call("admit", {"participant_id": site.participant_id}))["ok"]
        await wait_for(
            lambda: receives(chair, site, 30) and receives(site, chair, 30), 15, "media both ways"
        )
        room = backend.get(1)
        assert isinstance(room, RemoteRoom)
        holder = room.worker_id
        process = backend.local.processes[holder] if backend.local else None
        assert process is not None and process.returncode is None
        os.kill(process.pid, signal.SIGKILL)

        old = (chair.participant_id, site.participant_id)
        took = await wait_for(
            lambda: (
                chair.participant_id not in old[:1]
                and site.participant_id not in old[1:]
                and receives(chair, site, 15)
                and receives(site, chair, 15)
            ),
            10,
            "both sites receive each other again after the kill",
        )
        assert chair.rejoins == 1 and site.rejoins == 1
        # Back without a moderator: the admission outlived the worker.
        assert site.state == "admitted"
        assert next(d for e, d in site.events if e == "media_moved")["hearing_id"] == 1
        moved = backend.get(1)
        assert moved is not None and moved.worker_id != holder
        log = [r for r in hub.gateway.records if r["kind"] == "connectivity"]
        events = [r["detail"]["event"] for r in log]
        assert events == ["media_worker_lost", "media_restored"], log
        assert log[0]["detail"]["worker_id"] == holder
        assert log[1]["detail"]["worker_id"] == moved.worker_id
        print(f"media back on both sites {took:.2f} s after kill -9 of {holder}")
    finally:
        await chair.close()
        await site.close()


def _nice_of(pid: int) -> int:
    # /proc/<pid>/stat: field 19 is the nice value (the command name, field 2, may hold spaces).
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return int(fields[16])


def _argv_of(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


async def test_workers_run_at_their_nice_value_and_the_hubs_log_level(hub: Hub) -> None:
    backend = hub.app[SIGNALING_KEY].rooms
    assert isinstance(backend, WorkerBackend) and backend.local is not None
    await wait_for(lambda: len(backend.channel_workers) == 2, 30, "both workers reporting")
    target = hub.app[SIGNALING_KEY].settings.media_worker_nice
    allowed = os.geteuid() == 0  # CI and this machine run as root; otherwise nice stays put
    for process in backend.local.processes.values():
        assert process.returncode is None
        assert _nice_of(process.pid) == (target if allowed else os.getpriority(os.PRIO_PROCESS, 0))
        argv = _argv_of(process.pid)
        assert argv[argv.index(b"--log-level") + 1] == b"INFO"

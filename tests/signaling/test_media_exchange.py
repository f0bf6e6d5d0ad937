"""Site agents in one room exchange real frames through the hub, forwarded without decoding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any as Hub

import pytest

from rooms import aiortc_internals, fanout
from signaling.server import SIGNALING_KEY
from signaling.site_agent import EncodedClip, SiteAgent, encode_clip

_CLIP: EncodedClip | None = None


def clip() -> EncodedClip:
    global _CLIP
    if _CLIP is None:
        _CLIP = encode_clip(seconds=1.0)
    return _CLIP


async def wait_for(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture(params=["compiled", "python-intake", "python"])
def fanout_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Packet forwarding through the compiled fan-out (rooms/_fanout.so, which `make test`
    builds) with the compiled intake (rooms/intake.c) or with Python's (TCD_INTAKE=python),
    and through the pure-Python fallback."""
    monkeypatch.setattr(aiortc_internals, "COMPILED_INTAKE", request.param == "compiled")
    if request.param == "python":
        monkeypatch.setattr(fanout, "LIBRARY", None)
    else:
        monkeypatch.setattr(fanout, "LIBRARY", fanout.load())
    return str(request.param)


async def test_three_sites_see_each_other_and_a_leaver_goes(hub: Hub, fanout_path: str) -> None:
    agents = [SiteAgent(hub.url, f"site{i}", 1, clip=clip()) for i in (1, 2, 3)]
    try:
        for agent in agents:
            await agent.start()
        # site1 leads the host office; the others wait until it admits them.
        assert [a.state for a in agents] == ["admitted", "waiting", "waiting"]
        for agent in agents[1:]:
            assert (await agents[0].call("admit", {"participant_id": agent.participant_id}))["ok"]

        def everyone_receives(minimum: int) -> bool:
            for agent in agents:
                stats = agent.stats()
                others = [a.participant_id for a in agents if a is not agent]
                if any(stats.received_video.get(str(p), 0) < minimum for p in others):
                    return False
            return True

        await wait_for(lambda: everyone_receives(30), within=15)
        forwarding = [f for r in hub.app[SIGNALING_KEY].rooms.stats().rooms for f in r.forwarding]
        assert len(forwarding) == 3 * 2 * 2  # each site's audio and video to the two others
        assert all(f.fanned_out == (fanout_path != "python") for f in forwarding), forwarding
        rooms = hub.app[SIGNALING_KEY].rooms

        def video_packets() -> tuple[int, int]:
            """Video packets received and, of those, taken in C (audio is Python's)."""
            video = [p for r in rooms.stats().rooms for p in r.publications if p.kind == "video"]
            return sum(p.packets_received for p in video), sum(p.packets_compiled for p in video)

        first = video_packets()
        await asyncio.sleep(1.0)
        last = video_packets()
        received, compiled = last[0] - first[0], last[1] - first[1]
        if fanout_path == "compiled":
            # Once every subscriber is fanned out, most video packets never reach Python (one
            # every RX_INTERVAL does, for route checks and sender reports; so do those around
            # a loss).
            assert compiled > 0.8 * received > 0, (compiled, received)
        else:
            assert compiled == 0 < received, (compiled, received)
        kinds = hub.gateway.kinds()
        assert kinds.count("participant_joined") == 3
        assert kinds.count("participant_admitted") == 2
        assert kinds.count("media_started") == 3

        leaver = agents.pop()
        await leaver.close()
        await wait_for(
            lambda: all(
                any(
                    e == "participant_left" and d["participant_id"] == leaver.participant_id
                    for e, d in a.events
                )
                for a in agents
            )
        )
        assert "participant_left" in hub.gateway.kinds()
        # The two remaining sites keep receiving each other.
        before = [a.stats().received_video.copy() for a in agents]
        await asyncio.sleep(1.0)
        after = [a.stats().received_video for a in agents]
        for agent, b, a in zip(agents, before, after, strict=True):
            other = next(x for x in agents if x is not agent).participant_id
            assert a[str(other)] > b.get(str(other), 0) + 15
    finally:
        for agent in agents:
            await agent.close()
    server = hub.app[SIGNALING_KEY]
    await wait_for(lambda: len(server.rooms) == 0)

"""A site on a network of its own (tests.fixtures_netns), cut for real: the others see it drop
within 5 s, it comes back by itself with media within 5 s of the network's return, without a
moderator admitting it again, and the session log has the drop and the return with their times.

The hub runs in this process on the machine's end of the site's veth pair (it announces that
address in its ICE candidates), the chair is a site agent here too, and the site is `tcd-hub
site` started inside the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from hub.config import Settings
from signaling.server import SIGNALING_KEY, setup_signaling
from signaling.site_agent import SiteAgent
from tests.fixtures_netns import SiteNetwork, site_network
from tests.signaling.conftest import FakeGateway, Hub
from tests.signaling.test_media_exchange import clip

pytestmark = pytest.mark.timeout(120)

SITE_OFFICE = 2


@pytest.fixture
def network() -> Iterator[SiteNetwork]:
    with site_network() as made:
        yield made


@pytest.fixture
async def hub(gateway: FakeGateway, network: SiteNetwork) -> AsyncIterator[Hub]:
    settings = Settings(ice_announced_ips=(network.host_ip,))
    app = web.Application()
    setup_signaling(app, settings, gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, network.host_ip, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Hub(f"http://{network.host_ip}:{port}", gateway, app, settings)
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def site_in(network: SiteNetwork, hub: Hub, token: str) -> Iterator[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "hub.cli", "site", "--hub", hub.url, "--token", token]
    argv += ["--hearing", "1", "--seconds", "110", "--ice-ip", network.site_ip]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        network.command(argv),
        env=env,
        stdout=open("/tmp/site-agent.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait()


async def until(predicate: Callable[[], Any], within: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def site_participant(chair: SiteAgent) -> str | None:
    for pid, described in chair.participants.items():
        if described.get("office_id") == SITE_OFFICE:
            return pid
    return None


def frames_from(chair: SiteAgent, pid: str | None) -> int:
    return chair.stats().received_video.get(str(pid), 0) if pid else 0


async def admitted_and_playing(chair: SiteAgent, frames: int = 30) -> str:
    """The namespaced site's participant, once in the waiting room, admitted by the chair and
    sending it `frames` frames."""
    await until(lambda: site_participant(chair), 30, "the site in the waiting room")
    first = str(site_participant(chair))
    assert (await chair.call("admit", {"participant_id": first}))["ok"]
    await until(lambda: frames_from(chair, first) >= frames, 20, "the site's media")
    return first


async def told_dropped(chair: SiteAgent, participant_id: str, within: float) -> float:
    """Seconds until the chair hears the participant left."""
    return await until(
        lambda: any(
            e == "participant_left" and d.get("participant_id") == participant_id
            for e, d in chair.events
        ),
        within,
        "the chair told the site dropped",
    )


async def back_with_media(chair: SiteAgent, old: str, within: float) -> float:
    """Seconds until the site is back as a new participant sending the chair frames."""
    return await until(
        lambda: (
            (pid := site_participant(chair)) is not None
            and pid != old
            and frames_from(chair, pid) >= 15
        ),
        within,
        "media from the site again",
    )


async def test_a_cut_site_is_seen_dropped_and_comes_back_by_itself(
    hub: Hub, network: SiteNetwork
) -> None:
    server = hub.app[SIGNALING_KEY]
    chair = SiteAgent(hub.url, "site1", 1, clip=clip(), ice_ips=(network.host_ip,))
    await chair.start()
    try:
        with site_in(network, hub, f"site{SITE_OFFICE}"):
            first = await admitted_and_playing(chair)

            network.cut()
            cut_at = time.monotonic()
            seen = await told_dropped(chair, first, 8)
            left = next(
                d
                for e, d in chair.events
                if e == "participant_left" and d["participant_id"] == first
            )
            assert left["reason"] == "dropped"
            board = await server.presence.snapshot("/1/")
            status = next(s for s in board if s["office_id"] == SITE_OFFICE)
            assert status["state"] != "in_hearing", status
            await asyncio.sleep(max(0.0, 10 - (time.monotonic() - cut_at)))

            network.restore()
            back = await back_with_media(chair, first, 15)
            again = site_participant(chair)
            assert chair.participants[str(again)]["state"] == "admitted"  # nobody admitted it
            print(f"\ndrop seen after {seen:.2f} s; media back {back:.2f} s after the link")
            assert seen <= 5.0, f"the drop took {seen:.2f} s to be seen"
            assert back <= 5.0, f"media came back {back:.2f} s after the link did"

            site_log = [r for r in hub.gateway.records if r["office_id"] == SITE_OFFICE]
            kinds = [r["kind"] for r in site_log]
            assert "participant_dropped" in kinds, kinds
            restored = [
                r
                for r in site_log
                if r["kind"] == "connectivity" and r["detail"].get("event") == "site_restored"
            ]
            assert len(restored) == 1, site_log
            dropped = next(r for r in site_log if r["kind"] == "participant_dropped")
            assert restored[0]["detail"]["dropped_at"] == pytest.approx(
                dropped["detail"]["at"], abs=0.5
            )
            # From the drop the hub saw (seen s after the cut) to the return (10 s + back).
            outage = restored[0]["detail"]["outage_seconds"]
            assert 10 - seen - 1 <= outage <= 10 - seen + back + 1, (outage, seen, back)
    finally:
        await chair.close()


async def test_a_site_whose_udp_dies_under_a_live_socket_heals_when_it_returns(
    hub: Hub, network: SiteNetwork
) -> None:
    """Only UDP dies (a firewall change, say): the socket holds, so only the hub's ear on the
    media tells. The site is dropped within seconds and told to reconnect its media; it tries
    until UDP is back, then plays again, still admitted."""
    chair = SiteAgent(hub.url, "site1", 1, clip=clip(), ice_ips=(network.host_ip,))
    await chair.start()
    try:
        with site_in(network, hub, f"site{SITE_OFFICE}"):
            first = await admitted_and_playing(chair)

            network.block_udp()
            seen = await told_dropped(chair, first, 10)
            # Silent for 1.5 s, the site was marked reconnecting before it was dropped.
            link = [d for e, d in chair.events if e == "participant_link"]
            assert {"participant_id": first, "state": "reconnecting"} in link, chair.events
            await asyncio.sleep(12)  # the rejoined site cannot connect either: dropped again
            network.loss(0)
            back = await back_with_media(chair, first, 25)
            again = site_participant(chair)
            assert chair.participants[str(again)]["state"] == "admitted"
            print(f"\nUDP loss seen after {seen:.2f} s; media back {back:.2f} s after UDP")
            assert seen <= 8.0, f"the media loss took {seen:.2f} s to be seen"
    finally:
        await chair.close()

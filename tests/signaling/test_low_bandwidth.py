"""Low-bandwidth mode switched by hand: the chair (or an operator from the board) puts a site in
it, and the hub stops forwarding every video but the spotlit site's to it while audio goes on;
switched off, full video comes back. Everyone is told, a late joiner sees it in the list, the
session log keeps both. In-process rooms and rooms on two media workers alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.config import Settings
from signaling.site_agent import SiteAgent
from tests.signaling.conftest import FakeGateway, Hub
from tests.signaling.live_hub import Client, error_code
from tests.signaling.test_media_exchange import clip
from tests.signaling.test_media_workers import wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=[0, 2], ids=["in-process", "media-workers"])
def settings(request: pytest.FixtureRequest) -> Settings:
    return Settings(ice_announced_ips=("127.0.0.1",), media_workers=request.param)


@pytest.fixture
async def sites(hub: Hub, gateway: FakeGateway) -> AsyncIterator[list[SiteAgent]]:
    """site1 (the host office's leader, a moderator) and sites 2 and 3, admitted, media
    flowing between all three."""
    agents = [SiteAgent(hub.url, f"site{i}", 1, clip=clip()) for i in (1, 2, 3)]
    try:
        for agent in agents:
            await agent.start()
        for agent in agents[1:]:
            assert (await agents[0].call("admit", {"participant_id": agent.participant_id}))["ok"]
        await wait_for(
            lambda: all(video(a, b) >= 20 for a in agents for b in agents if a is not b),
            30,
            "every site's video at every other",
        )
        yield agents
    finally:
        for agent in agents:
            await agent.close()


def video(at: SiteAgent, of: SiteAgent) -> int:
    return at.stats().received_video.get(str(of.participant_id), 0)


def audio(at: SiteAgent, of: SiteAgent) -> int:
    return at.stats().received_audio.get(str(of.participant_id), 0)


async def growth(at: SiteAgent, others: list[SiteAgent], seconds: float) -> dict[str, int]:
    """Video and audio frames `at` received from each of `others` over `seconds`."""
    before = {o.participant_id: (video(at, o), audio(at, o)) for o in others}
    await asyncio.sleep(seconds)
    grown: dict[str, int] = {}
    for o in others:
        v, a = before[o.participant_id]
        grown[f"video:{o.participant_id}"] = video(at, o) - v
        grown[f"audio:{o.participant_id}"] = audio(at, o) - a
    return grown


def modes(agent: SiteAgent) -> list[dict[str, object]]:
    return agent.received_of("participant_mode")


async def test_the_chair_switches_a_site_to_audio_and_the_spotlit_video_and_back(
    hub: Hub, sites: list[SiteAgent]
) -> None:
    chair, thin, spotlit = sites
    assert (await chair.call("spotlight", {"participant_id": spotlit.participant_id}))["ok"]
    # Not a moderator: refused by name.
    refused = await spotlit.call(
        "low_bandwidth", {"participant_id": thin.participant_id, "on": True}
    )
    assert error_code(refused) == "forbidden"

    ack = await chair.call("low_bandwidth", {"participant_id": thin.participant_id, "on": True})
    assert ack["ok"], ack
    told = {"participant_id": thin.participant_id, "low_bandwidth": True, "reason": "moderator"}
    for agent in sites:
        await wait_for(lambda a=agent: told in modes(a), 5, "participant_mode at every site")
    await asyncio.sleep(1.5)  # the offer that empties its other video slots, and its answer
    grown = await growth(thin, [chair, spotlit], 3.0)
    assert grown[f"video:{chair.participant_id}"] == 0, grown
    assert grown[f"video:{spotlit.participant_id}"] >= 45, grown  # 30 fps for 3 s
    assert grown[f"audio:{chair.participant_id}"] >= 75, grown  # 50 frames/s for 3 s
    assert grown[f"audio:{spotlit.participant_id}"] >= 75, grown
    # Nobody else is touched: the others still receive each other and the thin site.
    others = await growth(spotlit, [chair, thin], 2.0)
    assert min(others[f"video:{p.participant_id}"] for p in (chair, thin)) >= 30, others

    # The spotlight moves to the chair: the thin site now gets the chair's video instead.
    assert (await chair.call("spotlight", {"participant_id": chair.participant_id}))["ok"]
    await asyncio.sleep(1.5)
    grown = await growth(thin, [chair, spotlit], 2.0)
    assert grown[f"video:{spotlit.participant_id}"] == 0, grown
    assert grown[f"video:{chair.participant_id}"] >= 30, grown

    # A late joiner sees the mode in the participant list.
    late = SiteAgent(hub.url, "site4", 1, clip=clip())
    try:
        await late.start()
        assert late.participants[str(thin.participant_id)]["low_bandwidth"] is True
        assert late.participants[str(chair.participant_id)]["low_bandwidth"] is False
    finally:
        await late.close()

    stopped = video(thin, spotlit)  # not spotlit any more: frozen at this count
    ack = await chair.call("low_bandwidth", {"participant_id": thin.participant_id, "on": False})
    assert ack["ok"], ack
    back = {"participant_id": thin.participant_id, "low_bandwidth": False, "reason": "moderator"}
    await wait_for(lambda: back in modes(spotlit), 5, "participant_mode off at the others")
    took = await wait_for(lambda: video(thin, spotlit) > stopped, 10, "full video again")
    grown = await growth(thin, [chair, spotlit], 2.0)
    assert min(grown[f"video:{p.participant_id}"] for p in (chair, spotlit)) >= 30, grown
    print(f"\nfull video back {took:.2f} s after the switch off")

    entries = [
        r["detail"]
        for r in hub.gateway.records
        if r["kind"] == "connectivity" and str(r["detail"].get("event")).startswith("low_")
    ]
    assert [(e["event"], e["reason"]) for e in entries] == [
        ("low_bandwidth_on", "moderator"),
        ("low_bandwidth_off", "moderator"),
    ], entries
    assert all(e["participant_id"] == thin.participant_id for e in entries)
    assert all(e["by_participant_id"] == chair.participant_id for e in entries)


async def test_an_operator_switches_a_site_on_its_board(
    hub: Hub, gateway: FakeGateway, sites: list[SiteAgent]
) -> None:
    chair, thin, _third = sites
    gateway.add_site("operator", 1, role="operator")
    gateway.add_site("operator3", 3, role="operator")
    operator = await Client().connect(hub.url, "operator")
    elsewhere = await Client().connect(hub.url, "operator3")
    try:
        for client in (operator, elsewhere):
            assert (await client.call("watch_sites"))["ok"]
        switch = {"hearing_id": 1, "participant_id": thin.participant_id, "on": True}
        # Office 3's operator does not see office 2 on its board.
        assert error_code(await elsewhere.call("low_bandwidth", switch)) == "not_found"
        assert (
            error_code(await operator.call("low_bandwidth", {**switch, "hearing_id": None}))
            == "invalid_message"
        )
        assert (await operator.call("low_bandwidth", switch))["ok"]
        told = {"participant_id": thin.participant_id, "low_bandwidth": True, "reason": "operator"}
        await wait_for(lambda: told in modes(chair), 5, "participant_mode at the chair")
        await asyncio.sleep(1.5)
        grown = await growth(thin, [chair], 2.0)
        assert grown[f"video:{chair.participant_id}"] == 0, grown  # nobody spotlit: audio only
        assert grown[f"audio:{chair.participant_id}"] >= 50, grown
        assert (await operator.call("low_bandwidth", {**switch, "on": False}))["ok"]
        await wait_for(
            lambda: any(m["low_bandwidth"] is False for m in modes(chair)),
            5,
            "participant_mode off",
        )
        start = video(thin, chair)
        await wait_for(lambda: video(thin, chair) >= start + 30, 10, "the chair's video again")
        entry = next(
            r
            for r in hub.gateway.records
            if r["kind"] == "connectivity" and r["detail"].get("event") == "low_bandwidth_on"
        )
        assert entry["detail"]["reason"] == "operator" and entry["office_id"] == 2
    finally:
        await operator.close()
        await elsewhere.close()

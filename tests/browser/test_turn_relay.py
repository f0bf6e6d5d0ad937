"""Media through a real TURN server: a browser allowed relay candidates only still sees the
hearing, with the TURN server and its credential coming from the hub's settings (coturn)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from signaling.site_agent import SiteAgent, encode_clip
from tests.browser.sites import HubApi, OpenSite, SitePage, frames_keep_rising
from tests.browser.turn import TurnServer, turn_server
from tests.fixtures_hub import HubFactory, HubServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

__all__ = ["turn_server"]  # the fixture, imported for the tests below

AGENT_OFFICE = "HP"  # no demo account: joins with a join token, as a site agent does
BROWSER_USER = "leader"  # the host office's leader: in at once, lets the agent in

# Runs before the page's own scripts: every RTCPeerConnection the page creates is forced to
# gather relay candidates only (what a site behind a firewall that allows only the TURN server
# gets), and is kept, with the ICE servers the page asked for, for the test to inspect.
RELAY_ONLY_JS = """(() => {
  const Native = window.RTCPeerConnection;
  window.tcdTest = { peers: [], iceServers: [] };
  class RelayOnlyPeerConnection extends Native {
    constructor(config = {}, ...rest) {
      super({ ...config, iceTransportPolicy: "relay" }, ...rest);
      window.tcdTest.peers.push(this);
      window.tcdTest.iceServers.push(JSON.parse(JSON.stringify(config.iceServers ?? [])));
    }
  }
  window.RTCPeerConnection = RelayOnlyPeerConnection;
})();"""

# The page's live peer connection: its policy, its selected candidate pair and both candidates,
# every local candidate it gathered, and what the page configured.
_SELECTED_PAIR_JS = """async () => {
  const pc = window.tcdTest.peers.filter((p) => p.connectionState !== "closed").at(-1);
  if (!pc) return null;
  const stats = [...(await pc.getStats()).values()];
  const byId = new Map(stats.map((s) => [s.id, s]));
  const transport = stats.find((s) => s.type === "transport" && s.selectedCandidatePairId);
  const pair = transport ? byId.get(transport.selectedCandidatePairId) : null;
  const pick = (c) => c && {
    type: c.candidateType, address: c.address, port: c.port, protocol: c.protocol,
    relayProtocol: c.relayProtocol ?? null, url: c.url ?? null,
  };
  return {
    policy: pc.getConfiguration().iceTransportPolicy,
    connectionState: pc.connectionState,
    iceServers: window.tcdTest.iceServers,
    pageIceServers: JSON.parse(document.getElementById("hearing").dataset.iceServers || "[]"),
    pair: pair && {
      state: pair.state, nominated: pair.nominated,
      bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
      local: pick(byId.get(pair.localCandidateId)),
      remote: pick(byId.get(pair.remoteCandidateId)),
    },
    localTypes: stats.filter((s) => s.type === "local-candidate").map((s) => s.candidateType),
  };
}"""


@pytest.fixture
async def hub(hub_server: HubFactory, turn_server: TurnServer) -> HubServer:
    """The hub configured with the coturn server and its credential (as TCD_ICE_SERVERS,
    TCD_TURN_USERNAME and TCD_TURN_PASSWORD would); replaces the browser tests' plain hub."""
    return await hub_server(
        ice_servers=(turn_server.url,),
        turn_username=turn_server.username,
        turn_password=turn_server.password,
    )


@pytest.fixture
async def agent_hearing(hub: HubServer, api: HubApi) -> AsyncIterator[tuple[int, SiteAgent]]:
    """A live hearing with a site agent (aiortc, host candidates) in it, publishing."""
    offices = await api.offices_by_code()
    hearing_id = await api.live_hearing(
        "Phiên qua máy chủ TURN",
        host_office_id=api.user["office_id"],
        site_office_ids=[offices[AGENT_OFFICE]["id"]],
    )
    token = await api.join_token(hearing_id, offices[AGENT_OFFICE]["id"])
    clip = await asyncio.to_thread(encode_clip, 1.0)
    agent = SiteAgent(hub.url, token, hearing_id, clip=clip)
    await agent.start()
    try:
        yield hearing_id, agent
    finally:
        await agent.close()


async def _selected_pair(site: SitePage, timeout_s: float = 10.0) -> dict[str, Any]:
    """The page's connection stats once a candidate pair is selected and has carried media."""
    deadline = time.monotonic() + timeout_s
    info: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        info = await site.page.evaluate(_SELECTED_PAIR_JS)
        pair = info and info["pair"]
        if pair and pair["state"] == "succeeded" and pair["bytesReceived"] > 0:
            return info
        await asyncio.sleep(0.2)
    raise AssertionError(f"no selected candidate pair carrying media after {timeout_s} s: {info}")


async def test_relay_only_browser_gets_media_through_coturn(
    turn_server: TurnServer,
    hub: HubServer,
    agent_hearing: tuple[int, SiteAgent],
    open_site: OpenSite,
) -> None:
    hearing_id, agent = agent_hearing
    site = await open_site(BROWSER_USER)
    await site.context.add_init_script(RELAY_ONLY_JS)
    await site.join(hearing_id)
    agent_id = str(agent.participant_id)
    await site.admit(agent_id)

    # The relay-only browser decodes the agent's video, and keeps decoding it.
    await site.wait_playing([agent_id], timeout_ms=15_000)
    assert not await frames_keep_rising([site], {site.username: [agent_id]})
    (tile,) = await site.remote_tiles()
    assert tile["width"] > 0, tile

    # The TURN server and its credential reached the page (rendered and in the join ack)...
    info = await _selected_pair(site)
    expected = [{"urls": turn_server.url, "username": turn_server.username, "credential": "secret"}]
    assert info["pageIceServers"] == expected, info
    assert info["iceServers"] and info["iceServers"][-1] == expected, info
    # ...the browser gathered relay candidates only, and media flows over a relayed pair.
    assert info["policy"] == "relay", info
    assert info["connectionState"] == "connected", info
    assert set(info["localTypes"]) == {"relay"}, info
    pair = info["pair"]
    assert pair["local"]["type"] == "relay", pair
    assert pair["local"]["address"] == "127.0.0.1", pair
    lo, hi = turn_server.relay_ports
    assert lo <= pair["local"]["port"] <= hi, f"not one of coturn's relay ports: {pair}"
    assert pair["local"]["url"].split("?")[0] == turn_server.url, pair
    assert pair["bytesSent"] > 0 and pair["bytesReceived"] > 0, pair

    # The agent receives the browser's video too: the uplink goes through the relay as well.
    browser_id = str(site.participant_id)
    for _ in range(100):
        if agent.stats().received_video.get(browser_id, 0) > 0:
            break
        await asyncio.sleep(0.1)
    before = agent.stats().received_video.get(browser_id, 0)
    await asyncio.sleep(1.0)
    after = agent.stats().received_video.get(browser_id, 0)
    assert before > 0, f"agent received no video from the relay-only browser: {agent.stats()}"
    assert after > before, f"agent's video from the browser stalled at {before} frames"

    # coturn granted allocations to our user: the relay is real, not a host path in disguise.
    allocations = turn_server.successful_allocations()
    assert allocations, f"no successful ALLOCATE in coturn's log:\n{turn_server.log()[-3000:]}"
    # The browser's relayed address is one of them, and coturn opened it to the hub's address.
    session = turn_server.relay_session(pair["local"]["port"])
    assert any("ALLOCATE processed, success" in line for line in session), session
    granted = ("CREATE_PERMISSION processed, success", "CHANNEL_BIND processed, success")
    assert any(g in line for line in session for g in granted), session
    assert any(f"peer {pair['remote']['address']} " in line for line in session), session
    assert not site.console_errors, site.console_errors


async def test_page_keeps_its_first_peer_connection_with_turn_configured(
    hub: HubServer, api: HubApi, open_site: OpenSite
) -> None:
    site = await open_site(BROWSER_USER)
    await site.context.add_init_script(RELAY_ONLY_JS)
    hearing_id = await api.live_hearing(
        "Phiên qua máy chủ TURN", host_office_id=api.user["office_id"], site_office_ids=[]
    )
    await site.join(hearing_id)
    configs = await site.page.evaluate("window.tcdTest.iceServers")
    assert len(configs) == 1, f"the page created {len(configs)} peer connections: {configs}"

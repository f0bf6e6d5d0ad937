"""Media through a real TURN server: a browser allowed relay candidates only still sees the
hearing, through coturn in its REST-API mode with the short-lived credential the hub issued it;
coturn takes that credential over UDP, TCP and TLS, and refuses a tampered or expired one."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from aioice import stun, turn
from playwright.async_api import Browser, async_playwright

from hub.services.ice_servers import credential_expiry, turn_credential
from signaling.site_agent import SiteAgent, encode_clip
from tests.browser.sites import (
    CHROMIUM_ARGS,
    CHROMIUM_EXECUTABLE,
    HubApi,
    OpenSite,
    SitePage,
    frames_keep_rising,
)
from tests.browser.turn import TurnServer, turn_server
from tests.fixtures_hub import HubFactory, HubServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

__all__ = ["turn_server"]  # the fixture, imported for the tests below

AGENT_OFFICE = "HP"  # no demo account: joins with a join token, as a site agent does
BROWSER_USER = "leader"  # the host office's leader: in at once, lets the agent in

# Runs before the page's own scripts: every RTCPeerConnection the page creates is forced to
# gather relay candidates only (what a site behind a firewall that allows only the TURN server
# gets), optionally from only the servers whose URL starts with ONLY (a network that passes
# nothing but TLS), and is kept, with the ICE servers the page asked for and the candidates it
# gathered, for the test to inspect.
_RELAY_ONLY_JS = """(() => {
  const Native = window.RTCPeerConnection;
  const only = ONLY;
  window.tcdTest = { peers: [], iceServers: [], gathered: [] };
  class RelayOnlyPeerConnection extends Native {
    constructor(config = {}, ...rest) {
      const servers = (config.iceServers ?? []).filter((s) => !only || s.urls.startsWith(only));
      super({ ...config, iceServers: servers, iceTransportPolicy: "relay" }, ...rest);
      window.tcdTest.peers.push(this);
      window.tcdTest.iceServers.push(JSON.parse(JSON.stringify(config.iceServers ?? [])));
      const gathered = [];
      window.tcdTest.gathered.push(gathered);
      this.addEventListener("icecandidate", ({ candidate }) => {
        if (candidate && candidate.candidate) {
          gathered.push({ type: candidate.type, url: candidate.url ?? null });
        }
      });
    }
  }
  window.RTCPeerConnection = RelayOnlyPeerConnection;
})();"""


def relay_only_js(only: str | None = None) -> str:
    return _RELAY_ONLY_JS.replace("ONLY", json.dumps(only))


RELAY_ONLY_JS = relay_only_js()

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
async def chromium(turn_server: TurnServer) -> AsyncIterator[Browser]:
    """The browser tests' Chromium, trusting the test coturn's self-signed TLS certificate by
    its key alone (Chromium checks a turns: server's certificate, as it does a web site's);
    replaces the plain `chromium` fixture here."""
    trust = f"--ignore-certificate-errors-spki-list={turn_server.spki_sha256}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM_EXECUTABLE, headless=True, args=[*CHROMIUM_ARGS, trust]
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def hub(hub_server: HubFactory, turn_server: TurnServer) -> HubServer:
    """The hub configured with the coturn server's host, ports and shared secret (as
    TCD_TURN_HOSTS, TCD_TURN_PORT, TCD_TURN_TLS_PORT and TCD_TURN_SECRET would); replaces the
    browser tests' plain hub."""
    return await hub_server(
        turn_hosts=(turn_server.host,),
        turn_port=turn_server.port,
        turn_tls_port=turn_server.tls_port,
        turn_secret=turn_server.secret,
    )


def expected_urls(server: TurnServer) -> list[str]:
    return [
        f"turn:{server.host}:{server.port}?transport=udp",
        f"turn:{server.host}:{server.port}?transport=tcp",
        f"turns:{server.host}:{server.tls_port}?transport=tcp",
    ]


def check_issued(servers: list[dict[str, str]], turn_server: TurnServer, name: str) -> str:
    """The hub's TURN entries: the three URLs, one credential for `name` valid for the ttl, as
    coturn computes it from the shared secret. Returns the username."""
    assert [s["urls"] for s in servers] == expected_urls(turn_server), servers
    (username,) = {s["username"] for s in servers}
    (credential,) = {s["credential"] for s in servers}
    found = re.fullmatch(r"(\d+):(.+)", username)
    assert found and found.group(2) == name, username
    assert int(found.group(1)) - time.time() >= 3600 - 60, "valid for less than the ttl"
    digest = hmac.new(turn_server.secret.encode(), username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential) == digest
    return username


async def _clear_of_a_credential_window_edge(ttl: int = 3600) -> None:
    """Wait, if need be, so that a page and its join ack a few seconds later fall in one window
    of hub.services.ice_servers.credential_expiry (across an edge the ack rightly carries a
    newer credential, and the page rightly starts over with it)."""
    now = time.time()
    if credential_expiry(now, ttl) != credential_expiry(now + 15, ttl):
        await asyncio.sleep(16)


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


async def _relay_only_session(
    turn_server: TurnServer,
    hearing_id: int,
    agent: SiteAgent,
    open_site: OpenSite,
    only: str | None = None,
) -> tuple[SitePage, dict[str, Any], str]:
    """A relay-only browser joins, lets the agent in, and gets media both ways through coturn
    with the credential the hub issued it: the page, its selected pair's stats, the username."""
    site = await open_site(BROWSER_USER)
    await site.context.add_init_script(relay_only_js(only))
    await _clear_of_a_credential_window_edge()
    await site.join(hearing_id)
    agent_id = str(agent.participant_id)
    await site.admit(agent_id)

    # The relay-only browser decodes the agent's video, and keeps decoding it.
    await site.wait_playing([agent_id], timeout_ms=15_000)
    assert not await frames_keep_rising([site], {site.username: [agent_id]})
    (tile,) = await site.remote_tiles()
    assert tile["width"] > 0, tile

    # The TURN servers and this user's credential reached the page, rendered and in the join
    # ack (the page's peer connection, gathering before the ack, used what was rendered)...
    info = await _selected_pair(site)
    username = check_issued(info["pageIceServers"], turn_server, f"user-{site.user['id']}")
    assert info["iceServers"] and info["iceServers"][-1] == info["pageIceServers"], info
    # ...and media flows over a relayed pair.
    assert info["policy"] == "relay", info
    assert info["connectionState"] == "connected", info
    assert set(info["localTypes"]) == {"relay"}, info
    pair = info["pair"]
    assert pair["local"]["type"] == "relay", pair
    assert pair["local"]["address"] == "127.0.0.1", pair
    lo, hi = turn_server.relay_ports
    assert lo <= pair["local"]["port"] <= hi, f"not one of coturn's relay ports: {pair}"
    assert pair["local"]["url"] in expected_urls(turn_server), pair
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

    # coturn granted allocations to that credential: the relay is real, not a host path in
    # disguise, and coturn checked the hub's credential against its shared secret.
    allocations = turn_server.successful_allocations(username)
    assert allocations, f"no successful ALLOCATE in coturn's log:\n{turn_server.log()[-3000:]}"
    # The browser's relayed address is one of them, and coturn opened it to the hub's address.
    session = turn_server.relay_session(pair["local"]["port"])
    assert any("ALLOCATE processed, success" in line for line in session), session
    granted = ("CREATE_PERMISSION processed, success", "CHANNEL_BIND processed, success")
    assert any(g in line for line in session for g in granted), session
    assert any(f"peer {pair['remote']['address']} " in line for line in session), session
    assert not site.console_errors, site.console_errors
    return site, info, username


async def _gathered(site: SitePage, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """The candidates the page's last peer connection gathered, once gathering is complete
    (on a loaded 2-core machine TCP and TLS allocations took longer than 10 s)."""
    deadline = time.monotonic() + timeout_s
    done = False
    while not done and time.monotonic() < deadline:
        done = await site.page.evaluate(
            "window.tcdTest.peers.at(-1).iceGatheringState === 'complete'"
        )
        if not done:
            await asyncio.sleep(0.2)
    gathered: list[dict[str, Any]] = await site.page.evaluate("window.tcdTest.gathered.at(-1)")
    assert done, f"ICE gathering not complete after {timeout_s} s; so far {gathered}"
    return gathered


async def test_relay_only_browser_gets_media_through_coturn(
    turn_server: TurnServer,
    hub: HubServer,
    agent_hearing: tuple[int, SiteAgent],
    open_site: OpenSite,
) -> None:
    hearing_id, agent = agent_hearing
    site, _info, _username = await _relay_only_session(turn_server, hearing_id, agent, open_site)
    # With the one credential the browser got relays from the hub's TURN URLs.
    gathered = await _gathered(site)
    assert {c["type"] for c in gathered} == {"relay"}, gathered
    urls = {c["url"] for c in gathered}
    # Only the hub's URLs, and at least one relay. Not "one from every URL": Chromium gathers
    # from some of the TURN URLs and not others, run to run (only UDP one time, only TCP and TLS
    # the next, on an idle machine as on a loaded one). Each transport is proven on its own: the
    # TLS-only browser below, and coturn taking the hub's credential over UDP, TCP and TLS.
    assert urls and urls <= set(expected_urls(turn_server)), gathered


async def test_a_browser_that_only_reaches_tls_gets_media_through_coturn(
    turn_server: TurnServer,
    hub: HubServer,
    agent_hearing: tuple[int, SiteAgent],
    open_site: OpenSite,
) -> None:
    """Government networks often pass nothing but TLS on 443: the turns: entry alone carries
    the hearing (here on the test coturn's TLS port, 443 in production)."""
    hearing_id, agent = agent_hearing
    _site, info, _username = await _relay_only_session(
        turn_server, hearing_id, agent, open_site, only="turns:"
    )
    local = info["pair"]["local"]
    assert local["relayProtocol"] == "tls", local
    assert local["url"] == f"turns:{turn_server.host}:{turn_server.tls_port}?transport=tcp"


async def test_page_keeps_its_first_peer_connection_with_turn_configured(
    hub: HubServer, api: HubApi, open_site: OpenSite
) -> None:
    site = await open_site(BROWSER_USER)
    await site.context.add_init_script(RELAY_ONLY_JS)
    hearing_id = await api.live_hearing(
        "Phiên qua máy chủ TURN", host_office_id=api.user["office_id"], site_office_ids=[]
    )
    await _clear_of_a_credential_window_edge()
    await site.join(hearing_id)
    configs = await site.page.evaluate("window.tcdTest.iceServers")
    assert len(configs) == 1, f"the page created {len(configs)} peer connections: {configs}"


async def _allocate(
    turn_server: TurnServer, username: str, credential: str, transport: str
) -> tuple[str, int]:
    """ALLOCATE on coturn as a TURN client (aioice's) would: the relayed address granted."""
    tls: ssl.SSLContext | None = None
    port = turn_server.port
    if transport == "tls":
        tls = ssl.create_default_context(cafile=str(turn_server.cert_path))
        port = turn_server.tls_port
    relay, _protocol = await turn.create_turn_endpoint(
        asyncio.DatagramProtocol,
        server_addr=(turn_server.host, port),
        username=username,
        password=credential,
        ssl=tls,
        transport="udp" if transport == "udp" else "tcp",
    )
    try:
        address: tuple[str, int] = relay.get_extra_info("sockname")
        return address
    finally:
        relay.close()


async def test_coturn_takes_the_hubs_credential_on_every_transport_and_refuses_others(
    turn_server: TurnServer, hub: HubServer, api: HubApi
) -> None:
    offices = await api.offices_by_code()
    hearing_id = await api.live_hearing(
        "Phiên qua máy chủ TURN",
        host_office_id=api.user["office_id"],
        site_office_ids=[offices[AGENT_OFFICE]["id"]],
    )
    token = await api.join_token(hearing_id, offices[AGENT_OFFICE]["id"])
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(hub.url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    try:
        ack = await sio.call("join", {"hearing_id": hearing_id}, timeout=10)
    finally:
        await sio.disconnect()
    assert ack["ok"] is True, ack
    servers = ack["ice_servers"]
    username = check_issued(servers, turn_server, f"site-{offices[AGENT_OFFICE]['id']}")
    credential = servers[0]["credential"]

    # The hub's credential opens a relay over UDP, over TCP, and over TLS (the 443 path).
    lo, hi = turn_server.relay_ports
    for transport in ("udp", "tcp", "tls"):
        host, port = await _allocate(turn_server, username, credential, transport)
        assert host == turn_server.host and lo <= port <= hi, (transport, host, port)
    assert len(turn_server.successful_allocations(username)) >= 3

    # A credential altered in transit, or one whose time is up, is refused.
    tampered = base64.b64encode(bytes(b ^ 1 for b in base64.b64decode(credential))).decode()
    expired, expired_credential = turn_credential(
        turn_server.secret, "site-999", int(time.time()) - 5
    )
    stolen_name = username.replace(":site-", ":site-9")  # someone else's name, same credential
    for name, secret in (
        (username, tampered),
        (expired, expired_credential),
        (stolen_name, credential),
    ):
        with pytest.raises(stun.TransactionFailed) as refused:
            await _allocate(turn_server, name, secret, "udp")
        assert refused.value.response.attributes["ERROR-CODE"][0] == 401, refused.value
        assert turn_server.refusals(name), f"coturn did not log refusing {name}"
    assert not turn_server.successful_allocations(expired)
    assert not turn_server.successful_allocations(stolen_name)

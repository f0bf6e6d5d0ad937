"""The site agent uses the TURN servers of its join ack: its RTCPeerConnection is configured
from them (it ignored them, so a site behind a firewall that passes only the TURN server could
not join without a browser), and relay-only it reaches the hub through a real coturn."""

from __future__ import annotations

import aiohttp
import pytest
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

from signaling.site_agent import SiteAgent, rtc_configuration
from tests.browser.turn import TurnServer, turn_server
from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Rest, clip, wait_for

__all__ = ["turn_server"]  # the fixture, imported for the tests below

pytestmark = pytest.mark.timeout(120)

CREDENTIAL = {"username": "1767225600:site-7", "credential": "c2VjcmV0"}
# A join ack's ice_servers as the hub hands them out: STUN, then UDP, TCP and TLS on 443.
ACK = [
    {"urls": "stun:stun.tcd.example.vn:3478"},
    {"urls": "turn:turn.tcd.example.vn:3478?transport=udp", **CREDENTIAL},
    {"urls": "turn:turn.tcd.example.vn:3478?transport=tcp", **CREDENTIAL},
    {"urls": "turns:turn.tcd.example.vn:443?transport=tcp", **CREDENTIAL},
]


def test_the_configuration_is_built_from_the_join_ack() -> None:
    config = rtc_configuration(ACK)
    assert config.iceServers is not None
    assert [s.urls for s in config.iceServers] == [e["urls"] for e in ACK]
    assert config.iceServers[0].username is None
    for server in config.iceServers[1:]:
        assert (server.username, server.credential) == (
            CREDENTIAL["username"],
            CREDENTIAL["credential"],
        )
    assert config.iceTransportPolicy is RTCIceTransportPolicy.ALL
    assert config.bundlePolicy is RTCBundlePolicy.MAX_BUNDLE
    # aiortc uses the first TURN URL it can: the one asked for goes first.
    tls = rtc_configuration(list(reversed(ACK)), relay_only=True, turn_transport="tls")
    assert tls.iceServers is not None
    assert [s.urls for s in tls.iceServers][1] == "turns:turn.tcd.example.vn:443?transport=tcp"
    assert tls.iceTransportPolicy is RTCIceTransportPolicy.RELAY
    ordered = rtc_configuration(list(reversed(ACK)))
    assert ordered.iceServers is not None
    assert [s.urls for s in ordered.iceServers] == [e["urls"] for e in ACK]
    # Nothing to configure: no servers at all (never aiortc's default public STUN server).
    assert rtc_configuration([]).iceServers == []


def test_a_join_ack_without_what_the_site_needs_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="no TURN server"):
        rtc_configuration(ACK[:1], relay_only=True)
    with pytest.raises(ValueError, match="without a credential"):
        rtc_configuration([{"urls": "turn:turn.tcd.example.vn:3478"}])
    with pytest.raises(ValueError, match="without a URL"):
        rtc_configuration([{"username": "x"}])
    with pytest.raises(ValueError, match="unknown TURN transport 'sctp'"):
        rtc_configuration(ACK, turn_transport="sctp")
    with pytest.raises(ValueError, match="unknown TURN transport"):
        SiteAgent("http://127.0.0.1:1", "token", 1, turn_transport="quic")
    # A server aiortc has no client for is left out, not an error (a browser may use it).
    assert rtc_configuration([{"urls": "stuns:stun.tcd.example.vn:5349"}]).iceServers == []


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_relay_only_site_agent_joins_through_coturn(
    hub_server: HubFactory, turn_server: TurnServer, transport: str
) -> None:
    hub = await hub_server(
        turn_hosts=(turn_server.host,),
        turn_port=turn_server.port,
        turn_tls_port=turn_server.tls_port,
        turn_secret=turn_server.secret,
    )
    async with aiohttp.ClientSession() as http:
        rest = Rest(hub.url, http)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        hy = (await rest.offices(staff))["HY"]
        hid = await rest.schedule(staff, sites=[hy], chair=leader)
        kiosk = await rest.join_token(await rest.login("staff.hungyen"), hid, hy)
    chair = SiteAgent(hub.url, leader.token, hid, clip=clip())
    site = SiteAgent(hub.url, kiosk, hid, clip=clip(), relay_only=True, turn_transport=transport)
    try:
        await chair.start()
        assert (await chair.call("start_hearing"))["ok"] is True
        await site.start()
        assert site.state == "waiting"
        assert (await chair.call("admit", {"participant_id": site.participant_id}))["ok"]

        def both_ways(minimum: int) -> bool:
            sent = site.stats().received_video.get(str(chair.participant_id), 0)
            got = chair.stats().received_video.get(str(site.participant_id), 0)
            return min(sent, got) >= minimum

        await wait_for(lambda: both_ways(30), within=30, what="media both ways over the relay")
        # Only relayed candidates were offered, so the media went through coturn ...
        types = site.local_candidate_types()
        assert types and set(types) == {"relay"}, types
        # ... with the credential the hub issued this site, over the transport asked for.
        assert site.rtc_configuration is not None and site.rtc_configuration.iceServers
        turn = next(s for s in site.rtc_configuration.iceServers if s.username)
        assert f"transport={transport}" in str(turn.urls)
        assert turn.username is not None and turn.username.endswith(f":site-{hy}")
        granted = turn_server.successful_allocations(turn.username)
        assert granted, turn_server.log()[-3000:]
        # The chair (no relay_only) kept its host candidates.
        assert "host" in chair.local_candidate_types()
    finally:
        await site.close()
        await chair.close()

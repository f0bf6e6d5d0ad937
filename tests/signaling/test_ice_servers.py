"""What the join ack tells a client about ICE, and where the hub's own media sockets are: STUN
and TURN with the client's own short-lived credential, host candidates inside the configured
UDP port range, and a clear error when that range is full."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from hub.config import Settings
from rooms.aiortc_internals import restrict_host_candidates
from tests.fixtures_net import free_udp_port_range
from tests.signaling.conftest import Hub
from tests.signaling.live_hub import Client, error_code

pytestmark = pytest.mark.timeout(60)

SECRET = "coturn-static-auth-secret"


@pytest.fixture
def settings() -> Settings:
    """The hub's settings for these tests (replacing the signaling tests' plain ones)."""
    return Settings(
        ice_announced_ips=("127.0.0.1",),
        ice_udp_ports=free_udp_port_range(1),  # one hub connection at a time
        ice_servers=("stun:stun.example.vn:3478",),
        turn_hosts=("turn.example.vn",),
        turn_secret=SECRET,
        turn_ttl_seconds=600,
    )


async def _offer() -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio")
    pc.addTransceiver("video")
    restrict_host_candidates(pc, ["127.0.0.1"])
    await pc.setLocalDescription(await pc.createOffer())
    return pc, str(pc.localDescription.sdp)


def _ports(sdp: str) -> set[int]:
    """The ports of the SDP's candidates (every bundled m-line repeats them)."""
    return {int(line.split()[5]) for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def test_join_ack_carries_stun_and_turn_with_this_clients_credential(hub: Hub) -> None:
    client = await Client().connect(hub.url, "site2")  # user 102 of office 2
    try:
        before = time.time()
        ack = await client.call("join", {"hearing_id": 1})
        assert ack["ok"] is True, ack
        stun, *turn = ack["ice_servers"]
        assert stun == {"urls": "stun:stun.example.vn:3478"}
        assert [s["urls"] for s in turn] == [
            "turn:turn.example.vn:3478?transport=udp",
            "turn:turn.example.vn:3478?transport=tcp",
            "turns:turn.example.vn:443?transport=tcp",
        ]
        (username,) = {s["username"] for s in turn}
        (credential,) = {s["credential"] for s in turn}
        expiry, name = username.split(":")
        assert name == "user-102"
        assert 600 <= int(expiry) - before <= 600 + 150 + 1  # ttl, plus at most a quarter
        expected = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
        assert base64.b64decode(credential) == expected
        # A join token's holder is a bridge point: its credential names the office.
        site = await Client().connect(hub.url, "join-h2")
        try:
            ack = await site.call("join", {"hearing_id": 2})
            assert {s.get("username", "").partition(":")[2] for s in ack["ice_servers"]} == {
                "",  # STUN
                "site-2",
            }
        finally:
            await site.close()
    finally:
        await client.close()


async def test_the_hub_answers_from_its_port_range_and_says_when_it_is_full(hub: Hub) -> None:
    first, second = (
        await Client().connect(hub.url, "site1"),
        await Client().connect(hub.url, "site2"),
    )
    pcs: list[RTCPeerConnection] = []
    ports = hub.settings.ice_udp_ports
    assert ports is not None
    try:
        for client in (first, second):
            assert (await client.call("join", {"hearing_id": 1}))["ok"] is True
        pc, sdp = await _offer()
        pcs.append(pc)
        ack = await first.call("offer", {"sdp": sdp, "type": "offer"})
        assert ack["ok"] is True, ack
        assert _ports(ack["sdp"]) == {ports[0]}

        # The range holds one connection: the next offer is refused, saying why.
        pc, sdp = await _offer()
        pcs.append(pc)
        ack = await second.call("offer", {"sdp": sdp, "type": "offer"})
        assert error_code(ack) == "internal"
        assert f"{ports[0]}-{ports[1]}" in ack["error"]["message"], ack
        assert "no free UDP port" in ack["error"]["message"], ack

        # Once the first site leaves, its port serves the second one's new offer.
        assert (await first.call("leave", {}))["ok"] is True
        pc, sdp = await _offer()
        pcs.append(pc)
        acks: list[dict[str, object]] = []

        async def offered() -> None:
            acks.append(await second.call("offer", {"sdp": sdp, "type": "offer"}))

        for _ in range(50):  # the first site's connection closes just after its leave ack
            await offered()
            if acks[-1]["ok"] is True:
                break
            await asyncio.sleep(0.1)
        assert acks[-1]["ok"] is True, acks
        assert _ports(str(acks[-1]["sdp"])) == {ports[0]}
    finally:
        for client in (first, second):
            await client.close()
        for pc in pcs:
            await pc.close()

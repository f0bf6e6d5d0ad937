"""The aiortc internals the hub relies on are still there, and the frame tap behaves."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aioice import stun
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from rooms import aiortc_internals
from rooms.aiortc_internals import (
    EncodedFrame,
    UdpPortsExhausted,
    bind_udp_in_range,
    check_internals,
    remote_candidate_allowed,
    restrict_host_candidates,
)
from tests.fixtures_net import free_udp_port_range

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


def test_internals_match_aiortc_1_16() -> None:
    check_internals()


class FakeReceiver:
    """Only what the tap reads from an RTCRtpReceiver: its codec table."""

    def __init__(self) -> None:
        self._RTCRtpReceiver__codecs = {96: VP8, 111: OPUS}


def vp8_packet(seq: int, ts: int, *, start: bool, marker: bool, key: bool = False) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq & 0xFFFF, timestamp=ts, ssrc=1234)
    packet.marker = int(marker)
    descriptor = 0x10 if start else 0x00
    body = bytes([0x00 if key else 0x01]) + b"x" * 50 if start else b"y" * 50
    packet.payload = bytes([descriptor]) + body
    packet._data = body  # type: ignore[attr-defined]
    return packet


def make_video_tap(stall: float = 0.4) -> tuple[Any, list[EncodedFrame]]:
    frames: list[EncodedFrame] = []
    receiver = FakeReceiver()
    aiortc_internals.tap_receiver(receiver, "video", frames.append, stall_timeout=stall)  # type: ignore[arg-type]
    return receiver._RTCRtpReceiver__jitter_buffer, frames  # type: ignore[attr-defined]


def test_frame_released_on_marker_without_waiting_for_next_frame() -> None:
    tap, frames = make_video_tap()
    tap.add(vp8_packet(65534, 1000, start=True, marker=False, key=True))
    tap.add(vp8_packet(65535, 1000, start=False, marker=False))
    assert frames == []
    tap.add(vp8_packet(0, 1000, start=False, marker=True))  # sequence wraps inside the frame
    assert len(frames) == 1 and frames[0].keyframe and frames[0].discontinuity
    assert frames[0].data.endswith(b"y" * 50)
    tap.add(vp8_packet(1, 4000, start=True, marker=True))
    assert len(frames) == 2 and not frames[1].keyframe and not frames[1].discontinuity


def test_reordered_packets_complete_a_frame() -> None:
    tap, frames = make_video_tap()
    tap.add(vp8_packet(10, 1000, start=True, marker=False, key=True))
    tap.add(vp8_packet(12, 1000, start=False, marker=True))
    tap.add(vp8_packet(11, 1000, start=False, marker=False))
    assert len(frames) == 1 and len(frames[0].data) == 151


def test_unrecoverable_loss_stall_is_bounded_and_flagged() -> None:
    tap, frames = make_video_tap(stall=0.05)
    tap.add(vp8_packet(1, 1000, start=True, marker=True, key=True))
    # Frame 2 loses its second packet for good; frames 3, 4, ... keep arriving.
    tap.add(vp8_packet(2, 4000, start=True, marker=False))
    seq, ts = 4, 7000
    deadline = time.monotonic() + 2
    while len(frames) < 2 and time.monotonic() < deadline:
        tap.add(vp8_packet(seq, ts, start=True, marker=True))
        seq, ts = seq + 1, ts + 3000
        time.sleep(0.01)
    assert len(frames) >= 2, "stall was not bounded"
    resumed = frames[1]
    assert resumed.discontinuity and resumed.timestamp == 7000
    assert tap.stalls_bounded == 1
    # A late retransmission of the skipped packet is ignored.
    tap.add(vp8_packet(3, 4000, start=False, marker=True))
    assert all(f.timestamp != 4000 for f in frames)


def test_audio_level_is_read_from_the_rtp_header_extension() -> None:
    frames: list[EncodedFrame] = []
    receiver = FakeReceiver()
    aiortc_internals.tap_receiver(receiver, "audio", frames.append)  # type: ignore[arg-type]
    tap = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    packet = RtpPacket(payload_type=111, sequence_number=5, timestamp=960, ssrc=1)
    packet.extensions.audio_level = (True, 30)
    packet._data = b"opus"  # type: ignore[attr-defined]
    tap.add(packet)
    assert frames[0].audio_level == -30 and frames[0].codec is OPUS


def test_loopback_only_hub_never_aims_media_elsewhere() -> None:
    assert remote_candidate_allowed("127.0.0.1", ["127.0.0.1"])
    assert not remote_candidate_allowed("192.168.1.20", ["127.0.0.1"])
    assert not remote_candidate_allowed("abcd.local", ["127.0.0.1"])
    assert remote_candidate_allowed("192.168.1.20", ["10.0.0.1"])


async def test_offer_pins_a_transceiver_added_since_the_last_negotiation() -> None:
    # A new slot has no mid until setLocalDescription(): it must still get the client's
    # numbering (Chromium refuses an offer whose payload types clash inside the BUNDLE).
    from aiortc import RTCPeerConnection
    from aiortc.sdp import SessionDescription

    client, hub = RTCPeerConnection(), RTCPeerConnection()
    try:
        client.addTransceiver("video")
        await client.setLocalDescription(await client.createOffer())
        await hub.setRemoteDescription(client.localDescription)
        await hub.setLocalDescription(await hub.createAnswer())
        slot = hub.addTransceiver("video", direction="sendonly")
        assert slot.mid is None
        offer = await hub.createOffer()
        vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=120)
        pinned = aiortc_internals.pin_offer_media(offer.sdp, {slot: ([vp8], [])})
        media = SessionDescription.parse(pinned).media
        assert len(media) == 2
        assert [c.payloadType for c in media[1].rtp.codecs] == [120]
        assert media[0].rtp.codecs[0].payloadType != 120  # the existing m-line is untouched
    finally:
        await client.close()
        await hub.close()


# --- The ICE UDP port range ---------------------------------------------------------------


def udp_sockets_of_this_process() -> dict[int, tuple[str, int]]:
    """inode -> (local address, port) of every UDP socket this process holds, as the kernel
    reports them (/proc/self/fd and /proc/net/udp{,6}), whatever aioice believes it bound."""
    inodes: set[int] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    found: dict[int, tuple[str, int]] = {}
    for table, family in (("/proc/net/udp", socket.AF_INET), ("/proc/net/udp6", socket.AF_INET6)):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                inode = int(fields[9])
                if inode not in inodes:
                    continue
                address_hex, port_hex = fields[1].split(":")
                raw = bytes.fromhex(address_hex)
                # The kernel prints each 32-bit word of the address in host (little-endian) order.
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found[inode] = (socket.inet_ntop(family, words), int(port_hex, 16))
    return found


def candidate_ports(sdp: str) -> list[tuple[str, int, str]]:
    """(address, port, type) of each a=candidate line."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            out.append((parts[4], int(parts[5]), parts[7]))
    return out


def in_range(port: int, ports: tuple[int, int]) -> bool:
    return ports[0] <= port <= ports[1]


def test_binding_skips_busy_ports_and_names_a_full_range() -> None:
    ports = free_udp_port_range(3)
    held = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        held[0].bind(("127.0.0.1", ports[0]))
        held[1].bind(("127.0.0.1", ports[0] + 1))
        for _ in range(10):  # whichever port the search starts at, only the free one is taken
            with bind_udp_in_range("127.0.0.1", ports) as sock:
                assert sock.getsockname() == ("127.0.0.1", ports[1])
        with bind_udp_in_range("127.0.0.1", ports) as last:
            before = udp_sockets_of_this_process()
            with pytest.raises(UdpPortsExhausted) as raised:
                bind_udp_in_range("127.0.0.1", ports)
            assert udp_sockets_of_this_process() == before, "a failed search left a socket open"
            message = str(raised.value)
            assert f"{ports[0]}-{ports[1]}" in message and "127.0.0.1" in message
            assert "TCD_ICE_UDP_PORTS" in message
            assert last.getsockname()[1] == ports[1]
    finally:
        for sock in held:
            sock.close()


async def _client_offer() -> RTCPeerConnection:
    """A client peer connection on loopback (any port) with its offer set."""
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTransceiver("audio")
    restrict_host_candidates(client, ["127.0.0.1"])
    await client.setLocalDescription(await client.createOffer())
    return client


async def _hub_answer(
    client: RTCPeerConnection, ports: tuple[int, int], ice_servers: list[RTCIceServer] | None = None
) -> RTCPeerConnection:
    """The hub's side, as rooms.participant sets it up: host candidates on 127.0.0.1 in `ports`."""
    hub = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers or []))
    try:
        await hub.setRemoteDescription(client.localDescription)
        restrict_host_candidates(hub, ["127.0.0.1"], ports)
        await hub.setLocalDescription(await hub.createAnswer())
    except BaseException:
        await hub.close()
        raise
    return hub


@pytest.fixture
async def closing() -> AsyncIterator[list[RTCPeerConnection]]:
    """Peer connections to close after the test, whatever happens."""
    pcs: list[RTCPeerConnection] = []
    yield pcs
    for pc in pcs:
        await pc.close()


async def _connected(*pcs: RTCPeerConnection, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while any(pc.connectionState != "connected" for pc in pcs):
        assert time.monotonic() < deadline, [pc.connectionState for pc in pcs]
        await asyncio.sleep(0.05)


async def test_hub_connections_bind_and_announce_ports_of_the_range_only(
    closing: list[RTCPeerConnection],
) -> None:
    ports = free_udp_port_range(2)
    hubs, bound = [], []
    for _ in range(2):
        client = await _client_offer()
        closing.append(client)
        before = udp_sockets_of_this_process()
        hub = await _hub_answer(client, ports)
        closing.append(hub)
        new = sorted(set(udp_sockets_of_this_process().items()) - set(before.items()))
        # One socket per peer connection (one address, BUNDLE, rtcp-mux), inside the range.
        assert [addr for _inode, addr in new] == [("127.0.0.1", new[0][1][1])], new
        port = new[0][1][1]
        assert in_range(port, ports), (port, ports)
        # What the hub announces is that socket, and nothing else.
        assert candidate_ports(hub.localDescription.sdp) == [("127.0.0.1", port, "host")]
        await client.setRemoteDescription(hub.localDescription)
        hubs.append((client, hub))
        bound.append(port)
    assert sorted(bound) == [ports[0], ports[1]], "two connections shared a port"
    # Media paths really run over those sockets: both pairs connect.
    await _connected(*(pc for pair in hubs for pc in pair))

    # A third connection finds the range full: a clear error, and nothing left bound.
    client = await _client_offer()
    closing.append(client)
    before = udp_sockets_of_this_process()
    with pytest.raises(UdpPortsExhausted, match=f"{ports[0]}-{ports[1]}"):
        await _hub_answer(client, ports)
    assert udp_sockets_of_this_process() == before

    # Closing a connection frees its port for the next one.
    _first_client, first_hub = hubs[0]
    await first_hub.close()
    hub = await _hub_answer(client, ports)
    closing.append(hub)
    assert candidate_ports(hub.localDescription.sdp) == [("127.0.0.1", bound[0], "host")]


class StunResponder(asyncio.DatagramProtocol):
    """A STUN server answering Binding requests, noting where each came from."""

    def __init__(self) -> None:
        self.sources: list[tuple[str, int]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = stun.parse_message(data)
        self.sources.append(addr)
        response = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = addr
        assert self.transport is not None
        self.transport.sendto(bytes(response), addr)


async def test_stun_is_asked_from_the_ranged_socket(closing: list[RTCPeerConnection]) -> None:
    loop = asyncio.get_running_loop()
    transport, responder = await loop.create_datagram_endpoint(
        StunResponder, local_addr=("127.0.0.1", 0)
    )
    try:
        stun_port = transport.get_extra_info("sockname")[1]
        ports = free_udp_port_range(4)
        client = await _client_offer()
        closing.append(client)
        hub = await _hub_answer(client, ports, [RTCIceServer(f"stun:127.0.0.1:{stun_port}")])
        closing.append(hub)
        found = candidate_ports(hub.localDescription.sdp)
        assert {kind for _a, _p, kind in found} == {"host", "srflx"}, found
        assert all(in_range(port, ports) for _a, port, _k in found), (found, ports)
        assert responder.sources and all(in_range(p, ports) for _h, p in responder.sources)
    finally:
        transport.close()


def test_an_aioice_upgrade_fails_the_check_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    import aioice

    monkeypatch.setattr(aioice, "__version__", "0.14.0")
    with pytest.raises(aiortc_internals.InternalsChanged, match=r"aioice version is 0\.14\.0"):
        check_internals()
    monkeypatch.undo()

    async def binds_elsewhere(
        self: Any,
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109 (aioice's own signature)
    ) -> list[Any]:
        return []

    monkeypatch.setattr(aioice.Connection, "get_component_candidates", binds_elsewhere)
    with pytest.raises(aiortc_internals.InternalsChanged, match="host sockets bound on port 0"):
        check_internals()


@pytest.mark.parametrize("ports", [None, "range"])
async def test_restricted_host_candidates_keep_the_relay_policy(
    closing: list[RTCPeerConnection], ports: str | None
) -> None:
    """A relay-only connection gathers no host candidate, restricted to addresses or not (the
    restriction brought the announced addresses back: a relay-only site agent offered host
    candidates)."""
    pc = RTCPeerConnection(
        RTCConfiguration(iceServers=[], iceTransportPolicy=RTCIceTransportPolicy.RELAY)
    )
    closing.append(pc)
    pc.addTransceiver("audio")
    restrict_host_candidates(pc, ["127.0.0.1"], free_udp_port_range(4) if ports else None)
    await pc.setLocalDescription(await pc.createOffer())
    assert "a=candidate:" not in pc.localDescription.sdp

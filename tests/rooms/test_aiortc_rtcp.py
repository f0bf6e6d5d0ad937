"""The hub's own RTCP handling in packet mode (receiver reports read as aiortc reads them, the
rest of a compound handed to aiortc, one compound of sender reports per transport) and the
fast receive path's gap tracking, which must agree with aiortc's NACK generator."""

from __future__ import annotations

import asyncio
import struct
import time
from typing import Any

import pytest
from aiortc import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSourceInfo,
    RtcpSrPacket,
    pack_remb_fci,
)

from rooms import aiortc_internals
from rooms.aiortc_internals import _RtcpReceiver, _TransportReports, bundle_sender_reports


class _Transport:
    """What an RTCRtpSender and the RTCP helpers read of an RTCDtlsTransport."""

    state = "new"
    _stats_id = "transport_1"

    def __init__(self) -> None:
        self._rtp_router = type("Router", (), {"senders": {}})()
        self.handed: list[bytes] = []  # what went to aiortc's _handle_rtcp_data
        self.sent: list[bytes] = []

    async def _handle_rtcp_data(self, data: bytes) -> None:
        self.handed.append(data)

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


def _sender(transport: _Transport) -> RTCRtpSender:
    sender = RTCRtpSender("video", transport)  # type: ignore[arg-type]
    transport._rtp_router.senders[sender._ssrc] = sender
    return sender


def _remote_inbound(sender: RTCRtpSender) -> Any:
    stats = sender.__dict__["_RTCRtpSender__stats"]
    return next(s for s in stats.values() if s.type == "remote-inbound-rtp")


def _report(ssrc: int, lsr: int, dlsr: int, lost: int) -> RtcpReceiverInfo:
    return RtcpReceiverInfo(
        ssrc=ssrc,
        fraction_lost=25,
        packets_lost=lost,
        highest_sequence=70_000,
        jitter=123,
        lsr=lsr,
        dlsr=dlsr,
    )


async def test_receiver_reports_give_the_stats_aiortc_gives() -> None:
    transport = _Transport()
    ours, theirs = _sender(transport), _sender(transport)
    sent_at = time.time() - 0.25
    for sender in (ours, theirs):
        state = sender.__dict__
        state["_RTCRtpSender__packet_count"] = 500
        state["_RTCRtpSender__lsr"] = 0x12345678
        state["_RTCRtpSender__lsr_time"] = sent_at
    reporter = 0xCAFE
    for lost in (3, -2):  # twice: the second report smooths the round trip as aiortc does
        rr = RtcpRrPacket(
            ssrc=reporter,
            reports=[
                _report(ours._ssrc, 0x12345678, 6554, lost),  # 0.1 s held by the reporter
                _report(0xDEAD, 0, 0, 0),  # not one of ours: skipped
            ],
        )
        _RtcpReceiver(transport, set()).handle(bytes(rr))
        aiortc_rr = RtcpRrPacket(
            ssrc=reporter, reports=[_report(theirs._ssrc, 0x12345678, 6554, lost)]
        )
        await theirs._handle_rtcp_packet(aiortc_rr)
        a, b = _remote_inbound(ours), _remote_inbound(theirs)
        assert (a.ssrc, a.packetsReceived, a.packetsLost, a.jitter, a.fractionLost) == (
            b.ssrc,
            b.packetsReceived,
            b.packetsLost,
            b.jitter,
            b.fractionLost,
        )
        assert a.packetsLost == lost and a.ssrc == reporter and a.kind == "video"
        assert a.roundTripTime == pytest.approx(b.roundTripTime, abs=0.01)
        assert a.roundTripTime == pytest.approx(0.15, abs=0.05)
        assert a.id.endswith(f"_{id(ours)}") and a.transportId == "transport_1"
    assert transport.handed == []


async def test_the_rest_of_a_compound_goes_to_aiortc_packet_by_packet() -> None:
    transport = _Transport()
    sender = _sender(transport)
    tasks: set[asyncio.Task[None]] = set()
    rr = bytes(RtcpRrPacket(ssrc=1, reports=[_report(sender._ssrc, 0, 0, 0)]))
    sdes = bytes(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=1, items=[(1, b"cname")])]))
    remb_fci = pack_remb_fci(500_000, [sender._ssrc])
    remb = bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=remb_fci))
    pli = bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=sender._ssrc))
    bye = bytes(RtcpByePacket(sources=[1]))
    _RtcpReceiver(transport, tasks).handle(rr + sdes + remb + pli + bye)
    await asyncio.gather(*tasks)
    # The PLI and the BYE, each on its own; the REMB steers no encoder here, so it stops.
    assert transport.handed == [pli, bye]
    assert _remote_inbound(sender).packetsReceived == 0

    # A REMB about a sender that encodes (MediaRelay mode) still reaches aiortc.
    sender.__dict__["_RTCRtpSender__encoder"] = object()
    _RtcpReceiver(transport, tasks).handle(remb)
    await asyncio.gather(*tasks)
    assert transport.handed[-1] == remb


@pytest.mark.parametrize(
    "data",
    [
        b"\x00" * 12,  # not version 2
        struct.pack("!BBH", 0x81, 201, 50) + b"\x00" * 8,  # longer than the datagram
        struct.pack("!BBH", 0x85, 201, 1) + b"\x00" * 4,  # five report blocks promised, none
        b"\x80\xc9",
    ],
)
async def test_malformed_rtcp_is_dropped_without_an_error(data: bytes) -> None:
    transport = _Transport()
    tasks: set[asyncio.Task[None]] = set()
    _RtcpReceiver(transport, tasks).handle(data)
    await asyncio.gather(*tasks)
    assert all(len(d) <= len(data) for d in transport.handed)


async def test_one_compound_carries_every_senders_report() -> None:
    transport = _Transport()
    reports = _TransportReports(transport)
    senders = [_sender(transport) for _ in range(3)]
    for index, sender in enumerate(senders):
        state = sender.__dict__
        state["_RTCRtpSender__cname"] = f"site-{index}"
        state["_RTCRtpSender__ntp_timestamp"] = (0xE000_0000 + index) << 32 | 0x8000_0000
        state["_RTCRtpSender__rtp_timestamp"] = 90_000 * index
        state["_RTCRtpSender__packet_count"] = 100 + index
        state["_RTCRtpSender__octet_count"] = 1_000_000 + index
        reports.add(sender)
    try:
        (compound,) = reports.compounds()
    finally:
        for sender in senders:
            reports.discard(sender)
    packets = RtcpPacket.parse(compound)  # as a site's aiortc reads it
    assert [type(p) for p in packets] == [RtcpSrPacket] * 3 + [RtcpSdesPacket] * 3
    for index, (sender, sr) in enumerate(zip(senders, packets, strict=False)):
        assert isinstance(sr, RtcpSrPacket)
        assert sr.ssrc == sender._ssrc and sr.reports == []
        info = sr.sender_info
        assert info.ntp_timestamp == sender.__dict__["_RTCRtpSender__ntp_timestamp"]
        assert (info.rtp_timestamp, info.packet_count, info.octet_count) == (
            90_000 * index,
            100 + index,
            1_000_000 + index,
        )
        # The LSR a receiver report will echo, as aiortc's own loop keeps it.
        middle = (((0xE000_0000 + index) << 16) | 0x8000) & 0xFFFF_FFFF
        assert sender.__dict__["_RTCRtpSender__lsr"] == middle
    chunks = [c for p in packets[3:] if isinstance(p, RtcpSdesPacket) for c in p.chunks]
    assert [(c.ssrc, c.items) for c in chunks] == [
        (s._ssrc, [(1, f"site-{i}".encode())]) for i, s in enumerate(senders)
    ]
    # Each chunk ends on a 32-bit boundary with at least one null octet (RFC 3550 6.5).
    position = 3 * 28
    while position < len(compound):
        length = 4 + 4 * struct.unpack_from("!H", compound, position + 2)[0]
        chunk = compound[position + 4 : position + length]
        cname_end = 6 + chunk[5]
        assert chunk[cname_end:] and set(chunk[cname_end:]) == {0} and len(chunk) % 4 == 0
        position += length
    assert position == len(compound)


async def test_many_senders_are_split_into_compounds_that_each_fit_a_datagram() -> None:
    transport = _Transport()
    reports = _TransportReports(transport)
    senders = [_sender(transport) for _ in range(60)]
    for sender in senders:
        sender.__dict__["_RTCRtpSender__cname"] = "{0d3c2b1a-aaaa-bbbb-cccc-1234567890ab}"
        reports.add(sender)
    try:
        compounds = reports.compounds()
    finally:
        for sender in senders:
            reports.discard(sender)
    assert len(compounds) > 1
    seen: list[int] = []
    for compound in compounds:
        assert len(compound) <= aiortc_internals._REPORTS_MAX_BYTES + 100
        packets = RtcpPacket.parse(compound)
        assert isinstance(packets[0], RtcpSrPacket) and isinstance(packets[-1], RtcpSdesPacket)
        srs = [p.ssrc for p in packets if isinstance(p, RtcpSrPacket)]
        cnames = [c.ssrc for p in packets if isinstance(p, RtcpSdesPacket) for c in p.chunks]
        assert cnames == srs
        seen += srs
    assert seen == [s._ssrc for s in senders]


async def test_a_bundled_sender_reports_with_its_transport_and_says_bye_alone() -> None:
    transport = _Transport()
    sender = _sender(transport)
    sender.__dict__["_RTCRtpSender__cname"] = "site"
    bundle_sender_reports(sender)
    task = asyncio.ensure_future(sender._run_rtcp())
    await sender.__dict__["_RTCRtpSender__rtcp_started"].wait()
    await asyncio.sleep(0)
    bundle: _TransportReports = transport._tcd_reports  # type: ignore[attr-defined]
    assert bundle.senders == [sender]
    task.cancel()
    await sender.__dict__["_RTCRtpSender__rtcp_exited"].wait()
    assert bundle.senders == [] and bundle._task is None
    (bye,) = (RtcpPacket.parse(d) for d in transport.sent)
    assert isinstance(bye[0], RtcpByePacket) and bye[0].sources == [sender._ssrc]


async def test_the_fast_receive_path_tracks_gaps_as_aiortcs_nack_generator() -> None:
    from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics

    from rooms.aiortc_internals import _FastVideoRoute

    nacked: list[list[int]] = []

    class Receiver:
        def __init__(self) -> None:
            self._RTCRtpReceiver__remote_streams = {7: StreamStatistics(90000)}
            self._RTCRtpReceiver__nack_generator = NackGenerator()

        async def _send_rtcp_nack(self, ssrc: int, lost: list[int]) -> None:
            nacked.append(lost)

    class Tap:
        _frames = None
        closed = False
        intake = None  # Python's fast path alone (tests/rooms/test_intake.py: the C one)

        def __init__(self) -> None:
            self._receiver = Receiver()
            self.sunk: list[int] = []

        def _sink(self, packet: Any) -> None:
            self.sunk.append(packet.sequence_number)

    tap = Tap()
    route = _FastVideoRoute(tap, 7, 96)  # type: ignore[arg-type]
    reference = NackGenerator()
    sequences = [65530, 65531, 65533, 65534, 65532, 65535, 0, 3, 1, 2, 4, 5, 9, 10, 6, 7, 8, 11]
    expected_nacks = []
    for sequence in sequences:
        data = struct.pack("!BBHII", 0x80, 96, sequence, 1000, 7) + b"\x10\x00payload"
        assert route.handle(data)
        packet = type("P", (), {"sequence_number": sequence})()
        if reference.add(packet):  # type: ignore[arg-type]
            expected_nacks.append(sorted(reference.missing))
        generator = tap._receiver._RTCRtpReceiver__nack_generator
        assert (generator.max_seq, generator.missing) == (reference.max_seq, reference.missing)
    await asyncio.sleep(0)
    await asyncio.gather(*route._tasks)
    assert nacked == expected_nacks and len(nacked) == 3
    assert tap.sunk == sequences


async def test_reports_go_on_after_the_transport_was_not_yet_connected() -> None:
    class Connecting(_Transport):
        attempts = 0

        async def _send_rtp(self, data: bytes) -> None:
            self.attempts += 1
            if self.attempts <= 2:  # DTLS is not up for the first reports
                raise ConnectionError("Cannot send encrypted RTP, not connected")
            self.sent.append(data)

    transport = Connecting()
    reports = _TransportReports(transport)
    reports.interval = lambda: 0.01  # type: ignore[method-assign]
    sender = _sender(transport)
    reports.add(sender)
    try:
        for _ in range(200):
            if len(transport.sent) >= 2:
                break
            await asyncio.sleep(0.01)
    finally:
        reports.discard(sender)
    assert transport.attempts >= 4 and len(transport.sent) >= 2
    assert all(isinstance(RtcpPacket.parse(d)[0], RtcpSrPacket) for d in transport.sent)

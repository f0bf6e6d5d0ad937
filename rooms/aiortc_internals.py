"""The one module that touches aiortc 1.16 / aioice 0.13 / pylibsrtp 1.0 private internals
(frame and packet taps, the packet send path, keyframes, NACKs, ICE host candidates and their UDP
port range, SDP).

aiortc has no public API for forwarding encoded frames, and aioice none for choosing the ports of
its host candidates. Everything below relies on names that are private to aiortc 1.16.0 and
aioice 0.13.0 (both pinned in pyproject.toml); `check_internals()` verifies each of them and
tests/rooms/test_aiortc_internals.py calls it, so an upgrade fails loudly here instead of
silently decoding, stalling or sending media elsewhere.
"""

from __future__ import annotations

import asyncio
import asyncio.selector_events as _asyncio_selector_events
import errno
import functools
import inspect
import ipaddress
import logging
import os
import random
import re
import socket
import struct
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aioice
import aioice.ice as _aioice_ice
import aioice.turn as _aioice_turn
import aiortc
import pylibsrtp
from aioice.candidate import candidate_foundation, candidate_priority
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc import clock as _aiortc_clock
from aiortc import rtcdtlstransport as _rtcdtlstransport
from aiortc import rtcrtpreceiver as _rtcrtpreceiver
from aiortc import rtcrtpsender as _rtcrtpsender
from aiortc import rtp as _rtp
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import vpx as _vpx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.stats import RTCRemoteInboundRtpStreamStats
from pylibsrtp import _binding as _srtp_binding

from rooms import fanout as _fanout
from rooms.rtp_packets import vp8_picture_id, vp8_picture_id_offset, vp8_rewrite_picture_id

logger = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
AIOICE_VERSION = "0.13.0"
PYLIBSRTP_VERSION = "1.0.0"
# Video packets of a known SSRC take the short receive path (False: all of aiortc's).
FAST_VIDEO_RECEIVE = True
# And so does the RTCP of their transports (False: aiortc's DTLS loop handles it).
FAST_RTCP = True
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
# A sequence-number window wider than any plausible reordering: beyond it a packet is stale.
_HALF_SEQ = 1 << 15
# Frames bigger than this are garbage (a 1080p VP8 keyframe is well under 1 MB).
_MAX_FRAME_PACKETS = 1024


class InternalsChanged(RuntimeError):
    """aiortc's private internals differ from what this module was written against."""


class UdpPortsExhausted(OSError):
    """Every port of the configured ICE UDP range is already bound on an address."""


@dataclass(slots=True)
class EncodedFrame:
    """One complete encoded frame as reassembled by the hub, never decoded."""

    kind: str
    codec: RTCRtpCodecParameters
    data: bytes
    timestamp: int  # RTP timestamp as sent by the publisher
    keyframe: bool
    # True when frames were lost between this one and the previous one: subscribers must
    # wait for a keyframe, because pack() renumbers frames and would hide the loss.
    discontinuity: bool
    ssrc: int
    # RFC 6464 level in dBov (0 loudest, -127 silence); audio only, when the publisher sends it.
    audio_level: int | None = None


FrameSink = Callable[[EncodedFrame], None]


def _seq_newer(a: int, b: int) -> bool:
    """True when sequence number a comes after b (16-bit wraparound)."""
    return a != b and ((a - b) & 0xFFFF) < _HALF_SEQ


def _seq_add(a: int, n: int) -> int:
    return (a + n) & 0xFFFF


def _vp8_starts_frame(payload: bytes) -> bool:
    # VP8 payload descriptor (RFC 7741): S bit set and partition index 0.
    return bool(payload) and bool(payload[0] & 0x10) and (payload[0] & 0x07) == 0


def _vp8_is_keyframe(data: bytes) -> bool:
    # VP8 frame tag (RFC 6386 section 9.1): P bit clear on key frames.
    return bool(data) and (data[0] & 0x01) == 0


def _h264_nal_types(data: bytes) -> set[int]:
    types: set[int] = set()
    pos = data.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(data):
        types.add(data[pos + 3] & 0x1F)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return types


def is_keyframe(codec: RTCRtpCodecParameters, data: bytes, starts_frame: bool = True) -> bool:
    """Whether a depayloaded frame can start decoding (VP8 key frame, H264 IDR with SPS)."""
    name = codec.name.lower()
    if name == "vp8":
        return starts_frame and _vp8_is_keyframe(data)
    if name == "h264":
        types = _h264_nal_types(data)
        return 5 in types and 7 in types
    # Audio codecs need no keyframe.
    return True


class _VideoAssembler:
    """Stands in for the receiver's JitterBuffer: rebuilds frames and hands them to a sink.

    Compared with aiortc's buffer it releases a frame on its RTP marker bit (one frame time
    less latency per hop), reports lost frames as a discontinuity, and bounds the stall an
    unrecoverable packet causes instead of waiting for the 512-packet buffer to overflow.
    """

    def __init__(self, receiver: RTCRtpReceiver, sink: FrameSink, stall_timeout: float) -> None:
        self._receiver = receiver
        self._sink = sink
        self._stall_timeout = stall_timeout
        self._packets: dict[int, Any] = {}
        self._next_seq: int | None = None
        self._discontinuity = True  # the first frame has no predecessor
        self._stall_since: float | None = None
        self.capacity = _MAX_FRAME_PACKETS
        self.stalls_bounded = 0

    def add(self, packet: Any) -> tuple[bool, None]:
        seq: int = packet.sequence_number
        if self._next_seq is None:
            self._next_seq = seq
        elif not _seq_newer(seq, self._next_seq) and seq != self._next_seq:
            return False, None  # late duplicate or retransmission of a skipped packet
        self._packets[seq] = packet
        if len(self._packets) > self.capacity:
            self._skip(time.monotonic(), reason="overflow")
        self._drain()
        if self._packets:
            now = time.monotonic()
            if self._stall_since is None:
                self._stall_since = now
            elif now - self._stall_since > self._stall_timeout:
                self._skip(now, reason="stall")
                self._drain()
        return False, None

    def _drain(self) -> None:
        while self._next_seq is not None and self._emit_one():
            self._stall_since = None if not self._packets else time.monotonic()

    def _emit_one(self) -> bool:
        """Emit the frame starting at _next_seq if it is complete."""
        assert self._next_seq is not None
        first = self._packets.get(self._next_seq)
        if first is None:
            return False
        parts = [first]
        seq = self._next_seq
        while not parts[-1].marker:
            nxt = self._packets.get(_seq_add(seq, 1))
            if nxt is None:
                return False
            if nxt.timestamp != first.timestamp:
                break  # marker lost but the next frame started: the frame is complete
            parts.append(nxt)
            seq = _seq_add(seq, 1)
            if len(parts) > _MAX_FRAME_PACKETS:
                return False
        for i in range(len(parts)):
            self._packets.pop(_seq_add(self._next_seq, i), None)
        self._next_seq = _seq_add(seq, 1)
        codec = _receiver_codec(self._receiver, first.payload_type)
        if codec is None:
            return True
        data = b"".join(p._data for p in parts)
        starts = codec.name.lower() != "vp8" or _vp8_starts_frame(first.payload)
        frame = EncodedFrame(
            kind="video",
            codec=codec,
            data=data,
            timestamp=first.timestamp,
            keyframe=is_keyframe(codec, data, starts),
            discontinuity=self._discontinuity or not starts,
            ssrc=first.ssrc,
        )
        self._discontinuity = False
        self._sink(frame)
        return True

    def _skip(self, now: float, reason: str) -> None:
        """Give up on the frame blocking the buffer; resume at the next frame start."""
        if not self._packets or self._next_seq is None:
            return
        base = self._next_seq
        ordered = sorted(self._packets, key=lambda s: (s - base) & 0xFFFF)
        blocked_ts = None
        head = self._packets.get(self._next_seq)
        if head is not None:
            blocked_ts = head.timestamp
        resume = None
        for s in ordered:
            p = self._packets[s]
            if blocked_ts is None:
                blocked_ts = p.timestamp
            if p.timestamp != blocked_ts:
                resume = s
                break
        if resume is None:
            self._packets.clear()
            self._next_seq = None
        else:
            for s in ordered:
                if s == resume:
                    break
                del self._packets[s]
            self._next_seq = resume
        self._discontinuity = True
        self._stall_since = now
        self.stalls_bounded += 1
        logger.info("video receiver skipped a broken frame (%s)", reason)


class _AudioAssembler:
    """Stands in for the receiver's audio JitterBuffer: every RTP packet is one frame.

    aiortc's audio buffer prefetches four packets (80 ms) for its decoder; forwarding needs
    none, so packets go out in arrival order and late ones are dropped.
    """

    def __init__(self, receiver: RTCRtpReceiver, sink: FrameSink) -> None:
        self._receiver = receiver
        self._sink = sink
        self._last_seq: int | None = None
        self.capacity = 16

    def add(self, packet: Any) -> tuple[bool, None]:
        seq: int = packet.sequence_number
        if self._last_seq is not None and not _seq_newer(seq, self._last_seq):
            return False, None
        self._last_seq = seq
        codec = _receiver_codec(self._receiver, packet.payload_type)
        if codec is None:
            return False, None
        level = None
        ext = packet.extensions.audio_level
        if ext is not None:
            level = -int(ext[1])
        self._sink(
            EncodedFrame(
                kind="audio",
                codec=codec,
                data=packet._data,
                timestamp=packet.timestamp,
                keyframe=True,
                discontinuity=False,
                ssrc=packet.ssrc,
                audio_level=level,
            )
        )
        return False, None


def _receiver_codec(receiver: RTCRtpReceiver, payload_type: int) -> RTCRtpCodecParameters | None:
    codecs: dict[int, RTCRtpCodecParameters] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
    return codecs.get(payload_type)


def tap_receiver(
    receiver: RTCRtpReceiver, kind: str, sink: FrameSink, *, stall_timeout: float = 0.4
) -> None:
    """Route a receiver's reassembled encoded frames to `sink` instead of its decoder.

    Call it before the receiver starts (right after setRemoteDescription, e.g. in the "track"
    event). The decoder thread still starts but never gets a frame, so nothing is decoded, and
    the remote track's queue stays empty (no unbounded growth when nobody reads it).
    """
    if kind == "video":
        assembler: Any = _VideoAssembler(receiver, sink, stall_timeout)
    else:
        assembler = _AudioAssembler(receiver, sink)
    receiver._RTCRtpReceiver__jitter_buffer = assembler  # type: ignore[attr-defined]


def tap_stats(receiver: RTCRtpReceiver) -> int:
    """How many times a tapped video receiver cut a stall short (0 for audio)."""
    assembler = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    return int(getattr(assembler, "stalls_bounded", 0))


PacketSink = Callable[[Any], None]


class PacketTap:
    """Stands in for a receiver's JitterBuffer in packet mode: every RTP packet, as aiortc parsed
    it (RTX already unwrapped, NACKs to the publisher already sent), goes to `sink` at once.

    Frames are rebuilt only while a frame sink is set (a recording): the packet path needs none.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        kind: str,
        sink: PacketSink,
        stall: float,
        intake: CompiledIntake | None = None,
    ) -> None:
        self._receiver = receiver
        # Where C takes this video's packets off the socket (rooms/intake.c), once routed.
        self.intake = intake if kind == "video" else None
        self._kind = kind
        self._sink = sink
        self._stall = stall
        self._frames: _VideoAssembler | _AudioAssembler | None = None
        self.capacity = 16 if kind == "audio" else _MAX_FRAME_PACKETS
        self.closed = False
        self._routed: set[int] = set()
        # Video packets of a known SSRC skip most of aiortc's receive path (_FastVideoRoute).
        self.fast = kind == "video" and FAST_VIDEO_RECEIVE

    def feed_frames(self, sink: FrameSink | None) -> None:
        """Also reassemble frames for `sink` (None: stop)."""
        if sink is None:
            self._frames = None
        elif self._kind == "video":
            self._frames = _VideoAssembler(self._receiver, sink, self._stall)
        else:
            self._frames = _AudioAssembler(self._receiver, sink)

    def add(self, packet: Any) -> tuple[bool, None]:
        self._sink(packet)
        if self._frames is not None:
            self._frames.add(packet)
        elif self.fast and packet.ssrc not in self._routed and not self.closed:
            self._route(packet)
        return False, None

    def _route(self, packet: Any) -> None:
        codec = _receiver_codec(self._receiver, packet.payload_type)
        streams = self._receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        if codec is None or codec.mimeType.lower().endswith("/rtx") or packet.ssrc not in streams:
            return
        self._routed.add(packet.ssrc)
        route = _FastVideoRoute(self, packet.ssrc, packet.payload_type)
        _fast_routes(self._receiver.transport)[packet.ssrc] = route.handle

    def close(self) -> None:
        """Stop routing: the receiver's packets go aiortc's way (and then nowhere) again."""
        self.closed = True
        if self.intake is not None and self.intake.routed:
            self.intake.unroute(self._receiver)
        routes = getattr(self._receiver.transport, "_tcd_routes", None)
        if routes is not None:
            for ssrc in self._routed:
                routes.pop(ssrc, None)


class ForwardedPacket:
    """A video packet as the fast receive path reads it: the fields of aiortc's RtpPacket that
    the forwarder and aiortc's receiver statistics use, nothing parsed beyond them."""

    __slots__ = (
        "batch",
        "marker",
        "payload",
        "payload_type",
        "sequence_number",
        "ssrc",
        "timestamp",
    )

    def __init__(
        self,
        sequence_number: int,
        timestamp: int,
        marker: int,
        payload_type: int,
        ssrc: int,
        payload: bytes,
        batch: SendBatch | None = None,
    ) -> None:
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.marker = marker
        self.payload_type = payload_type
        self.ssrc = ssrc
        self.payload = payload
        # Where the compiled fan-out queues what it sends for this packet (None: send at once).
        self.batch = batch


# The REMB the fast path sends each publisher, once a second, in place of aiortc's per-packet
# estimator (as Janus's videoroom caps its publishers): loss-based control in the browser does
# the rest. 0 turns the cap off (no REMB at all).
REMB_CAP_BPS = 2_000_000
_REMB_INTERVAL = 1.0


class _FastVideoRoute:
    """One publisher's video SSRC taken off aiortc's receive path after DTLS/SRTP: the header
    read with a few byte operations, aiortc's own statistics (for its receiver reports) and NACK
    generator fed, the packet handed to the tap's sink. RTX, other payload types and anything
    malformed still go the whole way through aiortc (which also sees each SSRC's first packet).
    """

    def __init__(self, tap: PacketTap, ssrc: int, payload_type: int) -> None:
        receiver = tap._receiver
        self._tap = tap
        self._receiver = receiver
        self._ssrc = ssrc
        self._payload_type = payload_type
        self._intake = tap.intake
        if self._intake is not None:
            self._intake.route(receiver, ssrc, payload_type)
            if not self._intake.routed:
                self._intake = None
        self._dtls_counters: dict[str, Any] = (
            receiver.transport.__dict__ if self._intake is not None else {}
        )
        self._stats = receiver._RTCRtpReceiver__remote_streams[ssrc]  # type: ignore[attr-defined]
        self._nacks = receiver._RTCRtpReceiver__nack_generator  # type: ignore[attr-defined]
        self._remb_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self.packets = 0

    def handle(self, data: bytes, batch: SendBatch | None = None) -> bool:
        """Take one decrypted RTP datagram; False hands it back to aiortc's path."""
        tap = self._tap
        if tap._frames is not None or tap.closed:
            return False  # frames are being rebuilt (a recording): aiortc's path depayloads
        second = data[1]
        if second & 0x7F != self._payload_type:
            return False
        first = data[0]
        size = len(data)
        start = 12 + 4 * (first & 0x0F)
        if first & 0x10:
            if size < start + 4:
                return False
            start += 4 + 4 * ((data[start + 2] << 8) | data[start + 3])
        end = size - data[-1] if first & 0x20 else size
        if start >= end:
            return False
        packet = ForwardedPacket(
            (data[2] << 8) | data[3],
            _WORD.unpack_from(data, 4)[0],
            second >> 7,
            self._payload_type,
            self._ssrc,
            data[start:end],
            batch,
        )
        self._stats.add(packet)
        nacks = self._nacks
        if nacks is not None:
            sequence = packet.sequence_number
            previous = nacks.max_seq
            if not nacks.missing and previous is not None and sequence == (previous + 1) & 0xFFFF:
                # The next packet in order with nothing missing: all NackGenerator.add would do
                # (its truncate walks the missing set on every packet).
                nacks.max_seq = sequence
            elif nacks.add(packet):
                self._spawn(self._receiver._send_rtcp_nack(self._ssrc, sorted(nacks.missing)))
        self.packets += 1
        intake = self._intake
        # With C taking the packets in between, this runs every RX_INTERVAL seconds or so.
        if REMB_CAP_BPS and (intake is not None or self.packets & 63 == 0):
            now = time.monotonic()
            if now - self._remb_at >= _REMB_INTERVAL:
                self._remb_at = now
                self._spawn(self._send_remb())
        tap._sink(packet)
        if intake is not None:
            intake.sync_transport(self._dtls_counters)
            intake.rearm()
        return True

    async def _send_remb(self) -> None:
        from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

        rtcp_ssrc = self._receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
        if rtcp_ssrc is None:
            return
        fci = pack_remb_fci(REMB_CAP_BPS, [self._ssrc])
        packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)
        await self._receiver._send_rtcp(packet)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _fast_routes(dtls: Any) -> dict[int, Callable[..., bool]]:
    """The SSRC -> route table of a DTLS transport, dispatching in front of aiortc's
    _handle_rtp_data (installed on first use)."""
    routes: dict[int, Callable[..., bool]] | None = getattr(dtls, "_tcd_routes", None)
    if routes is not None:
        return routes
    table: dict[int, Callable[..., bool]] = {}
    original = dtls._handle_rtp_data

    async def dispatch(data: bytes, arrival_time_ms: int) -> None:
        if len(data) >= 12:
            route = table.get(int.from_bytes(data[8:12], "big"))
            if route is not None and route(data):
                return
        await original(data, arrival_time_ms)

    dtls._handle_rtp_data = dispatch
    dtls._tcd_routes = table
    if FAST_VIDEO_RECEIVE:
        _receive_below_dtls(dtls, table, original)
    return table


_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
_RX_PACKETS = "_RTCDtlsTransport__rx_packets"


def _receive_below_dtls(dtls: Any, table: dict[int, Callable[..., bool]], handle_rtp: Any) -> None:
    """Video of a routed SSRC taken as the datagram arrives, ahead of aioice's queue and
    aiortc's DTLS loop: decrypted with the transport's own SRTP session and handed to its route
    in the same call, with no queue, future or coroutine step per packet. Everything else (STUN,
    DTLS, RTCP, RTX, SSRCs not routed) goes the usual way; so does a packet its route declines,
    already decrypted, to aiortc's RTP handling."""
    connection = dtls.transport._connection
    queue_datagram = connection.data_received
    counters: dict[str, Any] = dtls.__dict__
    tasks: set[asyncio.Task[None]] = set()

    def plain_received(plain: bytes, batch: SendBatch | None, route: Any = None) -> None:
        if route is None:
            route = table.get(int.from_bytes(plain[8:12], "big"))
        if route is None or not route(plain, batch):
            task = asyncio.get_running_loop().create_task(
                handle_rtp(plain, _aiortc_clock.current_ms())
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def data_received(data: bytes, component: int, batch: SendBatch | None = None) -> None:
        if len(data) > 12 and 127 < data[0] < 192 and not 191 < data[1] < 209:
            route = table.get(int.from_bytes(data[8:12], "big"))
            srtp = dtls._rx_srtp
            if route is not None and srtp is not None:
                counters[_RX_BYTES] += len(data)
                counters[_RX_PACKETS] += 1
                try:
                    plain = srtp.unprotect(data)
                except pylibsrtp.Error:
                    return  # as aiortc's loop drops it (a replay, a forgery)
                plain_received(plain, batch, route)
                return
        elif len(data) > 8 and 127 < data[0] < 192 and 191 < data[1] < 209 and FAST_RTCP:
            srtp = dtls._rx_srtp
            if srtp is not None:
                counters[_RX_BYTES] += len(data)
                counters[_RX_PACKETS] += 1
                try:
                    plain = srtp.unprotect_rtcp(data)
                except pylibsrtp.Error:
                    return
                rtcp.handle(plain)
                return
        queue_datagram(data, component)

    rtcp = _RtcpReceiver(dtls, tasks)
    # The publisher's packets read in one go queue their copies here, flushed when the socket
    # has nothing more waiting (None without the compiled fan-out: each copy goes at once).
    batch = SendBatch() if _fanout.LIBRARY is not None else None
    drain_buffer = bytearray(65536)  # the largest UDP datagram
    drain_view = memoryview(drain_buffer)
    # The compiled intake's reads of this transport: its buffer, the functions it calls, and
    # what it returns besides its answer (rooms/intake.c's tcd_drainer).
    ffi = _fanout.ffi
    c_buffer = ffi.new("unsigned char[]", 65536) if batch is not None else None
    c_view = ffi.buffer(c_buffer) if c_buffer is not None else None
    drainer: Any = None
    if batch is not None and c_buffer is not None:
        drainer = ffi.new("tcd_drainer *")
        drainer.batch = batch.c
        drainer.protect = _fanout_protect()
        drainer.unprotect = _intake_unprotect()
        # RTCP unprotected in C too, where it is read as it arrives (else it goes as it came).
        drainer.unprotect_rtcp = _intake_unprotect_rtcp() if FAST_RTCP else ffi.NULL
        drainer.buf = c_buffer
        drainer.size = 65536
        drainer.max = _DRAIN_DATAGRAMS
    routes_set: list[Any] = [None]  # the intake array the drainer points to (kept alive here)

    def drain_compiled(
        protocol: Any, stun: Any, fd: int, data: bytes | None, addr: Any, intakes: Any
    ) -> None:
        """Hand the datagram (None: C reads the first one too) and what else is waiting to
        rooms/intake.c, which takes the publishers' plain video packets itself and unprotects
        RTCP; Python sees the rest, one at a time."""
        assert batch is not None and c_view is not None
        if routes_set[0] is not intakes:
            routes_set[0] = intakes
            drainer.routes = intakes
            drainer.n = len(intakes)
        drain = _fanout.LIBRARY.tcd_drain
        first = 0
        if data is not None:
            first = len(data)
            c_view[0:first] = data
        for _ in range(_DRAIN_DATAGRAMS):
            answer = drain(fd, drainer, first)
            first = 0
            if answer == 0 or answer == _fanout.MORE:
                return  # (C flushed what it queued)
            if answer < 0:
                protocol.error_received(OSError(-answer, os.strerror(-answer)))
                return
            chunk = c_view[0 : drainer.len]
            if answer == _fanout.RTCP:
                counters[_RX_BYTES] += drainer.received
                counters[_RX_PACKETS] += 1
                rtcp.handle(chunk)
                continue
            if answer == _fanout.PLAIN:
                plain_received(chunk, batch)
                continue
            if chunk and 127 < chunk[0] < 192:
                protocol.receiver.data_received(chunk, protocol.local_candidate.component, batch)
                continue
            # (Only STUN needs the sender's address: RTP and RTCP go by the ICE pair.)
            if drainer.addr_len:
                addr = _sockaddr_tuple(ffi.buffer(drainer.addr, drainer.addr_len)[:])
            stun(chunk, addr)

    connection.data_received = data_received

    def read_in_c(protocol: Any, stun: Any) -> None:
        """While the transport has compiled intakes, the socket's readiness goes straight to
        rooms/intake.c, which reads the first datagram too: no recvfrom into a fresh bytes
        object, no protocol call, no copy into C's buffer per wakeup. asyncio's own reader
        runs when there is none (and reads the datagram into datagram_received above)."""
        transport: Any = protocol.transport
        sends = batch
        if sends is None or type(transport) is not _SELECTOR_DATAGRAM_TRANSPORT:
            return  # (no compiled fan-out, or another loop's transport: asyncio's reader stays)
        if transport.is_closing():
            return
        asyncio_read = transport._read_ready
        fd: int = transport._sock_fd

        def read_ready() -> None:
            if transport._conn_lost:
                return
            intakes = getattr(dtls, "_tcd_intake_array", None)
            if intakes is None:
                asyncio_read()
                return
            try:
                drain_compiled(protocol, stun, fd, None, None, intakes)
            finally:
                sends.flush()

        # Replaces the transport's reader on the selector; its close() removes ours.
        transport._loop._add_reader(fd, read_ready)

    # RTP and RTCP need not be tried as STUN first (aioice parses every datagram as STUN and
    # takes the ValueError for "not STUN"): a first byte of 128-191 is never STUN's (0-3).
    for protocol in connection._protocols:
        if type(protocol) is not _aioice_ice.StunProtocol:
            continue  # (a TURN relay's protocol keeps its own way)
        stun_received = protocol.datagram_received

        def datagram_received(
            data: bytes,
            addr: tuple[Any, ...],
            _protocol: Any = protocol,
            _stun: Any = stun_received,
        ) -> None:
            if not (data and 127 < data[0] < 192):
                _stun(data, addr)
                return
            transport: Any = _protocol.transport
            intakes = getattr(dtls, "_tcd_intake_array", None)
            if intakes is not None and batch is not None and transport is not None:
                try:
                    drain_compiled(_protocol, _stun, transport._sock_fd, data, addr, intakes)
                finally:
                    batch.flush()
                return
            component = _protocol.local_candidate.component
            _protocol.receiver.data_received(data, component, batch)
            if batch is None:
                return
            # What else is already waiting on the socket (the rest of the frame, most often) is
            # read now rather than one event-loop turn each; then the copies go out together.
            try:
                if transport is not None:
                    sock = transport._sock
                    for _ in range(_DRAIN_DATAGRAMS):
                        try:
                            # Into one buffer the size of the largest datagram, then copied out
                            # at its own size (recvfrom(n) allocates n bytes each time).
                            size, addr = sock.recvfrom_into(drain_buffer)
                            data = bytes(drain_view[:size])
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError as error:
                            _protocol.error_received(error)  # as asyncio's own read reports it
                            break
                        if data and 127 < data[0] < 192:
                            _protocol.receiver.data_received(data, component, batch)
                        else:
                            _stun(data, addr)
            finally:
                batch.flush()

        target: Any = protocol
        target.datagram_received = datagram_received
        if COMPILED_INTAKE:
            read_in_c(protocol, stun_received)


# The transport asyncio's selector loops make for a datagram endpoint (aioice's sockets).
_SELECTOR_DATAGRAM_TRANSPORT: Any = vars(_asyncio_selector_events)["_SelectorDatagramTransport"]

# Datagrams read from a publisher's socket at most in one go (then the event loop runs again).
_DRAIN_DATAGRAMS = 32


class SendBatch:
    """The compiled fan-out's queue for one read of a publisher's socket (rooms/fanout.c: each
    subscriber's copies of what was read go out in one sendmmsg). Holds what keeps the outputs
    it was handed alive until it flushes, so that none it points to is freed before."""

    __slots__ = ("c", "held")

    def __init__(self) -> None:
        self.c: Any = _fanout.ffi.new("tcd_batch *")
        self.held: list[object] = []

    def flush(self) -> None:
        """Send everything queued."""
        if self.c.count:
            _fanout.LIBRARY.tcd_flush(self.c)
        self.held.clear()


# Video publications' packets taken off the socket in C (rooms/intake.c) while every
# subscriber is fanned out there too (False, or TCD_INTAKE=python: Python's fast path reads
# each packet).
COMPILED_INTAKE = os.environ.get("TCD_INTAKE", "compiled").strip().lower() != "python"


class CompiledIntake:
    """One video publication's tcd_rx (rooms/intake.c): its packets read, unprotected, counted,
    kept for NACKs and fanned out in C while `enabled`; its history (for both paths); the
    receive statistics and NACK state aiortc's receiver reads, through the classes below.

    Python owns what the struct points to: the fan-out array (kept in `_outs`) and the SRTP
    session (in `_srtp_session`)."""

    def __init__(self, library: Any) -> None:
        self._library = library
        self.c: Any = _fanout.ffi.new("tcd_rx *")
        library.tcd_rx_reset(self.c)
        self.c.clock_rate = 90000
        self._outs: Any = None
        self._srtp_session: Any = None
        self._large: dict[int, ForwardedPacket] = {}  # payloads larger than a C slot
        self._synced = (0, 0)  # rx_bytes, rx_packets already added to the transport's counters
        self._wanted = False  # what the publication last asked enable() for
        self.routed = False

    @property
    def enabled(self) -> bool:
        return bool(self.c.enabled)

    def enable(self, enabled: bool) -> None:
        """Let C take packets (or stop it); takes effect with the next datagram (or once
        routed, when asked before)."""
        self._wanted = enabled
        self.c.enabled = 1 if enabled and self.routed else 0
        self.rearm()

    def rearm(self) -> None:
        """Python has seen a packet: C may take those of the next RX_INTERVAL seconds."""
        self.c.python_due = time.monotonic() + _fanout.RX_INTERVAL

    def set_fanout(self, outs: Any, count: int) -> None:
        """The outputs C fans each packet out to (a fanout_outputs() array, or None)."""
        self.c.outs = outs if outs is not None else _fanout.ffi.NULL
        self.c.n = count if outs is not None else 0
        self._outs = outs

    # What C took, which the publication adds to its own counts.
    @property
    def packets(self) -> int:
        return int(self.c.packets)

    @property
    def frames(self) -> int:
        return int(self.c.frames)

    @property
    def last_at(self) -> float:
        return float(self.c.last_at)

    # The publication's packet history (PacketHistory's interface), held in C.
    def add(self, packet: Any) -> bool:
        """Keep `packet`; False when its sequence number is already held (a duplicate)."""
        payload = packet.payload
        kept = self._library.tcd_history_put(
            self.c,
            packet.sequence_number,
            packet.timestamp,
            packet.marker,
            payload,
            len(payload),
        )
        index = packet.sequence_number & (_fanout.HISTORY - 1)
        if kept == 2:
            self._large[index] = packet
        elif kept == 1 and self._large:
            self._large.pop(index, None)
        return bool(kept)

    def get(self, sequence_number: int) -> ForwardedPacket | None:
        """The packet with this publisher sequence number, if still held (else None)."""
        index = sequence_number & (_fanout.HISTORY - 1)
        slot = self.c.history[index]
        if slot.sequence != sequence_number:
            return None
        if slot.length < 0:
            return self._large.get(index)
        return ForwardedPacket(
            sequence_number,
            int(slot.timestamp),
            int(slot.marker),
            int(self.c.payload_type),
            int(self.c.ssrc),
            _fanout.ffi.buffer(slot.payload, slot.length)[:],
        )

    def route(self, receiver: RTCRtpReceiver, ssrc: int, payload_type: int) -> None:
        """Bind to the publisher's SSRC on its transport: aiortc's receive statistics and NACK
        generator for it move into the struct; C may take its packets once enabled."""
        dtls: Any = receiver.transport
        srtp = dtls._rx_srtp
        if srtp is None or self.routed:
            return
        c = self.c
        c.ssrc = ssrc
        c.payload_type = payload_type
        streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        old = streams.get(ssrc)
        if old is not None:
            c.clock_rate = old._clockrate
            streams[ssrc] = _CompiledStreamStatistics(self, old)
        nacks = receiver._RTCRtpReceiver__nack_generator  # type: ignore[attr-defined]
        if nacks is not None:
            receiver._RTCRtpReceiver__nack_generator = _CompiledNackGenerator(  # type: ignore[attr-defined]
                self, nacks
            )
        else:
            # No NACK generator: C's "next in sequence" test runs on its own number.
            c.nack_max = -1
        self._srtp_session = srtp  # keeps the srtp_t alive while C holds it
        c.srtp = _fanout.ffi.cast("void *", int(_srtp_binding.ffi.cast("uintptr_t", srtp._srtp[0])))
        self.routed = True
        self.enable(self._wanted)
        intakes: list[CompiledIntake] = dtls.__dict__.setdefault("_tcd_intakes", [])
        intakes.append(self)
        dtls._tcd_intake_array = _fanout.ffi.new("tcd_rx *[]", [i.c for i in intakes])

    def unroute(self, receiver: RTCRtpReceiver) -> None:
        """Stop taking packets (the publication closes)."""
        self.c.enabled = 0
        self.c.srtp = _fanout.ffi.NULL
        dtls: Any = receiver.transport
        intakes: list[CompiledIntake] = dtls.__dict__.get("_tcd_intakes", [])
        if self in intakes:
            intakes.remove(self)
            dtls._tcd_intake_array = (
                _fanout.ffi.new("tcd_rx *[]", [i.c for i in intakes]) if intakes else None
            )
        self.routed = False

    def sync_transport(self, counters: dict[str, Any]) -> None:
        """Add what C received to the transport's byte and packet counters (its statistics)."""
        received = int(self.c.rx_bytes), int(self.c.rx_packets)
        last_bytes, last_packets = self._synced
        if received[1] != last_packets:
            counters[_RX_BYTES] += received[0] - last_bytes
            counters[_RX_PACKETS] += received[1] - last_packets
            self._synced = received


class _IntakeField:
    """A StreamStatistics / NackGenerator attribute kept in the intake's C struct (-1: None)."""

    def __init__(self, field: str, optional: bool = True) -> None:
        self._field = field
        self._optional = optional

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        value = int(getattr(obj._intake.c, self._field))
        return None if self._optional and value < 0 else value

    def __set__(self, obj: Any, value: int | None) -> None:
        setattr(obj._intake.c, self._field, -1 if value is None else value)


class _CompiledStreamStatistics(_rtcrtpreceiver.StreamStatistics):
    """aiortc's receive statistics for one SSRC, kept in the intake's C struct so that the
    packets C takes and those aiortc or Python read count alike (aiortc builds its receiver
    reports from these fields)."""

    base_seq = _IntakeField("base_seq")
    max_seq = _IntakeField("max_seq")
    cycles = _IntakeField("cycles", optional=False)
    packets_received = _IntakeField("packets_received", optional=False)
    _jitter_q4 = _IntakeField("jitter_q4", optional=False)
    _last_arrival = _IntakeField("last_arrival")
    _last_timestamp = _IntakeField("last_timestamp")

    def __init__(self, intake: CompiledIntake, old: Any) -> None:
        self._intake = intake
        self._clockrate = old._clockrate
        self._expected_prior = old._expected_prior
        self._received_prior = old._received_prior
        for name in _STATS_FIELDS:
            setattr(self, name, getattr(old, name))

    def add(self, packet: Any) -> None:
        self._intake._library.tcd_stats_add(
            self._intake.c, packet.sequence_number, packet.timestamp
        )


_STATS_FIELDS = (
    "base_seq",
    "max_seq",
    "cycles",
    "packets_received",
    "_jitter_q4",
    "_last_arrival",
    "_last_timestamp",
)


class _CompiledNackGenerator(_rtcrtpreceiver.NackGenerator):
    """aiortc's NACK generator with its highest sequence number in the intake's struct (which C
    advances for the packets it takes) and the size of its missing set told to C (which takes
    nothing while a packet is missing)."""

    max_seq = _IntakeField("nack_max")

    def __init__(self, intake: CompiledIntake, old: Any) -> None:
        self._intake = intake
        self.max_seq = old.max_seq
        self.missing = old.missing
        intake.c.missing = len(self.missing)

    def add(self, packet: Any) -> bool:
        missed = bool(super().add(packet))
        self._intake.c.missing = len(self.missing)
        return missed


def compiled_intake() -> CompiledIntake | None:
    """A CompiledIntake for a video publication, or None (no compiled library, or turned off)."""
    if _fanout.LIBRARY is None or not COMPILED_INTAKE:
        return None
    return CompiledIntake(_fanout.LIBRARY)


@functools.cache
def _intake_unprotect_rtcp() -> Any:
    """libsrtp's srtp_unprotect_rtcp, as rooms/intake.c calls it."""
    binding = _srtp_binding.ffi
    function = binding.addressof(_srtp_binding.lib, "srtp_unprotect_rtcp")
    return _fanout.ffi.cast("tcd_unprotect_fn", int(binding.cast("uintptr_t", function)))


@functools.cache
def _intake_unprotect() -> Any:
    """libsrtp's srtp_unprotect (inside pylibsrtp's binding) as rooms/intake.c calls it."""
    binding = _srtp_binding.ffi
    function = binding.addressof(_srtp_binding.lib, "srtp_unprotect")
    return _fanout.ffi.cast("tcd_unprotect_fn", int(binding.cast("uintptr_t", function)))


def _sockaddr_tuple(raw: bytes) -> tuple[Any, ...]:
    """A struct sockaddr_in/in6 as asyncio reports a datagram's sender."""
    family = int.from_bytes(raw[0:2], "little")
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET6:
        host = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        return host, port, int.from_bytes(raw[4:8], "big"), int.from_bytes(raw[24:28], "little")
    return socket.inet_ntop(socket.AF_INET, raw[4:8]), port


_RTCP_SR, _RTCP_RR, _RTCP_SDES, _RTCP_PSFB = 200, 201, 202, 206
_RTCP_REMB_FMT = 15
# One report block: SSRC, fraction lost (8 bits) and cumulative lost (signed 24), extended
# highest sequence number, jitter, LSR, DLSR.
_REPORT_BLOCK = struct.Struct("!IIIIII")
_SENDER_LSR = "_RTCRtpSender__lsr"
_SENDER_LSR_TIME = "_RTCRtpSender__lsr_time"
_SENDER_RTT = "_RTCRtpSender__rtt"
_SENDER_STATS = "_RTCRtpSender__stats"
_SENDER_KIND = "_RTCRtpSender__kind"
_SENDER_ENCODER = "_RTCRtpSender__encoder"
_RTT_ALPHA = _rtcrtpsender.RTT_ALPHA


class _RtcpReceiver:
    """A transport's RTCP, handled as it arrives (packet mode, with the fast receive path).

    What every subscriber sends every second is read here in a few byte operations: receiver
    reports on the hub's streams (round trip time and the remote-inbound-rtp stats, exactly as
    aiortc's RTCRtpSender keeps them), SDES (which aiortc reads nothing from) and REMB (which
    steers only an encoder, and forwarded streams have none). Everything else in the compound
    (NACKs, PLI/FIR, a publisher's sender reports, BYE, anything unknown or malformed) goes to
    aiortc's own handling, packet by packet, as before. Without this, that handling plus the
    queue, future and coroutine steps of aiortc's DTLS loop cost a fifth of the hub's CPU at
    8 sites (tcd-hub bench sfu).
    """

    def __init__(self, dtls: Any, tasks: set[asyncio.Task[None]]) -> None:
        self._dtls = dtls
        self._senders: dict[int, Any] = dtls._rtp_router.senders
        self._tasks = tasks

    def handle(self, data: bytes) -> None:
        """Take one decrypted compound RTCP datagram."""
        size = len(data)
        position = 0
        while position + 8 <= size:
            first = data[position]
            if first >> 6 != 2:
                return  # aiortc drops the rest of a malformed compound too
            end = position + 4 + 4 * ((data[position + 2] << 8) | data[position + 3])
            if end > size:
                return
            kind = data[position + 1]
            count = first & 0x1F
            if kind == _RTCP_RR and position + 8 + 24 * count <= end:
                self._reports(data, position, count)
            elif kind == _RTCP_SDES:
                pass
            elif not (
                kind == _RTCP_PSFB
                and count == _RTCP_REMB_FMT
                and self._remb_idle(data, position, end)
            ):
                self._aiortc(data[position:end])
            position = end

    def _reports(self, data: bytes, position: int, count: int) -> None:
        reporter = _WORD.unpack_from(data, position + 4)[0]
        senders = self._senders
        for index in range(count):
            block = _REPORT_BLOCK.unpack_from(data, position + 8 + 24 * index)
            sender = senders.get(block[0])
            if sender is not None:
                _record_report(sender, reporter, block)

    def _remb_idle(self, data: bytes, position: int, end: int) -> bool:
        """True when a REMB is about senders without an encoder (nothing to steer)."""
        try:
            _, ssrcs = _rtp.unpack_remb_fci(data[position + 12 : end])
        except ValueError:
            return True  # aiortc ignores a malformed REMB as well
        senders = self._senders
        return not any(
            getattr(senders.get(ssrc), _SENDER_ENCODER, None) is not None for ssrc in ssrcs
        )

    def _aiortc(self, packet: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._dtls._handle_rtcp_data(packet))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _record_report(sender: Any, reporter: int, block: tuple[int, ...]) -> None:
    """What RTCRtpSender._handle_rtcp_packet does with a report block on its stream."""
    _, lost_word, _, jitter, lsr, dlsr = block
    packets_lost = lost_word & 0xFFFFFF
    if packets_lost & 0x800000:
        packets_lost -= 0x1000000
    state = sender.__dict__
    if state[_SENDER_LSR] == lsr and dlsr:
        rtt = time.time() - state[_SENDER_LSR_TIME] - dlsr / 65536
        previous = state[_SENDER_RTT]
        state[_SENDER_RTT] = (
            rtt if previous is None else _RTT_ALPHA * previous + (1 - _RTT_ALPHA) * rtt
        )
    state[_SENDER_STATS].add(
        RTCRemoteInboundRtpStreamStats(
            timestamp=_aiortc_clock.current_datetime(),
            type="remote-inbound-rtp",
            id="remote-inbound-rtp_" + str(id(sender)),
            ssrc=reporter,
            kind=state[_SENDER_KIND],
            transportId=sender.transport._stats_id,
            packetsReceived=state[_SR_PACKETS] - packets_lost,
            packetsLost=packets_lost,
            jitter=jitter,
            roundTripTime=state[_SENDER_RTT],
            fractionLost=lost_word >> 24,
        )
    )


def tap_receiver_packets(
    receiver: RTCRtpReceiver,
    kind: str,
    sink: PacketSink,
    *,
    stall_timeout: float = 0.4,
    intake: CompiledIntake | None = None,
) -> PacketTap:
    """Route a receiver's RTP packets to `sink` instead of its jitter buffer and decoder (call it
    where tap_receiver would be called). Each packet is aiortc's RtpPacket: sequence_number,
    timestamp, marker, payload_type, ssrc, payload (still with its payload descriptor),
    extensions.audio_level."""
    tap = PacketTap(receiver, kind, sink, stall_timeout, intake)
    receiver._RTCRtpReceiver__jitter_buffer = tap  # type: ignore[attr-defined]
    return tap


def packet_codec(receiver: RTCRtpReceiver, payload_type: int) -> RTCRtpCodecParameters | None:
    """The codec a receiver negotiated for a payload type."""
    return _receiver_codec(receiver, payload_type)


# Seconds between 1900 (NTP) and 1970 (Unix).
_NTP_EPOCH = 2208988800
_SR_PACKETS = "_RTCRtpSender__packet_count"
_SR_OCTETS = "_RTCRtpSender__octet_count"
_SR_NTP = "_RTCRtpSender__ntp_timestamp"
_SR_RTP = "_RTCRtpSender__rtp_timestamp"
_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
# RTP header (12) + one-byte extension block (4 + mid 17 + abs-send-time 4 + level 2, padded).
_MAX_PACKET = 1500 + 12 + 32
_HEAD = struct.Struct("!BHI")  # second byte (marker, payload type), sequence number, timestamp
_WORD = struct.Struct("!I")
_SRTP_OK = 0


def ntp_now() -> int:
    """The current time as a 64-bit NTP timestamp (what aiortc's sender reports use)."""
    return int((time.time() + _NTP_EPOCH) * 4294967296.0)


class PacketPath:
    """The way out for packets forwarded to one subscriber-side sender, around aiortc's sender
    loop: the RTP header is built once (the sender's SSRC, payload type and header extensions in
    the subscriber's numbering) in a buffer that SRTP protects in place, and the packet goes to
    the ICE pair's UDP socket with one sendto.

    aiortc's sender keeps running for RTCP: its sender reports read the packet and octet counts
    and the NTP/RTP timestamp pair that send() keeps up to date on it. Continuity of the
    outgoing stream (sequence number, timestamp, VP8 picture id) lives here, because a slot's
    sender outlives the publications that feed it.
    """

    def __init__(
        self, sender: RTCRtpSender, payload_type: int, clock_rate: int, vp8: bool = False
    ) -> None:
        self._sender = sender
        self.vp8 = vp8
        self._sequence_delta = 0
        self._timestamp_delta = 0
        self._counters: dict[str, Any] = sender.__dict__
        self.kind = sender.kind
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.ssrc: int = sender._ssrc
        self.rtx_ssrc: int = sender._rtx_ssrc
        self.rtx_payload_type: int | None = sender._RTCRtpSender__rtx_payload_type  # type: ignore[attr-defined]
        self._dtls: Any = sender.transport
        # The transport's own counters (its stats' bytesSent, what the quality meter reads).
        self._transport_counters: dict[str, Any] = self._dtls.__dict__
        mid: str | None = sender._RTCRtpSender__mid  # type: ignore[attr-defined]
        ids = sender._RTCRtpSender__rtp_header_extensions_map._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
        self._header, self._abs_offset, self._level_offset = _header_template(
            self.ssrc,
            mid,
            ids.mid,
            ids.abs_send_time,
            ids.audio_level if self.kind == "audio" else None,
        )
        self._rtx_header = _header_template(self.rtx_ssrc, mid, ids.mid, ids.abs_send_time, None)[0]
        self._abs_word = (self._header[self._abs_offset - 1] << 24) if self._abs_offset else 0
        self.header_size = len(self._header)
        # The header's second byte by marker bit (aiortc's RtpPacket.marker is 0 or 1).
        self._second_byte = (payload_type, 0x80 | payload_type)
        self._buffer = _srtp_binding.ffi.new("unsigned char[]", _MAX_PACKET)
        self._view = memoryview(_srtp_binding.ffi.buffer(self._buffer))
        self._view[: self.header_size] = self._header
        self._length = _srtp_binding.ffi.new("int *")
        self._protect = _srtp_binding.lib.srtp_protect
        self._pair: Any = None
        self._sock: socket.socket | None = None
        self._addr: tuple[str, int] | None = None
        self._srtp: Any = None
        self._rtx_sequence = random.getrandbits(16)
        # Continuity of what this sender has sent (None: nothing yet).
        self.last_sequence: int | None = None
        self.last_timestamp = 0
        self.last_ntp = 0
        self.last_payload: bytes = b""
        self.last_source: object = None
        self.picture_id_delta = 0
        self.packets = 0
        self.frames = 0
        self.dropped = 0
        self.retransmitted = 0
        self.closed = False

    def sent_picture_id(self) -> int:
        """The VP8 picture id of the newest packet sent (after rewriting), -1 if none."""
        last = self.last_payload
        offset = vp8_picture_id_offset(last) if self.vp8 and last else -1
        if offset < 0:
            return -1
        return (vp8_picture_id(last, offset) + self.picture_id_delta) & 0x7FFF

    def set_offsets(self, sequence_delta: int, timestamp_delta: int) -> None:
        """What send_offset adds to publisher sequence numbers and timestamps (set at a cut)."""
        self._sequence_delta = sequence_delta
        self._timestamp_delta = timestamp_delta

    def send_offset(
        self, marker: int, sequence: int, timestamp: int, payload: bytes, ntp: int, level: int
    ) -> bool:
        """Send one publisher packet, its sequence number and timestamp moved by the offsets
        and its VP8 picture id by picture_id_delta."""
        return self.send(
            marker,
            (sequence + self._sequence_delta) & 0xFFFF,
            (timestamp + self._timestamp_delta) & 0xFFFFFFFF,
            payload,
            ntp,
            level,
            vp8_picture_id_offset(payload) if self.vp8 and self.picture_id_delta else -1,
        )

    def _nominated_route(self) -> bool:
        """Whether packets can go out now (finding the route again if the ICE pair changed)."""
        if self._pair is not None and self._connection._nominated.get(1) is self._pair:
            return True
        return not self.closed and self._route()

    routed = _nominated_route

    def sync(self) -> None:
        """Counters are kept up to date as each packet goes (see CompiledPacketPath)."""

    def _route(self) -> bool:
        """Find the nominated ICE pair's socket and the SRTP context; False when not connected."""
        dtls = self._dtls
        if dtls._state is not _rtcdtlstransport.State.CONNECTED:
            return False
        connection = dtls.transport._connection
        pair = connection._nominated.get(1)
        if pair is None:
            return False
        transport = pair.protocol.transport
        if transport is None or transport.is_closing():
            return False
        self._pair = pair
        self._sock = transport._sock
        self._addr = pair.remote_addr
        self._srtp = dtls._tx_srtp._srtp[0]
        self._connection = connection
        return True

    def send(
        self,
        marker: int,
        sequence: int,
        timestamp: int,
        payload: bytes,
        ntp: int,
        level: int,
        picture_id_offset: int = -1,
    ) -> bool:
        """Send one packet; False (and counted) when it could not go out.

        `level` is the RFC 6464 byte for audio (ignored for video); `picture_id_offset`, when
        not -1, is where in `payload` the VP8 picture id sits, rewritten by picture_id_delta."""
        if not self._nominated_route():
            self.dropped += 1
            return False
        view = self._view
        _HEAD.pack_into(
            view,
            1,
            (0x80 | self.payload_type) if marker else self.payload_type,
            sequence,
            timestamp,
        )
        if self._abs_offset:
            _WORD.pack_into(view, self._abs_offset - 1, self._abs_word | ((ntp >> 14) & 0xFFFFFF))
        if self._level_offset:
            view[self._level_offset] = level
        start = self.header_size
        end = start + len(payload)
        if end > _MAX_PACKET - 32:
            self.dropped += 1
            return False
        view[start:end] = payload
        if picture_id_offset >= 0:
            vp8_rewrite_picture_id(view, start + picture_id_offset, self.picture_id_delta)
        length = self._length
        length[0] = end
        if self._protect(self._srtp, self._buffer, length) != _SRTP_OK:
            self.dropped += 1
            return False
        try:
            self._sock.sendto(view[: length[0]], self._addr)  # type: ignore[union-attr,arg-type]
        except (BlockingIOError, InterruptedError):
            self.dropped += 1  # the socket's buffer is full: UDP drops, the subscriber NACKs
            return False
        except OSError:
            self._pair = None  # closed or unreachable: find the route again next time
            self.dropped += 1
            return False
        transport = self._transport_counters
        transport[_TX_BYTES] += length[0]
        transport[_TX_PACKETS] += 1
        counters = self._counters
        counters[_SR_PACKETS] += 1
        counters[_SR_OCTETS] += end - start
        if marker or self.kind == "audio":
            counters[_SR_NTP] = ntp
            counters[_SR_RTP] = timestamp
            self.frames += 1
        if self.last_sequence is None or ((sequence - self.last_sequence) & 0xFFFF) < 0x8000:
            self.last_sequence = sequence
            self.last_timestamp = timestamp
            self.last_ntp = ntp
            self.last_payload = payload
        self.packets += 1
        return True

    def send_rtx(
        self, sequence: int, timestamp: int, payload: bytes, ntp: int, marker: int
    ) -> bool:
        """Retransmit the packet this sender sent as `sequence`: over RTX when negotiated
        (RFC 4588: own SSRC and sequence, the original sequence number first in the payload),
        else again as it was."""
        if not self._nominated_route():
            return False
        if self.rtx_payload_type is None:
            header = bytearray(self._header)
            _HEAD.pack_into(
                header,
                1,
                (0x80 | self.payload_type) if marker else self.payload_type,
                sequence,
                timestamp,
            )
            body = payload
        else:
            header = bytearray(self._rtx_header)
            rtx_pt = self.rtx_payload_type
            _HEAD.pack_into(
                header, 1, (0x80 | rtx_pt) if marker else rtx_pt, self._rtx_sequence, timestamp
            )
            self._rtx_sequence = (self._rtx_sequence + 1) & 0xFFFF
            body = sequence.to_bytes(2, "big") + payload
        if self._abs_offset:
            _WORD.pack_into(header, self._abs_offset - 1, self._abs_word | ((ntp >> 14) & 0xFFFFFF))
        try:
            protected = self._dtls._tx_srtp.protect(bytes(header) + body)
            self._sock.sendto(protected, self._addr)  # type: ignore[union-attr,arg-type]
            self._transport_counters[_TX_BYTES] += len(protected)
            self._transport_counters[_TX_PACKETS] += 1
        except Exception:
            return False
        self.retransmitted += 1
        return True


def _sockaddr(address: tuple[str, int]) -> bytes:
    """A struct sockaddr_in or sockaddr_in6 for sendto(2) in C (family in host order, as Linux
    lays it out; port in network order)."""
    host, port = address[0], address[1]
    if ":" in host:
        packed = socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
        return struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + packed + bytes(4)
    packed = socket.inet_pton(socket.AF_INET, host)
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + packed + bytes(8)


class _OutField:
    """A PacketPath attribute that CompiledPacketPath keeps in its C struct (`out`), under the
    same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, path: Any, owner: type | None = None) -> Any:
        return int(getattr(path.out, self._name))

    def __set__(self, path: Any, value: int) -> None:
        setattr(path.out, self._name, value)


class CompiledPacketPath(PacketPath):
    """PacketPath with its hot work in rooms/fanout.c: the header, the payload copy, SRTP and
    sendto happen in C on a struct (`out`) that a publication's fan-out hands, with its other
    subscribers' outputs, to one C call per incoming packet.

    What aiortc reads (the sender's report counters, the transport's byte counters) is brought
    up to date by sync(), which the publication calls a few times a second and send_offset()
    after each packet. The socket is our own dup() of the ICE pair's: the C side may send on it
    until the publication's next route check notices the pair changed, and a closed and reused
    descriptor number can never receive our packets.
    """

    def __init__(
        self, sender: RTCRtpSender, payload_type: int, clock_rate: int, library: Any, vp8: bool
    ) -> None:
        self._library = library
        out = _fanout.ffi.new("tcd_out *")
        out.fd = -1
        out.last_sequence = -1
        out.last_picture_id = -1
        out.vp8 = 1 if vp8 else 0
        self.out = out
        self._one = _fanout.ffi.new("tcd_out *[1]", [out])
        self._fd_closer: weakref.finalize[Any, Any] | None = None
        self._srtp_session: Any = None
        self._synced = (0, 0, 0)
        super().__init__(sender, payload_type, clock_rate, vp8)
        out.payload_type = payload_type
        out.header_size = self.header_size
        out.abs_offset = self._abs_offset
        out.level_offset = self._level_offset
        _fanout.ffi.memmove(out.buffer, self._header, self.header_size)

    # Continuity and counters live in the C struct; PacketPath's own attributes map onto it.
    @property
    def last_sequence(self) -> int | None:
        value = int(self.out.last_sequence)
        return None if value < 0 else value

    @last_sequence.setter
    def last_sequence(self, value: int | None) -> None:
        self.out.last_sequence = -1 if value is None else value

    last_timestamp = _OutField()
    last_ntp = _OutField()
    picture_id_delta = _OutField()
    packets = _OutField()
    frames = _OutField()
    dropped = _OutField()

    def sent_picture_id(self) -> int:
        return int(self.out.last_picture_id)

    def set_offsets(self, sequence_delta: int, timestamp_delta: int) -> None:
        super().set_offsets(sequence_delta, timestamp_delta)
        self.out.seq_delta = sequence_delta
        self.out.ts_delta = timestamp_delta

    def _route(self) -> bool:
        out = self.out
        out.active = 0
        if not super()._route():
            return False
        sock = self._sock
        assert sock is not None and self._addr is not None
        if self._fd_closer is not None:
            self._library.tcd_discard(out)  # nothing queued may go to a closed (reused) fd
            self._fd_closer()
        try:
            fd = os.dup(sock.fileno())
            address = _sockaddr(self._addr)
        except (OSError, ValueError):
            self._pair = None
            return False
        self._fd_closer = weakref.finalize(self, os.close, fd)
        # Held so that the srtp_t the C side uses is not freed under it.
        self._srtp_session = self._dtls._tx_srtp
        out.srtp = _fanout.ffi.cast("void *", int(_srtp_binding.ffi.cast("uintptr_t", self._srtp)))
        out.fd = fd
        out.addr_len = len(address)
        _fanout.ffi.memmove(out.addr, address, len(address))
        out.error = 0
        out.active = 1
        return True

    def routed(self) -> bool:
        """Whether the C side may send: the route it holds is still the nominated pair."""
        if self._pair is not None and self.out.active:
            if self._connection._nominated.get(1) is self._pair:
                transport = self._pair.protocol.transport
                if transport is not None and not transport.is_closing():
                    return True
        self._pair = None
        return not self.closed and self._route()

    def sync(self) -> None:
        """Bring aiortc's counters up to date with what the C side sent."""
        out = self.out
        packets, octets, sent = int(out.packets), int(out.octets), int(out.bytes)
        last_packets, last_octets, last_bytes = self._synced
        if packets == last_packets:
            return
        self._synced = (packets, octets, sent)
        counters = self._counters
        counters[_SR_PACKETS] += packets - last_packets
        counters[_SR_OCTETS] += octets - last_octets
        if out.sr_ntp:
            counters[_SR_NTP] = int(out.sr_ntp)
            counters[_SR_RTP] = int(out.sr_rtp)
        transport = self._transport_counters
        transport[_TX_BYTES] += sent - last_bytes
        transport[_TX_PACKETS] += packets - last_packets

    def send_offset(
        self, marker: int, sequence: int, timestamp: int, payload: bytes, ntp: int, level: int
    ) -> bool:
        """Send one publisher packet with the offsets set by set_offsets (one output)."""
        if not self.routed():
            self.out.dropped += 1
            return False
        audio = self.kind == "audio"
        sent = fanout_send(
            self._library, self._one, 1, payload, marker, audio, sequence, timestamp, ntp, level
        )
        self.sync()
        return bool(sent)


def fanout_send(
    library: Any,
    outs: Any,
    count: int,
    payload: bytes,
    marker: int,
    audio: bool,
    sequence: int,
    timestamp: int,
    ntp: int,
    level: int,
    batch: SendBatch | None = None,
    owner: object = None,
) -> int:
    """One publisher packet to `count` CompiledPacketPath outputs (a cffi `tcd_out *[]`), sent
    at once or queued in `batch`, which then holds `owner` (what keeps the paths owning those
    outputs alive) until it flushes."""
    if batch is not None:
        batch.held.append(owner)
    return int(
        library.tcd_fanout(
            outs,
            count,
            batch.c if batch is not None else _fanout.ffi.NULL,
            _fanout_protect(),
            payload,
            len(payload),
            marker,
            audio,
            sequence,
            timestamp,
            ntp,
            level,
        )
    )


def fanout_library() -> Any:
    """The loaded rooms/_fanout.so, or None (pure-Python packet path)."""
    return _fanout.LIBRARY


def fanout_outputs(paths: Sequence[PacketPath]) -> Any:
    """A cffi array of the paths' C outputs for fanout_send. It holds bare pointers: the caller
    keeps the paths (which own the outputs) alive as long as it uses the array."""
    outs = []
    for path in paths:
        if not isinstance(path, CompiledPacketPath):
            raise TypeError("only compiled packet paths fan out in C")
        outs.append(path.out)
    return _fanout.ffi.new("tcd_out *[]", outs)


@functools.cache
def _fanout_protect() -> Any:
    """libsrtp's srtp_protect (inside pylibsrtp's binding) as the C fan-out calls it."""
    binding = _srtp_binding.ffi
    function = binding.addressof(_srtp_binding.lib, "srtp_protect")
    return _fanout.ffi.cast("tcd_protect_fn", int(binding.cast("uintptr_t", function)))


def make_packet_path(
    sender: RTCRtpSender, payload_type: int, clock_rate: int, vp8: bool
) -> PacketPath:
    """The way out for one subscriber-side sender: compiled when rooms/_fanout.so is loaded."""
    if _fanout.LIBRARY is not None:
        return CompiledPacketPath(sender, payload_type, clock_rate, _fanout.LIBRARY, vp8)
    return PacketPath(sender, payload_type, clock_rate, vp8)


def _header_template(
    ssrc: int, mid: str | None, mid_id: int | None, abs_id: int | None, level_id: int | None
) -> tuple[bytes, int, int]:
    """An RTP header with a one-byte-header extension block (RFC 8285) for mid, abs-send-time
    and audio level as negotiated; returns it and the offsets of the abs-send-time value and of
    the level byte (0 when absent)."""
    body = bytearray()
    abs_offset = level_offset = 0
    if mid_id and mid and 0 < len(mid) <= 16:
        body.append((mid_id << 4) | (len(mid) - 1))
        body += mid.encode("ascii")
    if abs_id:
        body.append((abs_id << 4) | 2)
        abs_offset = 16 + len(body)
        body += b"\0\0\0"
    if level_id:
        body.append(level_id << 4)
        level_offset = 16 + len(body)
        body.append(0x7F)
    if not body:
        return struct.pack("!BBHII", 0x80, 0, 0, 0, ssrc), 0, 0
    while len(body) % 4:
        body.append(0)
    header = struct.pack("!BBHII", 0x90, 0, 0, 0, ssrc) + struct.pack("!HH", 0xBEDE, len(body) // 4)
    return header + bytes(body), abs_offset, level_offset


def on_nack(sender: RTCRtpSender, callback: Callable[[int], None]) -> None:
    """Answer the NACKs of the subscriber behind `sender` with `callback(sequence_number)`
    instead of aiortc's own history (which the packet path does not fill)."""

    async def retransmit(sequence_number: int) -> None:
        callback(sequence_number)

    sender._retransmit = retransmit  # type: ignore[method-assign]


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send a PLI for media_ssrc to the publisher behind this receiver."""
    await receiver._send_rtcp_pli(media_ssrc)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the subscriber behind `sender` sends a PLI or FIR.

    On the pack() path aiortc's own handling (force the encoder's next frame to be a keyframe)
    does nothing, so the request has to go upstream.
    """
    sender._send_keyframe = callback  # type: ignore[method-assign]


_SENDER_CNAME = "_RTCRtpSender__cname"
_SENDER_RTCP_STARTED = "_RTCRtpSender__rtcp_started"
_SENDER_RTCP_EXITED = "_RTCRtpSender__rtcp_exited"
# A compound report stays well inside one datagram (a subscriber of a big hearing has dozens
# of streams): past this, the next sender starts another compound.
_REPORTS_MAX_BYTES = 1000
_SDES_CNAME = 1


class _TransportReports:
    """The sender reports of every bundled sender on one DTLS transport, sent as one compound
    RTCP packet (an SR per sender, then each sender's CNAME in SDES) at aiortc's
    interval, in place of each sender's own loop. RFC 3550 6.1 allows several SRs in a
    compound; Chromium and aiortc read each by its SSRC. At 8 sites a subscriber's transport
    carries 7 senders: one SRTP protect and one sendto a second instead of seven."""

    def __init__(self, dtls: Any) -> None:
        self._dtls = dtls
        self.senders: list[RTCRtpSender] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, sender: RTCRtpSender) -> None:
        self.senders.append(sender)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, sender: RTCRtpSender) -> None:
        if sender in self.senders:
            self.senders.remove(sender)
        if not self.senders and self._task is not None:
            self._task.cancel()
            self._task = None

    @staticmethod
    def interval() -> float:
        """Seconds to the next reports: as aiortc, varied over [0.5, 1.5] times one second."""
        return 0.5 + random.random()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval())
            for compound in self.compounds():
                try:
                    await self._dtls._send_rtp(compound)
                except ConnectionError:
                    # Not connected yet, or closed: as aiortc's own loop, try again next time
                    # (the senders' stop() ends this loop).
                    break

    def compounds(self) -> list[bytes]:
        """The reports to send now; marks each sender's LSR as aiortc's loop does (for the
        round trip its receiver reports give)."""
        out: list[bytes] = []
        reports: list[bytes] = []
        chunks: list[bytes] = []
        size = 0
        now = time.time()
        for sender in self.senders:
            state = sender.__dict__
            ntp = state[_SR_NTP]
            report = _SR.pack(
                0x80,
                _RTCP_SR,
                6,
                sender._ssrc,
                ntp >> 32,
                ntp & 0xFFFFFFFF,
                state[_SR_RTP] & 0xFFFFFFFF,
                state[_SR_PACKETS] & 0xFFFFFFFF,
                state[_SR_OCTETS] & 0xFFFFFFFF,
            )
            state[_SENDER_LSR] = (ntp >> 16) & 0xFFFFFFFF
            state[_SENDER_LSR_TIME] = now
            cname = state[_SENDER_CNAME]
            chunk = b""
            if cname is not None:
                text = cname.encode("utf8")[:255]
                chunk = _WORD.pack(sender._ssrc) + bytes((_SDES_CNAME, len(text))) + text
                chunk += b"\x00" * (4 - len(chunk) % 4)  # the end item, then padding
            if reports and size + len(report) + len(chunk) > _REPORTS_MAX_BYTES:
                out.append(_compound(reports, chunks))
                reports, chunks, size = [], [], 0
            reports.append(report)
            if chunk:
                chunks.append(chunk)
            size += len(report) + len(chunk)
        if reports:
            out.append(_compound(reports, chunks))
        return out


# SR header and sender info: V=2 with no reports, PT, length, SSRC, NTP (2 words), RTP
# timestamp, packet count, octet count.
_SR = struct.Struct("!BBHIIIIII")


def _compound(reports: list[bytes], chunks: list[bytes]) -> bytes:
    # One SDES packet per chunk rather than one with them all: aiortc 1.16's parser does not
    # skip a chunk's padding (RFC 3550 6.5), so the sites' aiortc would drop the compound.
    data = b"".join(reports)
    for chunk in chunks:
        data += struct.pack("!BBH", 0x81, _RTCP_SDES, len(chunk) // 4) + chunk
    return data


def bundle_sender_reports(sender: RTCRtpSender) -> None:
    """Send this sender's reports in its transport's compound (_TransportReports) instead of
    its own loop; call before the sender starts (it replaces RTCRtpSender._run_rtcp). Its BYE
    still goes out on its own when it stops, as aiortc sends it."""

    async def run_rtcp() -> None:
        state = sender.__dict__
        state[_SENDER_RTCP_STARTED].set()
        dtls: Any = sender.transport
        reports: _TransportReports | None = getattr(dtls, "_tcd_reports", None)
        if reports is None:
            reports = _TransportReports(dtls)
            dtls._tcd_reports = reports
        reports.add(sender)
        try:
            await asyncio.Event().wait()  # until stop() cancels this task
        except asyncio.CancelledError:
            pass
        finally:
            reports.discard(sender)
        try:
            await dtls._send_rtp(bytes(_rtp.RtcpByePacket(sources=[sender._ssrc])))
        except ConnectionError:
            pass
        state[_SENDER_RTCP_EXITED].set()

    sender._run_rtcp = run_rtcp  # type: ignore[method-assign]


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """Set the msid stream id announced for a sender (groups a site's audio and video)."""
    sender._stream_id = stream_id


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs (with the remote's payload types) negotiated for a transceiver."""
    return list(transceiver._codecs)


def negotiated_header_extensions(
    transceiver: RTCRtpTransceiver,
) -> list[RTCRtpHeaderExtensionParameters]:
    """The RTP header extensions (with the remote's ids) negotiated for a transceiver."""
    return list(transceiver._headerExtensions)


def pin_offer_media(
    offer_sdp: str,
    plan: dict[RTCRtpTransceiver, tuple[list[RTCRtpCodecParameters], list[Any]]],
) -> str:
    """Rewrite a createOffer() result so each planned transceiver keeps the given codecs.

    createOffer() resets every transceiver to aiortc's default payload types and header
    extension ids. For a peer that offered first (a browser) that collides with what is already
    negotiated in the BUNDLE (Chromium rejects such an offer, and the hub's running receivers
    would misread packets), so existing and new m-lines are pinned to the peer's numbering.
    """
    description = aiortc_sdp.SessionDescription.parse(offer_sdp)
    # By m-line index, which createOffer() sets on every transceiver: a transceiver added since
    # the last negotiation has no mid until setLocalDescription(), only its m-line.
    by_index = {t._get_mline_index(): (t, v) for t, v in plan.items()}
    for index, media in enumerate(description.media):
        entry = by_index.get(index)
        if entry is None:
            continue
        transceiver, (codecs, extensions) = entry
        media.rtp.codecs = list(codecs)
        media.fmt = [c.payloadType for c in codecs]
        media.rtp.headerExtensions = list(extensions)
        transceiver._codecs = list(codecs)
        transceiver._headerExtensions = list(extensions)
    return str(description)


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def remote_candidate_allowed(host: str, announced_ips: Sequence[str]) -> bool:
    """Whether the hub may aim media at a remote candidate's address.

    With only loopback addresses announced (tests, one-machine setups) media must stay on
    loopback: other addresses and mDNS names (which would need multicast resolution) are refused.
    """
    if announced_ips and all(_is_loopback(ip) for ip in announced_ips):
        return _is_loopback(host)
    return True


def restrict_host_candidates(
    pc: RTCPeerConnection,
    announced_ips: Sequence[str],
    udp_ports: tuple[int, int] | None = None,
) -> None:
    """Gather host candidates only on `announced_ips` (aioice otherwise binds every interface),
    each on a port of `udp_ports` (inclusive; aioice otherwise lets the OS pick any port).

    Call it before setLocalDescription, whenever transceivers were added. Empty addresses and
    no range: no change. A gathering that finds the range full on an address raises
    UdpPortsExhausted out of setLocalDescription.
    """
    if not announced_ips and udp_ports is None:
        return
    ips = list(announced_ips)
    for connection in _ice_connections(pc):
        if connection._local_candidates_start or getattr(connection, "_tcd_restricted", False):
            continue
        original = connection.get_component_candidates

        async def restricted(
            component: int,
            addresses: list[str],
            timeout: int = 5,  # noqa: ASYNC109 (aioice's own signature)
            _original: Any = original,
            _connection: aioice.Connection = connection,
        ) -> list[Any]:
            # No addresses at all is aioice's relay transport policy (host candidates are not
            # used): the announced ones must not bring them back.
            chosen = (ips or addresses) if addresses else []
            if udp_ports is None:
                return list(await _original(component=component, addresses=chosen, timeout=timeout))
            return await _ranged_component_candidates(
                _connection, _original, component, chosen, udp_ports, timeout
            )

        connection.get_component_candidates = restricted  # type: ignore[method-assign]
        connection._tcd_restricted = True  # type: ignore[attr-defined]


def bind_udp_in_range(address: str, ports: tuple[int, int]) -> socket.socket:
    """A non-blocking UDP socket bound to `address` on a free port of `ports` (inclusive).

    The search starts at a random port of the range, so that a port just released by a closed
    connection is not handed to the next one at once (late packets of the old peer would reach
    it), and skips ports in use. Raises UdpPortsExhausted when none is free, or the OSError of
    any other failure (an address this machine does not have, a port it may not bind).
    """
    low, high = ports
    count = high - low + 1
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    start = random.randrange(count)
    for step in range(count):
        port = low + (start + step) % count
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        sock.setblocking(False)
        return sock
    raise UdpPortsExhausted(
        f"no free UDP port for ICE on {address}: all {count} ports of {low}-{high} are in use "
        "(widen ice_udp_ports / TCD_ICE_UDP_PORTS, or place fewer connections on this process)",
    )


async def _ranged_component_candidates(
    connection: aioice.Connection,
    original: Any,
    component: int,
    addresses: list[str],
    ports: tuple[int, int],
    timeout: int,  # noqa: ASYNC109 (aioice's own signature)
) -> list[Any]:
    """aioice's Connection.get_component_candidates with host sockets bound inside `ports`.

    aioice binds each host socket itself on port 0 (create_datagram_endpoint with local_addr),
    so the host step is done here on sockets from bind_udp_in_range, the same protocol objects
    and candidates as aioice's own; server-reflexive candidates are asked for on them; aioice's
    own method, given no address, still gathers the relayed candidate if a TURN server is set.
    """
    loop = asyncio.get_running_loop()
    protocols: list[Any] = []
    try:
        for address in addresses:
            try:
                sock = bind_udp_in_range(address, ports)
            except UdpPortsExhausted:
                raise
            except OSError as exc:
                # As aioice does when an address cannot be bound: gather on the others.
                logger.warning("ICE: cannot bind UDP on %s in %s-%s: %s", address, *ports, exc)
                continue
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, _aioice_turn.UDP_SOCKET_BUFFER_SIZE
            )
            _transport, protocol = await loop.create_datagram_endpoint(
                lambda: _aioice_ice.StunProtocol(connection), sock=sock
            )
            protocols.append(protocol)
    except BaseException:
        for protocol in protocols:
            protocol.transport.close()
        raise
    candidates: list[Any] = []
    for protocol in protocols:
        host, port = protocol.transport.get_extra_info("sockname")[:2]
        protocol.local_candidate = aioice.Candidate(
            foundation=candidate_foundation("host", "udp", host),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "host"),
            host=host,
            port=port,
            type="host",
        )
        candidates.append(protocol.local_candidate)
    connection._protocols += protocols
    reflexive = []
    if connection.stun_server:
        reflexive = [
            asyncio.create_task(
                _aioice_ice.server_reflexive_candidate(protocol, connection.stun_server)
            )
            for protocol in protocols
            if ipaddress.ip_address(protocol.local_candidate.host).version == 4
        ]
    relayed = list(await original(component=component, addresses=[], timeout=timeout))
    if reflexive:
        done, pending = await asyncio.wait(reflexive, timeout=timeout)
        for task in pending:
            task.cancel()
        candidates += [t.result()[0] for t in done if t.exception() is None]
    return candidates + relayed


def _ice_connections(pc: RTCPeerConnection) -> Iterable[aioice.Connection]:
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport.iceGatherer._connection
        if id(connection) not in seen:
            seen.add(id(connection))
            yield connection


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        raise InternalsChanged(f"cannot read the source of {obj!r}: {exc}") from exc


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise InternalsChanged(f"aiortc internals changed: {what}")


def sender_stats_key(stat: Any) -> str:
    """Which of the hub's senders an outbound-rtp or remote-inbound-rtp stat is about.

    aiortc gives a remote-inbound-rtp (the site's receiver report on one of our streams) the
    reporter's SSRC, not ours, so SSRCs do not pair it with its outbound-rtp; both ids end in
    `_<id(sender)>` instead."""
    return str(stat.id).rsplit("_", 1)[-1]


def check_internals() -> None:
    """Raise InternalsChanged if anything this module relies on differs from aiortc 1.16.0."""
    _require(
        aiortc.__version__ == AIORTC_VERSION,
        f"version is {aiortc.__version__}, this module was written for {AIORTC_VERSION}",
    )
    receiver_init = _source(RTCRtpReceiver.__init__)
    _require("self.__jitter_buffer = JitterBuffer(" in receiver_init, "receiver jitter buffer")
    _require("self.__codecs: dict[int, RTCRtpCodecParameters]" in receiver_init, "receiver codecs")
    handle = _source(RTCRtpReceiver._handle_rtp_packet)
    _require(
        "pli_flag, encoded_frame = self.__jitter_buffer.add(packet)" in handle,
        "_handle_rtp_packet no longer feeds the jitter buffer with the depayloaded packet",
    )
    _require("packet._data = depayload(codec, packet.payload)" in handle, "depayload step")
    _require(
        handle.index("unwrap_rtx(") < handle.index("self.__jitter_buffer.add"),
        "RTX is no longer unwrapped before the jitter buffer",
    )
    _require(
        list(inspect.signature(_rtcrtpreceiver.decoder_worker).parameters)
        == ["loop", "input_q", "output_q", "decode_error"],
        "decoder_worker signature",
    )
    _require(
        list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) == ["self", "media_ssrc"],
        "_send_rtcp_pli signature",
    )
    sender_rtcp = _source(RTCRtpSender._handle_rtcp_packet)
    _require("self._send_keyframe()" in sender_rtcp, "PLI/FIR handling in RTCRtpSender")
    _require(
        'id="remote-inbound-rtp_" + str(id(self))' in sender_rtcp
        and 'id="outbound-rtp_" + str(id(self))' in _source(RTCRtpSender.getStats),
        "sender stats ids (sender_stats_key)",
    )
    next_frame = _source(RTCRtpSender._next_encoded_frame)
    _require("self.__encoder.pack(data)" in next_frame, "RTCRtpSender pack() path")
    _require("isinstance(data, Frame)" in next_frame, "RTCRtpSender frame/packet dispatch")
    _require("_stream_id" in _source(RTCRtpSender.__init__), "RTCRtpSender._stream_id")
    _require(
        list(inspect.signature(_vpx.Vp8Encoder.pack).parameters) == ["self", "packet"],
        "Vp8Encoder.pack signature",
    )
    transceiver_init = _source(RTCRtpTransceiver.__init__)
    _require("self._codecs" in transceiver_init, "RTCRtpTransceiver._codecs")
    _require("self._headerExtensions" in transceiver_init, "RTCRtpTransceiver._headerExtensions")
    _require(
        "transceiver._set_mline_index(" in _source(RTCPeerConnection.createOffer),
        "createOffer no longer sets every transceiver's m-line index",
    )
    _require(hasattr(RTCRtpTransceiver, "_get_mline_index"), "RTCRtpTransceiver._get_mline_index")
    create_offer = _source(RTCPeerConnection.createOffer)
    _require("transceiver._codecs = filter_preferred_codecs(" in create_offer, "createOffer codecs")
    gather = _source(aioice.Connection.gather_candidates)
    _require("self.get_component_candidates(" in gather, "aioice gather_candidates")
    _require(
        list(inspect.signature(aioice.Connection.get_component_candidates).parameters)
        == ["self", "component", "addresses", "timeout"],
        "aioice get_component_candidates signature",
    )
    _require("self._local_candidates_start" in _source(aioice.Connection.__init__), "aioice state")
    _require(
        aioice.__version__ == AIOICE_VERSION,
        f"aioice version is {aioice.__version__}, this module was written for {AIOICE_VERSION}",
    )
    # The host step that _ranged_component_candidates does instead of aioice: still port 0,
    # still these protocol objects, candidates and lists, STUN still asked on host sockets.
    component_candidates = _source(aioice.Connection.get_component_candidates)
    for needle, what in (
        ("lambda: StunProtocol(self), local_addr=(address, 0)", "host sockets bound on port 0"),
        ("protocol.local_candidate = Candidate(", "host candidate on the protocol"),
        ('candidate_foundation("host", "udp", candidate_address[0])', "host foundation"),
        ('priority=candidate_priority(component, "host")', "host priority"),
        ("turn.UDP_SOCKET_BUFFER_SIZE", "host socket receive buffer"),
        ("self._protocols += host_protocols", "host protocols kept on the connection"),
        ("server_reflexive_candidate(protocol, self.stun_server)", "STUN on host sockets"),
        ("if self.turn_server:", "relayed candidate gathered apart from the host addresses"),
    ):
        _require(needle in component_candidates, f"aioice get_component_candidates: {what}")
    _require(
        list(inspect.signature(_aioice_ice.StunProtocol.__init__).parameters)
        == ["self", "receiver"],
        "aioice StunProtocol signature",
    )
    _require(
        list(inspect.signature(_aioice_ice.server_reflexive_candidate).parameters)
        == ["protocol", "stun_server"],
        "aioice server_reflexive_candidate signature",
    )
    _require(
        "self._protocols: list[StunProtocol] = []" in _source(aioice.Connection.__init__),
        "aioice _protocols",
    )
    # asyncio's, read by read_in_c (the selector loop's reader of a datagram transport).
    datagram_read = _source(_SELECTOR_DATAGRAM_TRANSPORT._read_ready)
    _require(
        "if self._conn_lost:" in datagram_read
        and "self._sock.recvfrom(self.max_size)" in datagram_read,
        "asyncio datagram transport _read_ready",
    )
    datagram_init = _source(_SELECTOR_DATAGRAM_TRANSPORT.__init__)
    _require(
        "self._loop.call_soon(self._add_reader," in datagram_init
        and "self._sock_fd, self._read_ready)" in datagram_init
        and "self._loop._remove_reader(self._sock_fd)"
        in _source(vars(_asyncio_selector_events)["_SelectorTransport"].close)
        and hasattr(_asyncio_selector_events.BaseSelectorEventLoop, "_add_reader"),
        "asyncio datagram transport reader registration",
    )
    _check_packet_path()
    from aiortc.codecs import HEADER_EXTENSIONS

    _require(
        any(ext.uri == AUDIO_LEVEL_URI for ext in HEADER_EXTENSIONS["audio"]),
        "aiortc no longer negotiates the RFC 6464 audio level extension",
    )
    from aiortc.rtp import HeaderExtensions

    _require(hasattr(HeaderExtensions(), "audio_level"), "RtpPacket audio_level extension")


def _check_packet_path() -> None:
    """What PacketPath, PacketTap and on_nack rely on."""
    import pylibsrtp

    _require(
        pylibsrtp.__version__ == PYLIBSRTP_VERSION,
        f"pylibsrtp version is {pylibsrtp.__version__}, this module was written for "
        f"{PYLIBSRTP_VERSION}",
    )
    for function in ("srtp_protect", "srtp_unprotect", "srtp_unprotect_rtcp"):
        _require(hasattr(_srtp_binding.lib, function), f"pylibsrtp binding {function}")
    process = _source(pylibsrtp.Session._Session__process)  # type: ignore[attr-defined]
    _require("func(self._srtp[0], self._cdata, len_p)" in process, "pylibsrtp srtp_t in _srtp[0]")
    sender_init = _source(RTCRtpSender.__init__)
    for name in ("__packet_count", "__octet_count", "__ntp_timestamp", "__rtp_timestamp"):
        _require(f"self.{name} = 0" in sender_init, f"RTCRtpSender.{name}")
    for name in ("__mid", "__rtx_payload_type", "__rtp_header_extensions_map"):
        _require(f"self.{name}" in sender_init, f"RTCRtpSender.{name}")
    run_rtcp = _source(RTCRtpSender._run_rtcp)
    _require(
        "ntp_timestamp=self.__ntp_timestamp" in run_rtcp
        and "packet_count=self.__packet_count" in run_rtcp,
        "sender reports read the sender's counters",
    )
    _require(
        "await self._retransmit(seq)" in _source(RTCRtpSender._handle_rtcp_packet),
        "NACKs answered through RTCRtpSender._retransmit",
    )
    from aiortc.rtp import HeaderExtensionsMap

    _require(
        "self.__ids = HeaderExtensions()" in _source(HeaderExtensionsMap.__init__),
        "header extension ids",
    )
    _require(hasattr(_rtcdtlstransport.State, "CONNECTED"), "RTCDtlsTransport State")
    dtls_init = _source(_rtcdtlstransport.RTCDtlsTransport.__init__)
    _require(
        "self.__tx_bytes = 0" in dtls_init and "self.__tx_packets = 0" in dtls_init,
        "RTCDtlsTransport's sent counters",
    )
    recv_next = _source(_rtcdtlstransport.RTCDtlsTransport._recv_next)
    _require(
        "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)" in recv_next
        or "await self._handle_rtp_data(data, arrival_time_ms)" in recv_next,
        "decrypted RTP handed to RTCDtlsTransport._handle_rtp_data",
    )
    receiver_init = _source(RTCRtpReceiver.__init__)
    for needle in ("self.__remote_streams", "self.__nack_generator", "self.__rtcp_ssrc"):
        _require(needle in receiver_init, f"RTCRtpReceiver {needle}")
    _require(
        list(inspect.signature(RTCRtpReceiver._send_rtcp_nack).parameters)
        == ["self", "media_ssrc", "lost"],
        "RTCRtpReceiver._send_rtcp_nack signature",
    )
    stats_add = _source(_rtcrtpreceiver.StreamStatistics.add)
    _require(
        set(re.findall(r"packet\.(\w+)", stats_add)) <= {"sequence_number", "timestamp"},
        "receiver statistics read only sequence numbers and timestamps",
    )
    # CompiledIntake keeps these fields in C (_CompiledStreamStatistics): the same names, the
    # same arrival clock, the same jitter update as aiortc's.
    stats_init = _source(_rtcrtpreceiver.StreamStatistics.__init__)
    _require(
        set(re.findall(r"self\.(\w+)(?::[^=]*)? =", stats_init))
        == {*_STATS_FIELDS, "_clockrate", "_expected_prior", "_received_prior"},
        "StreamStatistics keeps the fields CompiledIntake mirrors",
    )
    _require(
        "arrival = int(time.time() * self._clockrate)" in stats_add
        and "self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)" in stats_add
        and "self.cycles += 1 << 16" in stats_add,
        "StreamStatistics.add counts as rooms/intake.c tcd_stats_add does",
    )
    nack_add = _source(_rtcrtpreceiver.NackGenerator.add)
    _require(
        "self.max_seq = packet.sequence_number" in nack_add
        and "self.missing: set[int] = set()" in _source(_rtcrtpreceiver.NackGenerator.__init__),
        "NackGenerator keeps max_seq and the missing set",
    )
    _require(
        set(re.findall(r"packet\.(\w+)", nack_add)) <= {"sequence_number"},
        "NACK generator reads only sequence numbers",
    )
    _require(
        "self._queue.put_nowait((data, component))" in _source(aioice.Connection.data_received),
        "aioice Connection.data_received queues each datagram",
    )
    _require(
        "self.receiver.data_received(data, self.local_candidate.component)"
        in _source(_aioice_ice.StunProtocol.datagram_received),
        "aioice StunProtocol hands non-STUN datagrams to Connection.data_received",
    )
    _require(
        "self._protocols" in _source(aioice.Connection.__init__),
        "aioice Connection._protocols",
    )
    _require(
        "self.__rx_bytes = 0" in dtls_init and "self.__rx_packets = 0" in dtls_init,
        "RTCDtlsTransport's received counters",
    )
    _require(
        "data = self._rx_srtp.unprotect(data)" in recv_next
        and "data = await self.transport._recv()" in recv_next,
        "RTCDtlsTransport decrypts RTP from its ICE transport with _rx_srtp",
    )
    _check_rtcp(recv_next)
    dtls_srtp = _source(_rtcdtlstransport.RTCDtlsTransport._setup_srtp)
    _require("self._tx_srtp = Session(tx_policy)" in dtls_srtp, "RTCDtlsTransport._tx_srtp")
    _require("tx_policy.allow_repeat_tx = True" in dtls_srtp, "SRTP repeat transmissions allowed")
    _require(
        "active_pair.protocol.send_data(data, active_pair.remote_addr)"
        in _source(aioice.Connection.sendto),
        "aioice sends on the nominated pair's protocol",
    )
    _require(
        "self.transport.sendto(data, addr)" in _source(_aioice_ice.StunProtocol.send_data),
        "aioice StunProtocol.send_data",
    )
    import asyncio.selector_events as _selector_events

    _require(
        "self._sock.sendto(data, addr)"
        in _source(_selector_events._SelectorDatagramTransport.sendto),  # type: ignore[attr-defined]
        "asyncio datagram transports keep their socket in _sock",
    )


def _check_rtcp(recv_next: str) -> None:
    """What _RtcpReceiver and bundle_sender_reports rely on."""
    _require(
        "data = self._rx_srtp.unprotect_rtcp(data)" in recv_next
        and "await self._handle_rtcp_data(data)" in recv_next,
        "RTCDtlsTransport decrypts RTCP with _rx_srtp and hands it to _handle_rtcp_data",
    )
    _require(
        "self.senders[" in _source(_rtcdtlstransport.RtpRouter.register_sender),
        "RtpRouter.senders maps SSRCs to senders",
    )
    _require(isinstance(_rtcrtpsender.RTT_ALPHA, float), "aiortc's RTT_ALPHA")
    expected = {
        # Receiver reports on a sender's stream, and REMB steering an encoder and nothing else.
        RTCRtpSender._handle_rtcp_packet: (
            "if self.__lsr == report.lsr and report.dlsr:",
            "rtt = time.time() - self.__lsr_time - (report.dlsr / 65536)",
            "self.__rtt = RTT_ALPHA * self.__rtt + (1 - RTT_ALPHA) * rtt",
            "packetsReceived=self.__packet_count - report.packets_lost",
            "ssrc=packet.ssrc",
            "self.__encoder.target_bitrate = bitrate",
        ),
        RTCRtpSender.__init__: tuple(
            f"self.{name}"
            for name in (
                "__lsr",
                "__lsr_time",
                "__rtt",
                "__stats",
                "__kind",
                "__cname",
                "__encoder",
            )
        ),
        RTCRtpSender.send: (
            "self.__rtcp_task = asyncio.ensure_future(self._run_rtcp())",
            "self.__cname = parameters.rtcp.cname",
        ),
        RTCRtpSender._run_rtcp: (
            "self.__rtcp_started.set()",
            "self.__rtcp_exited.set()",
            "self.__lsr = ((self.__ntp_timestamp) >> 16) & 0xFFFFFFFF",
            "self.__lsr_time = time.time()",
            "octet_count=self.__octet_count & 0xFFFFFFFF",
        ),
        # stop() waits for the RTCP loop to say it exited.
        RTCRtpSender.stop: ("self.__rtcp_exited.wait()",),
    }
    for function, needles in expected.items():
        source = _source(function)
        for needle in needles:
            _require(needle in source, f"{function.__qualname__}: {needle}")

"""Forwarding without transcoding: publishers' RTP packets to subscribers (packet mode, the
default), or their reassembled encoded frames through aiortc's pack() (frame mode).

Packet mode: each incoming packet goes to every subscriber with its SSRC, sequence number,
timestamp (and, where a stream is cut over to another source, the VP8 picture id) rewritten,
through PacketPath (rooms/aiortc_internals.py). A subscriber starts on a keyframe; after that
the offsets stay fixed, so a packet lost upstream and not repaired by the hub's NACKs shows as a
gap downstream and the subscriber's decoder asks for a keyframe itself (PLI, sent upstream,
throttled). Subscribers' NACKs are answered from the publication's PacketHistory.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rooms.aiortc_internals import (
    CompiledIntake,
    CompiledPacketPath,
    EncodedFrame,
    ForwardedPacket,
    PacketPath,
    PacketTap,
    compiled_intake,
    fanout_library,
    fanout_outputs,
    fanout_send,
    make_packet_path,
    ntp_now,
    on_nack,
    packet_codec,
    request_keyframe,
    tap_receiver,
    tap_receiver_packets,
)
from rooms.rtp_packets import PacketHistory, keyframe_start, vp8_picture_id, vp8_picture_id_offset

logger = logging.getLogger(__name__)

# At most one upstream keyframe request per publisher in this interval (subscribers' PLIs,
# joins and gaps are merged into it).
KEYFRAME_REQUEST_INTERVAL = 0.5
# A subscriber still waiting for a keyframe after this long asks again (a PLI can be lost).
KEYFRAME_RETRY_AFTER = 1.0
# A packet resent to a subscriber is not resent again for its NACKs within this time (about a
# round trip and a half on the links a hearing uses): a subscriber repeats its whole list of
# missing packets on every new gap, and answering each repetition feeds a storm under load.
RESEND_HOLDOFF = 0.1
# And at most this share of what the subscriber was sent in the last second is sent again (plus
# RESEND_BURST): a subscriber whose own machine drops packets under load NACKs more the more it
# is sent, and resending without a bound turns its overload into the hub's.
RESEND_SHARE = 0.25
RESEND_BURST = 30
# Frames queued for a subscriber's sender before it counts as stuck (about 1 s of video).
VIDEO_QUEUE_FRAMES = 30
AUDIO_QUEUE_FRAMES = 50
_FRAME_STEP = {"video": 3000, "audio": 960}  # one frame at 30 fps / 20 ms, in RTP clock units


class Timer(Protocol):
    """A scheduled callback that can be called off."""

    def cancel(self) -> None:
        """Call it off."""


class Clock(Protocol):
    """Where keyframe throttling reads the time and schedules its deferred requests (tests
    inject a clock they advance by hand instead of sleeping)."""

    def now(self) -> float:
        """Monotonic seconds."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` after `delay` seconds."""


class LoopClock:
    """The real clock: time.monotonic() and the running event loop's call_later."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` on the running loop after `delay` seconds."""
        return asyncio.get_running_loop().call_later(delay, callback)


LOOP_CLOCK = LoopClock()


class ForwardedTrack(MediaStreamTrack):
    """The source of one subscriber-side sender: encoded frames in, av.Packet out.

    One track lives as long as its sender; the publisher feeding it may change (slots are
    reused), so timestamps are rebased to stay continuous for the subscriber's jitter buffer.
    """

    def __init__(self, kind: str, clock_rate: int) -> None:
        super().__init__()
        self.kind = kind
        self._time_base = fractions.Fraction(1, clock_rate)
        maxsize = VIDEO_QUEUE_FRAMES if kind == "video" else AUDIO_QUEUE_FRAMES
        self._queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue(maxsize=maxsize)
        # Packet mode: the sender's way out, made when it starts, kept across publications.
        self.path: PacketPath | None = None
        self._source: object = None
        self._last_in = 0
        self._last_out = 0
        self.frames_sent = 0
        self.frames_dropped = 0
        # Set once the sender's loop first asks for a frame: it only starts after the
        # subscriber's answer is applied and DTLS is up, so frames queued before that wait here.
        self.started = False
        self.on_started: Callable[[], None] | None = None

    def push(self, frame: EncodedFrame, source: object) -> bool:
        """Queue a frame for the sender; False when the sender is not keeping up."""
        if source is not self._source:
            self._source = source
            out = self._last_out + _FRAME_STEP.get(self.kind, 3000)
        else:
            delta = (frame.timestamp - self._last_in) & 0xFFFFFFFF
            if delta >= 1 << 31:
                delta -= 1 << 32
            out = self._last_out + delta
        packet = av.Packet(frame.data)
        packet.pts = out
        packet.time_base = self._time_base
        try:
            self._queue.put_nowait(packet)
        except asyncio.QueueFull:
            self.frames_dropped += self.flush() + 1
            return False
        self._last_in = frame.timestamp
        self._last_out = out
        return True

    @property
    def queued(self) -> int:
        """Frames waiting for the sender."""
        return self._queue.qsize()

    def flush(self) -> int:
        """Drop queued frames (the subscriber will restart on a keyframe); returns how many."""
        dropped = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            dropped += 1
        return dropped

    async def recv(self) -> av.Packet[Any]:
        """Next packet for RTCRtpSender's pack() path."""
        if self.readyState != "live":
            raise MediaStreamError
        if not self.started:
            self.started = True
            logger.debug("track %s (%s): sender started", id(self), self.kind)
            if self.on_started is not None:
                self.on_started()
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        self.frames_sent += 1
        return packet

    def stop(self) -> None:
        """End the track: the sender's loop exits."""
        if self.readyState == "live":
            try:
                self._queue.put_nowait(None)
            except asyncio.QueueFull:
                self.flush()
                self._queue.put_nowait(None)
        super().stop()


class Subscription:
    """One publisher track forwarded into one subscriber's track, gated on keyframes."""

    def __init__(self, publication: Publication, track: ForwardedTrack) -> None:
        self.publication = publication
        self.track = track
        # Video starts only on a keyframe; audio needs none.
        self.waiting_keyframe = publication.kind == "video"
        self.waiting_since = publication.clock.now()
        self.frames = 0
        track.on_started = self._sender_started

    def _sender_started(self) -> None:
        """The subscriber's sender began reading: make sure a keyframe is on its way."""
        if not self.waiting_keyframe or self not in self.publication.subscriptions:
            return
        # Subscribed before the sender ran (see Participant._plan_slots) and no keyframe is
        # queued yet, or the queue overflowed while the answer was pending: ask now, unless a
        # request is already in flight (the retry below covers a lost one).
        if self.publication.last_request_age() > KEYFRAME_REQUEST_INTERVAL:
            self.waiting_since = self.publication.clock.now()
            self.publication.request_keyframe("subscriber sender started")

    def deliver(self, frame: EncodedFrame) -> None:
        """Forward a frame, or hold it back until the subscriber can decode again."""
        if frame.discontinuity and not self.waiting_keyframe and self.publication.kind == "video":
            self._hold()
        if self.waiting_keyframe:
            if not frame.keyframe:
                now = self.publication.clock.now()
                if self.track.started and now - self.waiting_since > KEYFRAME_RETRY_AFTER:
                    self.waiting_since = now
                    self.publication.request_keyframe("subscriber still waiting")
                return
            self.waiting_keyframe = False
            logger.debug(
                "sub %s %s from %s: keyframe delivered",
                id(self.track),
                self.publication.kind,
                self.publication.participant_id,
            )
        if self.track.push(frame, self.publication):
            self.frames += 1
        elif self.publication.kind == "video":
            self._hold()
            if self.track.started:
                self.publication.request_keyframe("subscriber queue overflow")
            # Not started: the answer is late; the sender asks for a keyframe when it starts.

    def _hold(self) -> None:
        self.waiting_keyframe = True
        self.waiting_since = self.publication.clock.now()


class PacketSubscription:
    """One publisher track forwarded packet by packet into one subscriber's sender.

    The slot's ForwardedTrack stays idle in packet mode; its `started` flag says the sender
    runs (the subscriber's answer applied, DTLS up) and it carries the sender's PacketPath.
    """

    def __init__(
        self, publication: Publication, track: ForwardedTrack, sender: Any, payload_type: int
    ) -> None:
        self.publication = publication
        self.track = track
        self.waiting_keyframe = publication.kind == "video"
        self.waiting_since = publication.clock.now()
        self._frames = 0
        self._frames_base = 0
        # Sent by the publication's compiled fan-out (rooms/fanout.c) rather than forward().
        self.fanned_out = False
        self._sender = sender
        self._payload_type = payload_type
        self._sequence_delta = 0
        self._timestamp_delta = 0
        # The first outgoing sequence number of the current cut: older ones were never sent
        # by this subscription, so NACKs for them cannot be mapped back.
        self._first_out: int | None = None
        self._resent: dict[int, float] = {}  # outgoing sequence number -> when last resent
        self._budget_at = 0.0  # start of the current one-second retransmission window
        self._budget_sent = 0  # path.packets at that start
        self._budget_used = 0
        self.resends_refused = 0
        self.path: PacketPath | None = None
        if track.started:
            self._open()
        else:
            track.on_started = self._sender_started

    def _open(self) -> None:
        path = self.track.path
        codec = self.publication.codec
        clock_rate = codec.clockRate if codec is not None else 90000
        if path is None or path.payload_type != self._payload_type:
            vp8 = codec is not None and codec.name.lower() == "vp8"
            path = make_packet_path(self._sender, self._payload_type, clock_rate, vp8)
            self.track.path = path
        self.path = path
        on_nack(self._sender, self._nack)

    def _sender_started(self) -> None:
        """The subscriber's sender runs: open the path; make sure a keyframe is on its way."""
        if self not in self.publication.packet_subscriptions:
            return
        self._open()
        if (
            self.waiting_keyframe
            and self.publication.last_request_age() > KEYFRAME_REQUEST_INTERVAL
        ):
            self.waiting_since = self.publication.clock.now()
            self.publication.request_keyframe("subscriber sender started")

    @property
    def frames(self) -> int:
        """Frames (audio: packets) this subscription sent on."""
        if self.fanned_out and self.path is not None:
            return self.path.frames - self._frames_base
        return self._frames

    def forward(self, packet: Any, ntp: int, level: int, key: bool) -> bool:
        """Send one publisher packet on, rewritten; the hot path outside the publication's
        compiled fan-out (once per packet per subscriber). True when this subscription can join
        the fan-out from the next packet on: it is cut and its path is compiled."""
        path = self.path
        if path is None:
            return False
        if self.waiting_keyframe:
            if not key:
                now = self.publication.clock.now()
                if now - self.waiting_since > KEYFRAME_RETRY_AFTER:
                    self.waiting_since = now
                    self.publication.request_keyframe("subscriber still waiting")
                return False
            self._cut(path, packet, ntp)
        marker = packet.marker
        sent = path.send_offset(
            marker, packet.sequence_number, packet.timestamp, packet.payload, ntp, level
        )
        if sent and (marker or path.kind == "audio"):
            self._frames += 1
        return isinstance(path, CompiledPacketPath)

    def join_fanout(self) -> None:
        """From now on the publication's compiled fan-out sends for this subscription."""
        assert self.path is not None
        self.fanned_out = True
        self._frames_base = self.path.frames - self._frames

    def leave_fanout(self) -> None:
        """Back to forward() (waiting for a keyframe again, or leaving)."""
        if self.fanned_out and self.path is not None:
            self._frames = self.path.frames - self._frames_base
        self.fanned_out = False

    def _cut(self, path: PacketPath, packet: Any, ntp: int) -> None:
        """Start (or restart) this stream on `packet`, seamlessly after what the sender sent."""
        self.waiting_keyframe = False
        publication = self.publication
        if path.last_sequence is None:
            first = random.getrandbits(16)
            self._timestamp_delta = random.getrandbits(32)
        else:
            first = (path.last_sequence + 1) & 0xFFFF
            # Keep the subscriber's clock running at the pace of real time across the cut.
            elapsed = max(1, ((ntp - path.last_ntp) * path.clock_rate) >> 32)
            self._timestamp_delta = (path.last_timestamp + elapsed - packet.timestamp) & 0xFFFFFFFF
        self._sequence_delta = (first - packet.sequence_number) & 0xFFFF
        self._first_out = first
        path.set_offsets(self._sequence_delta, self._timestamp_delta)
        if path.vp8 and path.last_source is not publication:
            offset = vp8_picture_id_offset(packet.payload)
            if offset >= 0:
                sent = path.sent_picture_id()
                # Another source on this sender: its picture ids continue the last ones.
                path.picture_id_delta = (
                    (sent + 1 - vp8_picture_id(packet.payload, offset)) & 0x7FFF if sent >= 0 else 0
                )
        path.last_source = publication
        logger.debug(
            "sub %s %s from %s: cut at seq %d",
            id(self.track),
            publication.kind,
            publication.participant_id,
            packet.sequence_number,
        )

    def _nack(self, sequence_number: int) -> None:
        """A subscriber's NACK: answer from the publication's history, rewritten for it."""
        path = self.path
        first = self._first_out
        if path is None or first is None or ((sequence_number - first) & 0xFFFF) >= 0x8000:
            return
        now = self.publication.clock.now()
        resent = self._resent.get(sequence_number)
        if resent is not None and now - resent < RESEND_HOLDOFF:
            return
        original = (sequence_number - self._sequence_delta) & 0xFFFF
        packet = self.publication.history.get(original)
        if packet is None:
            self.publication.nacks_unanswered += 1
            return
        if now - self._budget_at >= 1.0:
            self._budget_at, self._budget_sent, self._budget_used = now, path.packets, 0
        allowed = RESEND_BURST + RESEND_SHARE * (path.packets - self._budget_sent)
        if self._budget_used >= allowed:
            self.resends_refused += 1
            return
        self._budget_used += 1
        if len(self._resent) > 512:
            self._resent.clear()
        self._resent[sequence_number] = now
        path.send_rtx(
            sequence_number,
            (packet.timestamp + self._timestamp_delta) & 0xFFFFFFFF,
            packet.payload,
            ntp_now(),
            packet.marker,
        )


class Publication:
    """One published remote track on the hub: taps its receiver and fans packets (packet mode)
    or frames (frame mode) out."""

    def __init__(
        self,
        participant_id: str,
        kind: str,
        receiver: RTCRtpReceiver,
        *,
        stall_timeout: float = 0.4,
        on_first_frame: Callable[[Publication], None] | None = None,
        on_audio_level: Callable[[Publication, int], None] | None = None,
        tap: bool = True,
        packets: bool = False,
        clock: Clock = LOOP_CLOCK,
    ) -> None:
        self.participant_id = participant_id
        self.clock = clock
        self.kind = kind
        self.receiver = receiver
        # The codec negotiated with the publisher (set by the participant after negotiation).
        self.codec: RTCRtpCodecParameters | None = None
        self.subscriptions: list[Subscription] = []
        self.packet_subscriptions: list[PacketSubscription] = []
        # Packet mode with rooms/_fanout.so: the subscriptions whose packets one C call sends
        # (cut and routed), the array of their outputs, and those forward() still serves
        # (waiting for a keyframe, or the pure-Python path).
        self._fanout_library: Any = fanout_library()
        self._fanned: list[PacketSubscription] = []
        self._fanned_outs: Any = None
        self._fanned_count = 0
        self._unfanned: list[PacketSubscription] = []
        # Packet mode, video, rooms/_fanout.so: the publisher's plain packets are read and
        # fanned out in C (rooms/intake.c) while every subscription is in the fan-out; the
        # history is kept there for both paths.
        self._intake: CompiledIntake | None = (
            compiled_intake() if packets and kind == "video" and clock is LOOP_CLOCK else None
        )
        self.history: PacketHistory | CompiledIntake = (
            self._intake if self._intake is not None else PacketHistory()
        )
        self._packets = 0
        self.nacks_unanswered = 0
        self._frames = 0
        self._last_frame_at: float | None = None
        self.keyframe_requests_sent = 0
        # Held back from every subscriber (the host muted the site, or it is in the waiting
        # room); frames are still received and counted.
        self.held = False
        self._on_first_frame = on_first_frame
        self._on_audio_level = on_audio_level
        self._ssrc: int | None = None
        self._last_request = -KEYFRAME_REQUEST_INTERVAL
        self._deferred: Timer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.packet_mode = packets
        self._packet_tap: PacketTap | None = None
        self._frame_sinks: list[Callable[[EncodedFrame], None]] = []
        self._codec_name = ""
        self._last_timestamp: int | None = None
        if packets:
            self._packet_tap = tap_receiver_packets(
                receiver, kind, self.on_packet, stall_timeout=stall_timeout, intake=self._intake
            )
        elif tap:
            tap_receiver(receiver, kind, self.on_frame, stall_timeout=stall_timeout)

    # Counted here for the packets Python handles, in the intake for those C took.
    @property
    def packets(self) -> int:
        """RTP packets received (video: not counting duplicates)."""
        intake = self._intake
        return self._packets + (intake.packets if intake is not None else 0)

    @property
    def packets_compiled(self) -> int:
        """Of `packets`, those C took without Python (rooms/intake.c)."""
        return self._intake.packets if self._intake is not None else 0

    @property
    def frames(self) -> int:
        """Frames received (audio: packets)."""
        intake = self._intake
        return self._frames + (intake.frames if intake is not None else 0)

    @frames.setter
    def frames(self, value: int) -> None:
        intake = self._intake
        self._frames = value - (intake.frames if intake is not None else 0)

    @property
    def last_frame_at(self) -> float | None:
        """Loop-clock time of the last packet (or frame) received, None before the first."""
        intake = self._intake
        if (
            intake is not None
            and intake.last_at
            and (self._last_frame_at is None or intake.last_at > self._last_frame_at)
        ):
            return intake.last_at
        return self._last_frame_at

    @last_frame_at.setter
    def last_frame_at(self, value: float | None) -> None:
        self._last_frame_at = value

    def _update_intake(self) -> None:
        """Let C take the publisher's packets only when it can do all Python would: every
        subscription fanned out, nothing held, no frames rebuilt (a recording)."""
        intake = self._intake
        if intake is not None:
            intake.enable(
                not self._closed and not self.held and not self._unfanned and not self._frame_sinks
            )

    def add_frame_sink(self, sink: Callable[[EncodedFrame], None]) -> None:
        """Also hand every reassembled encoded frame to `sink` (a recorder), in either mode."""
        self._frame_sinks.append(sink)
        self._update_intake()
        if self._packet_tap is not None and len(self._frame_sinks) == 1:
            self._packet_tap.feed_frames(self._frames_to_sinks)

    def remove_frame_sink(self, sink: Callable[[EncodedFrame], None]) -> None:
        """Stop handing frames to `sink`."""
        if sink in self._frame_sinks:
            self._frame_sinks.remove(sink)
        if self._packet_tap is not None and not self._frame_sinks:
            self._packet_tap.feed_frames(None)
        self._update_intake()

    def _frames_to_sinks(self, frame: EncodedFrame) -> None:
        for sink in list(self._frame_sinks):
            sink(frame)

    def on_packet(self, packet: Any) -> None:
        """Packet tap sink: runs on the event loop for every RTP packet of this publication."""
        if self._closed:
            return
        video = self.kind == "video"
        if video and not self.history.add(packet):
            return  # a duplicate (a retransmission that raced the original)
        self._packets += 1
        self._ssrc = packet.ssrc
        self._last_frame_at = self.clock.now()
        if not video or packet.marker:
            self._frames += 1
        if self.frames == 1 and self._on_first_frame is not None and (not video or packet.marker):
            self._on_first_frame(self)
        if self.held:
            return
        level = 0x7F
        if not video:
            extension = packet.extensions.audio_level
            if extension is not None:
                level = (0x80 if extension[0] else 0) | (extension[1] & 0x7F)
                if self._on_audio_level is not None:
                    self._on_audio_level(self, -int(extension[1]))
        ntp = ntp_now()
        fanned = self._fanned_count
        if fanned:
            fanout_send(
                self._fanout_library,
                self._fanned_outs,
                fanned,
                packet.payload,
                packet.marker,
                not video,
                packet.sequence_number,
                packet.timestamp,
                ntp,
                level,
                # Read off the publisher's socket with others: queued, sent together.
                packet.batch if type(packet) is ForwardedPacket else None,
                self._fanned,
            )
            # (With the intake taking the packets in between, Python sees one every RX_INTERVAL.)
            if self._packets & 15 == 0 or (self._intake is not None and self._intake.enabled):
                self._tend_fanout()
        subscriptions = self._unfanned
        if not subscriptions:
            return
        key = not video  # every audio packet can start (or restart) a subscriber's stream
        if video:
            if not self._codec_name:
                codec = packet_codec(self.receiver, packet.payload_type)
                self._codec_name = codec.name.lower() if codec is not None else "?"
            for subscription in subscriptions:
                if subscription.waiting_keyframe:
                    key = keyframe_start(self._codec_name, packet.payload)
                    break
        joined = False
        for subscription in subscriptions:
            if subscription.forward(packet, ntp, level, key) and self._fanout_library is not None:
                subscription.join_fanout()
                joined = True
        if joined:
            self._regroup()

    def _regroup(self) -> None:
        """Rebuild the fan-out's array of C outputs and the list forward() still serves."""
        self._fanned = [s for s in self.packet_subscriptions if s.fanned_out]
        self._unfanned = [s for s in self.packet_subscriptions if not s.fanned_out]
        paths = [s.path for s in self._fanned if s.path is not None]
        self._fanned_count = len(paths)
        self._fanned_outs = fanout_outputs(paths) if paths else None
        if self._intake is not None:
            self._intake.set_fanout(self._fanned_outs, self._fanned_count)
            self._update_intake()

    def _tend_fanout(self) -> None:
        """A few times a second: each fanned-out path checks its route (the ICE pair may have
        changed, the transport closed) and tells aiortc what it sent (sender reports)."""
        for subscription in self._fanned:
            path = subscription.path
            if path is not None:
                path.routed()
                path.sync()

    def on_frame(self, frame: EncodedFrame) -> None:
        """Tap sink: runs on the event loop for every reassembled frame."""
        if self._closed:
            return
        self._ssrc = frame.ssrc
        self._frames += 1
        # The room's ear on the site (Room._link_loop): when it last sent anything at all.
        self.last_frame_at = self.clock.now()
        if self.frames == 1 and self._on_first_frame is not None:
            self._on_first_frame(self)
        if self.held:
            return
        if frame.audio_level is not None and self._on_audio_level is not None:
            self._on_audio_level(self, frame.audio_level)
        for sink in self._frame_sinks:
            sink(frame)
        if frame.discontinuity and self.kind == "video" and self.subscriptions:
            self.request_keyframe("upstream gap")
        for subscription in self.subscriptions:
            subscription.deliver(frame)

    def hold(self, held: bool) -> None:
        """Stop (True) or resume (False) forwarding to every subscriber, without renegotiating."""
        if held == self.held:
            return
        self.held = held
        everyone: list[Subscription | PacketSubscription] = [
            *self.subscriptions,
            *self.packet_subscriptions,
        ]
        for packets in self.packet_subscriptions:
            packets.leave_fanout()
        self._regroup()
        if not held and everyone:
            # The subscribers missed frames: restart them on a keyframe (audio restarts at
            # once, its stream cut seamlessly after what was last sent).
            for subscription in everyone:
                subscription.waiting_keyframe = True
                subscription.waiting_since = self.clock.now()
            if self.kind == "video":
                self.request_keyframe("forwarding resumed")

    def subscribe(self, track: ForwardedTrack) -> Subscription:
        """Start forwarding into `track`; asks the publisher for a keyframe."""
        subscription = Subscription(self, track)
        self.subscriptions.append(subscription)
        if self.kind == "video":
            self.request_keyframe("new subscriber")
        return subscription

    def subscribe_packets(
        self, track: ForwardedTrack, sender: Any, payload_type: int
    ) -> PacketSubscription:
        """Start forwarding packets to `sender` (the slot carrying `track`); asks the publisher
        for a keyframe."""
        subscription = PacketSubscription(self, track, sender, payload_type)
        self.packet_subscriptions.append(subscription)
        self._regroup()
        if self.kind == "video":
            self.request_keyframe("new subscriber")
        return subscription

    def unsubscribe(self, subscription: Subscription | PacketSubscription) -> None:
        """Stop forwarding into a subscription's track."""
        if isinstance(subscription, PacketSubscription):
            if subscription in self.packet_subscriptions:
                subscription.leave_fanout()
                if subscription.path is not None:
                    subscription.path.sync()
                self.packet_subscriptions.remove(subscription)
                self._regroup()
            return
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)
            subscription.track.flush()

    def last_request_age(self) -> float:
        """Seconds since the last keyframe request went to the publisher."""
        return self.clock.now() - self._last_request

    def request_keyframe(self, reason: str) -> None:
        """Ask the publisher for a keyframe, at most once per KEYFRAME_REQUEST_INTERVAL."""
        if self._closed or self.kind != "video":
            return
        wait = self._last_request + KEYFRAME_REQUEST_INTERVAL - self.clock.now()
        if wait <= 0:
            self._send_pli(reason)
        elif self._deferred is None:
            # Merge requests inside the window into one sent when it ends, so a late joiner
            # whose request was throttled still gets its keyframe.
            deferred = reason + " (deferred)"
            self._deferred = self.clock.call_later(wait, lambda: self._send_pli(deferred))

    def _send_pli(self, reason: str) -> None:
        self._deferred = None
        if self._closed:
            return
        self._last_request = self.clock.now()
        ssrc = self._ssrc
        if ssrc is None:
            return  # nothing received yet: the first frame is a keyframe anyway
        self.keyframe_requests_sent += 1
        logger.debug("PLI to participant %s (%s)", self.participant_id, reason)
        task = asyncio.get_running_loop().create_task(request_keyframe(self.receiver, ssrc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop forwarding and cancel pending keyframe requests."""
        self._closed = True
        self._update_intake()
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        for subscription in list(self.subscriptions):
            self.unsubscribe(subscription)
        for packets in self.packet_subscriptions:
            packets.leave_fanout()
        self.packet_subscriptions.clear()
        self._regroup()
        self._frame_sinks.clear()
        if self._packet_tap is not None:
            self._packet_tap.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

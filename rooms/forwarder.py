"""Frame-level passthrough: publishers' encoded frames reach subscribers via pack(), no encoding."""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rooms.aiortc_internals import EncodedFrame, request_keyframe, tap_receiver

logger = logging.getLogger(__name__)

# At most one upstream keyframe request per publisher in this interval (subscribers' PLIs,
# joins and gaps are merged into it).
KEYFRAME_REQUEST_INTERVAL = 0.5
# A subscriber still waiting for a keyframe after this long asks again (a PLI can be lost).
KEYFRAME_RETRY_AFTER = 1.0
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


class Publication:
    """One published remote track on the hub: taps its receiver and fans frames out."""

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
        clock: Clock = LOOP_CLOCK,
    ) -> None:
        self.participant_id = participant_id
        self.clock = clock
        self.kind = kind
        self.receiver = receiver
        # The codec negotiated with the publisher (set by the participant after negotiation).
        self.codec: RTCRtpCodecParameters | None = None
        self.subscriptions: list[Subscription] = []
        self.frames = 0
        self.last_frame_at: float | None = None
        self.keyframe_requests_sent = 0
        # Held back from every subscriber (the host muted the site, or it is in the waiting
        # room); frames are still received and counted.
        self.held = False
        self._on_first_frame = on_first_frame
        self._on_audio_level = on_audio_level
        # The frame feed for recorders (rooms/recorder.py): called with every frame this
        # publication forwards (not while held), whether or not anyone subscribes.
        self.frame_listeners: list[Callable[[EncodedFrame], None]] = []
        self._ssrc: int | None = None
        self._last_request = -KEYFRAME_REQUEST_INTERVAL
        self._deferred: Timer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        if tap:
            tap_receiver(receiver, kind, self.on_frame, stall_timeout=stall_timeout)

    def on_frame(self, frame: EncodedFrame) -> None:
        """Tap sink: runs on the event loop for every reassembled frame."""
        if self._closed:
            return
        self._ssrc = frame.ssrc
        self.frames += 1
        # The room's ear on the site (Room._link_loop): when it last sent anything at all.
        self.last_frame_at = self.clock.now()
        if self.frames == 1 and self._on_first_frame is not None:
            self._on_first_frame(self)
        if self.held:
            return
        if frame.audio_level is not None and self._on_audio_level is not None:
            self._on_audio_level(self, frame.audio_level)
        if frame.discontinuity and self.kind == "video" and self.subscriptions:
            self.request_keyframe("upstream gap")
        for subscription in self.subscriptions:
            subscription.deliver(frame)
        for listener in self.frame_listeners:
            listener(frame)

    def hold(self, held: bool) -> None:
        """Stop (True) or resume (False) forwarding to every subscriber, without renegotiating."""
        if held == self.held:
            return
        self.held = held
        if not held and self.kind == "video" and self.subscriptions:
            # The subscribers missed frames: restart them on a keyframe.
            for subscription in self.subscriptions:
                subscription.waiting_keyframe = True
                subscription.waiting_since = self.clock.now()
            self.request_keyframe("forwarding resumed")

    def subscribe(self, track: ForwardedTrack) -> Subscription:
        """Start forwarding into `track`; asks the publisher for a keyframe."""
        subscription = Subscription(self, track)
        self.subscriptions.append(subscription)
        if self.kind == "video":
            self.request_keyframe("new subscriber")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop forwarding into a subscription's track."""
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
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        for subscription in list(self.subscriptions):
            self.unsubscribe(subscription)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

"""Keyframe gating, gap hold, PLI throttling, and the full publisher→hub→subscriber path."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rooms import forwarder
from rooms.aiortc_internals import (
    EncodedFrame,
    request_keyframe,
    restrict_host_candidates,
    tap_receiver,
)
from rooms.forwarder import ForwardedTrack, Publication
from rooms.participant import codec_key
from signaling.site_agent import ReplayVideoTrack, encode_clip

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


class ManualClock:
    """A clock the test advances by hand: deferred keyframe requests fire when it says so."""

    class _Timer:
        def __init__(self) -> None:
            self.cancelled = False

        def cancel(self) -> None:
            self.cancelled = True

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._order = itertools.count()
        self._due: list[tuple[float, int, Callable[[], None], ManualClock._Timer]] = []

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> ManualClock._Timer:
        timer = ManualClock._Timer()
        heapq.heappush(self._due, (self._now + delay, next(self._order), callback, timer))
        return timer

    async def advance(self, seconds: float) -> None:
        """Move time on, running what falls due in order; tasks spawned meanwhile run at the
        moment they were spawned (before time moves on)."""
        await self._settle()
        end = self._now + seconds
        while self._due and self._due[0][0] <= end:
            due, _order, callback, timer = heapq.heappop(self._due)
            self._now = due
            if not timer.cancelled:
                callback()
                await self._settle()
        self._now = end
        await self._settle()

    @staticmethod
    async def _settle() -> None:
        for _ in range(3):
            await asyncio.sleep(0)


class StubReceiver:
    """Records (on the test's clock) the PLIs a Publication sends upstream."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.plis: list[float] = []

    async def _send_rtcp_pli(self, media_ssrc: int) -> None:
        self.plis.append(self.clock.now())


def publication_on(clock: ManualClock) -> tuple[Publication, StubReceiver]:
    receiver = StubReceiver(clock)
    publication = Publication("pub", "video", receiver, tap=False, clock=clock)  # type: ignore[arg-type]
    return publication, receiver


def frame(ts: int, *, key: bool = False, gap: bool = False) -> EncodedFrame:
    return EncodedFrame("video", VP8, b"k" if key else b"d", ts, key, gap, ssrc=42)


def drain(track: ForwardedTrack) -> list[bytes]:
    out = []
    while track.queued:
        packet = track._queue.get_nowait()
        assert packet is not None
        out.append(bytes(packet))
    return out


async def test_new_subscriber_starts_on_a_keyframe_and_asks_for_one() -> None:
    clock = ManualClock()
    publication, receiver = publication_on(clock)
    publication.on_frame(frame(0))  # before anyone subscribes: learns the SSRC
    track = ForwardedTrack("video", 90000)
    publication.subscribe(track)
    await clock.advance(0)
    assert len(receiver.plis) == 1
    for ts, key in ((3000, False), (6000, False), (9000, True), (12000, False)):
        publication.on_frame(frame(ts, key=key))
    assert drain(track) == [b"k", b"d"]


async def test_upstream_gap_holds_the_subscriber_until_the_next_keyframe() -> None:
    clock = ManualClock()
    publication, receiver = publication_on(clock)
    publication.on_frame(frame(0, key=True))
    track = ForwardedTrack("video", 90000)
    publication.subscribe(track)
    publication.on_frame(frame(3000, key=True))
    publication.on_frame(frame(6000))
    assert drain(track) == [b"k", b"d"]
    publication.on_frame(frame(15000, gap=True))  # frames 9000 and 12000 were lost upstream
    publication.on_frame(frame(18000))
    assert drain(track) == []
    publication.on_frame(frame(21000, key=True))
    publication.on_frame(frame(24000))
    assert drain(track) == [b"k", b"d"]
    await clock.advance(forwarder.KEYFRAME_REQUEST_INTERVAL - 0.01)
    assert len(receiver.plis) == 1  # the gap's request waits out the throttle window
    await clock.advance(0.01)
    # One for the subscription, one (deferred to the end of the window) for the gap.
    assert receiver.plis == [1000.0, 1000.0 + forwarder.KEYFRAME_REQUEST_INTERVAL]


async def test_keyframe_requests_are_throttled_per_publisher() -> None:
    clock = ManualClock()
    publication, receiver = publication_on(clock)
    publication.on_frame(frame(0, key=True))
    start = clock.now()
    for _ in range(20):  # a subscriber's PLI every 10 ms for 200 ms
        publication.request_keyframe("subscriber PLI")
        await clock.advance(0.01)
    await clock.advance(forwarder.KEYFRAME_REQUEST_INTERVAL)
    # The first at once, the other 19 merged into one at the end of the window.
    assert receiver.plis == pytest.approx([start, start + forwarder.KEYFRAME_REQUEST_INTERVAL])
    # A request after the window goes out at once again.
    await clock.advance(forwarder.KEYFRAME_REQUEST_INTERVAL)
    publication.request_keyframe("subscriber PLI")
    await clock.advance(0)
    assert len(receiver.plis) == 3
    assert receiver.plis[-1] == pytest.approx(start + 0.2 + 2 * forwarder.KEYFRAME_REQUEST_INTERVAL)
    await publication.close()


async def test_closing_a_publication_calls_off_its_deferred_request() -> None:
    clock = ManualClock()
    publication, receiver = publication_on(clock)
    publication.on_frame(frame(0, key=True))
    publication.request_keyframe("first")
    await clock.advance(0.1)
    publication.request_keyframe("deferred")
    await publication.close()
    await clock.advance(2 * forwarder.KEYFRAME_REQUEST_INTERVAL)
    assert len(receiver.plis) == 1


async def test_timestamps_stay_continuous_when_a_slot_changes_publisher() -> None:
    track = ForwardedTrack("video", 90000)
    a, b = object(), object()
    track.push(frame(1_000_000), a)
    track.push(frame(1_003_000), a)
    track.push(frame(50), b)
    pts = [track._queue.get_nowait().pts for _ in range(3)]  # type: ignore[union-attr]
    assert pts[1] - pts[0] == 3000 and pts[2] - pts[1] == 3000


def test_codec_key_ignores_payload_types() -> None:
    other = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=120)
    assert codec_key(VP8) == codec_key(other)


async def connect(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
    for pc in (a, b):
        restrict_host_candidates(pc, ["127.0.0.1"])
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    restrict_host_candidates(b, ["127.0.0.1"])
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)


async def test_real_peers_keyframe_gating_and_pli_forwarding() -> None:
    """publisher → hub (tap) → hub sender (pack) → subscriber, all aiortc on loopback."""
    config = RTCConfiguration(iceServers=[])
    publisher, hub_in = RTCPeerConnection(config), RTCPeerConnection(config)
    hub_out, subscriber = RTCPeerConnection(config), RTCPeerConnection(config)
    source = ReplayVideoTrack(encode_clip(seconds=1.0))
    pub_transceiver = publisher.addTransceiver(source, direction="sendonly")
    from rooms.aiortc_internals import on_keyframe_request

    on_keyframe_request(pub_transceiver.sender, source.request_keyframe)
    publications: list[Publication] = []
    hub_in.on(
        "track",
        lambda track: publications.append(
            Publication("pub", "video", hub_in.getTransceivers()[0].receiver)
        ),
    )
    received: list[EncodedFrame] = []
    forwarded = ForwardedTrack("video", 90000)
    out_transceiver = hub_out.addTransceiver(forwarded, direction="sendonly")
    subscriber.on(
        "track",
        lambda track: tap_receiver(
            subscriber.getTransceivers()[0].receiver, "video", received.append
        ),
    )
    try:
        await connect(publisher, hub_in)
        await connect(hub_out, subscriber)
        publication = publications[0]
        on_keyframe_request(out_transceiver.sender, lambda: publication.request_keyframe("PLI"))
        # Let the publisher run past its first keyframe before anyone subscribes.
        for _ in range(100):
            if publication.frames > 20:
                break
            await asyncio.sleep(0.05)
        keys_before = source.keyframes_sent
        publication.subscribe(forwarded)
        for _ in range(100):
            if len(received) > 10:
                break
            await asyncio.sleep(0.05)
        assert received, "subscriber got nothing"
        assert received[0].keyframe, "the first forwarded frame must be a keyframe"
        assert source.keyframes_sent > keys_before, "subscribing did not ask for a keyframe"
        # The subscriber's own PLI reaches the publisher through the hub.
        await asyncio.sleep(forwarder.KEYFRAME_REQUEST_INTERVAL)
        keys_before = source.keyframes_sent
        receiver: RTCRtpReceiver = subscriber.getTransceivers()[0].receiver
        await request_keyframe(receiver, received[-1].ssrc)
        for _ in range(40):
            if source.keyframes_sent > keys_before:
                break
            await asyncio.sleep(0.05)
        assert source.keyframes_sent > keys_before
        assert not any(f.discontinuity for f in received[1:])
    finally:
        for pc in (publisher, hub_in, hub_out, subscriber):
            await pc.close()
        for publication in publications:
            await publication.close()

"""The aiortc internals the hub relies on are still there, and the frame tap behaves."""

from __future__ import annotations

import time
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from rooms import aiortc_internals
from rooms.aiortc_internals import EncodedFrame, check_internals, remote_candidate_allowed

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

"""The recorder on its own: encoded frames fed to real Publications come out as Matroska files
(codec copy) with the expected tracks, timeline, chapters and hashes."""

from __future__ import annotations

import asyncio
import fractions
import json
import random
from pathlib import Path

import av
import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rooms.aiortc_internals import EncodedFrame
from rooms.forwarder import Publication
from rooms.recorder import Chapter, Recorder, sha256_of, vp8_size
from signaling.site_agent import encode_clip

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


class PliReceiver:
    """aiortc's receiver as far as a Publication's keyframe requests go: counts them."""

    def __init__(self) -> None:
        self.plis = 0

    async def _send_rtcp_pli(self, media_ssrc: int) -> None:
        self.plis += 1


def opus_packets(count: int) -> list[bytes]:
    """Real Opus packets (20 ms of silence each), encoded once."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = 48000
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.time_base = fractions.Fraction(1, 48000)
    out: list[bytes] = []
    for index in range(count + 10):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 48000
        frame.pts = index * 960
        out.extend(bytes(p) for p in encoder.encode(frame))
    return out[:count]


def track_spans(path: Path) -> dict[int, tuple[str, float, float, int]]:
    """Per stream: kind, first and last packet time, packet count (read back with PyAV)."""
    spans: dict[int, tuple[str, float, float, int]] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is None:
                continue
            at = float(packet.pts * packet.time_base)
            kind, first, last, count = spans.get(
                packet.stream.index, (packet.stream.type, at, at, 0)
            )
            spans[packet.stream.index] = (kind, min(first, at), max(last, at), count + 1)
    return spans


async def test_two_sites_recorded_with_chapters(tmp_path: Path) -> None:
    clip = encode_clip(seconds=1.0)
    audio = opus_packets(50)
    recorder = Recorder(7, 3, tmp_path / "rec")
    recorder.start()
    sites: list[tuple[Publication, Publication, PliReceiver]] = []
    for office in (1, 2):
        receiver = PliReceiver()
        video = Publication(f"p{office}", "video", receiver, tap=False)  # type: ignore[arg-type]
        sound = Publication(f"p{office}", "audio", receiver, tap=False)  # type: ignore[arg-type]
        for publication in (video, sound):
            recorder.attach(publication, office, f"Office {office}", lambda: True)
        sites.append((video, sound, receiver))
    rnd = random.Random(3)
    bases = [(rnd.getrandbits(32), rnd.getrandbits(32)) for _ in sites]
    seconds = 4
    for tick in range(seconds * 50):  # 20 ms steps: audio every step, video every 3rd-ish
        for (video, sound, _r), (vbase, abase) in zip(sites, bases, strict=True):
            sound.on_frame(
                EncodedFrame(
                    "audio",
                    OPUS,
                    audio[tick % 50],
                    (abase + tick * 960) & 0xFFFFFFFF,
                    True,
                    False,
                    ssrc=2,
                )
            )
            if tick % 5 in (0, 2, 4) and (tick * 3) // 5 < seconds * 30:
                index = (tick * 3) // 5
                first = index == 0
                data = (
                    clip.key[index % len(clip.key)]
                    if first
                    else clip.delta[index % len(clip.delta)]
                )
                video.on_frame(
                    EncodedFrame(
                        "video",
                        VP8,
                        data,
                        (vbase + index * 3000) & 0xFFFFFFFF,
                        first,
                        first,
                        ssrc=1,
                    )
                )
        if tick % 25 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0.3)
    manifest = await recorder.stop([Chapter("HS-1", 1.0, 2.5, petition_id=11)])
    # The stop is measured on the wall clock (the frames above came faster than real time).
    combined = tmp_path / "rec" / "recording.mkv"
    assert manifest["sha256"] == sha256_of(combined)
    assert (
        json.loads((tmp_path / "rec" / "manifest.json").read_text())["sha256"] == manifest["sha256"]
    )
    spans = track_spans(combined)
    kinds = sorted(kind for kind, *_ in spans.values())
    assert kinds == ["audio", "audio", "video", "video"]
    for kind, first, last, count in spans.values():
        assert first < 0.2, (kind, first)
        assert abs(last - (seconds - (1 / 30 if kind == "video" else 0.02))) < 0.1, (kind, last)
        assert count >= (seconds * 30 - 1 if kind == "video" else seconds * 50 - 1)
    with av.open(str(combined)) as container:
        chapters = container.chapters()
        assert [c["metadata"]["title"] for c in chapters] == ["HS-1"]
        assert float(chapters[0]["start"] * chapters[0]["time_base"]) == pytest.approx(1.0)
        titles = sorted(s.metadata.get("title", "") for s in container.streams)
        assert titles[0] == "Office 1 (audio)"
        # Codec copy: the VP8 frames in the file are the bytes that were fed in.
        first_video = next(p for p in container.demux(video=0) if p.pts is not None)
        assert bytes(first_video) == clip.key[0]
        assert vp8_size(bytes(first_video)) == (640, 480)
    # One playback file per site, starting at 0, with its offset in the manifest.
    assert [s["file"] for s in manifest["sites"]] == ["site-1-0.webm", "site-2-0.webm"]
    for site in manifest["sites"]:
        path = tmp_path / "rec" / site["file"]
        assert site["sha256"] == sha256_of(path)
        site_spans = track_spans(path)
        assert len(site_spans) == 2
        assert min(first for _k, first, _l, _c in site_spans.values()) == 0.0
    assert not list((tmp_path / "rec").glob("raw-*"))


async def test_full_queue_drops_frames_and_resumes_on_a_keyframe(tmp_path: Path) -> None:
    """A writer that cannot keep up costs frames, never a wait on the loop; video then waits
    for a keyframe (asked for) so that the file stays decodable."""
    clip = encode_clip(seconds=0.5)
    recorder = Recorder(8, 3, tmp_path / "rec", queue_packets=5)
    receiver = PliReceiver()
    video = Publication("p", "video", receiver, tap=False)  # type: ignore[arg-type]
    recorder.attach(video, 1, "Office 1", lambda: True)
    recorder.start()
    # The writer thread is busy opening the file while 40 frames arrive at once.
    for index in range(40):
        key = index in (0, 30)
        data = clip.key[0] if key else clip.delta[index % len(clip.delta)]
        video.on_frame(EncodedFrame("video", VP8, data, index * 3000, key, index == 0, ssrc=1))
    assert recorder.dropped > 0
    await asyncio.sleep(0)
    manifest = await recorder.stop([])
    with av.open(str(tmp_path / "rec" / manifest["file"])) as container:
        packets = [p for p in container.demux(video=0) if p.pts is not None]
    assert packets[0].is_keyframe
    # After a drop the next frame written is a keyframe (index 30, the only other one).
    indices = [round(float(p.pts * p.time_base) * 30) for p in packets]
    assert len(packets) < 40
    for before, after, packet in zip(indices, indices[1:], packets[1:], strict=False):
        if after != before + 1:
            assert packet.is_keyframe and after == 30, (before, after)


def h264_frames(count: int) -> list[bytes]:
    """Constrained-baseline H.264 access units in Annex B, as a receiver depayloads them; the
    first carries SPS, PPS and an IDR."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 90000)
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline"}
    out: list[bytes] = []
    for index in range(count):
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([index % 200 + 20]) * plane.buffer_size)
        frame.pts = index * 3000
        out.extend(bytes(p) for p in encoder.encode(frame))
    return out


async def test_h264_is_copied_with_its_parameter_sets(tmp_path: Path) -> None:
    """H.264 goes into Matroska as it came (its avcC built from the first keyframe's SPS and
    PPS), and its site's playback file is Matroska, not WebM."""
    frames = h264_frames(60)
    recorder = Recorder(9, 3, tmp_path / "rec")
    recorder.start()
    video = Publication("p", "video", PliReceiver(), tap=False)  # type: ignore[arg-type]
    recorder.attach(video, 4, "Office 4", lambda: True)
    for index, data in enumerate(frames):
        video.on_frame(
            EncodedFrame("video", H264, data, 1000 + index * 3000, index == 0, index == 0, ssrc=1)
        )
        if index % 10 == 0:
            await asyncio.sleep(0)
    manifest = await recorder.stop([])
    assert [s["file"] for s in manifest["sites"]] == ["site-4-0.mkv"]
    assert manifest["sites"][0]["codecs"] == {"video": "h264"}
    with av.open(str(tmp_path / "rec" / manifest["file"])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        decoded = sum(1 for _ in container.decode(stream))
    assert decoded == len(frames)

"""Recording a hearing's room: the forwarded encoded frames written as they are, never decoded.

Where the frames come from (the one hook into forwarding): Publication.add_frame_sink
(rooms/forwarder.py) hands the sink every reassembled EncodedFrame of the site's receiver (in
frame mode the frames it forwards; in packet mode the packet tap reassembles them for its sinks
only while one is added). The Room adds its Recorder's sink to each publication of an admitted
participant while a recording runs (Room._record_publication) and removes it at the stop; the
sink skips frames while the publication is held (a site the host muted is not recorded) or its
participant is in the waiting room.

How it is written:
- On the event loop (per frame, cheap): the frame's RTP timestamp becomes a presentation time
  rebased to the recording's start (the first frame of each source is placed at the moment it
  arrived, the next ones follow their own RTP clock), a video track starts on a keyframe (and
  after an upstream gap waits for the next one, asking the publisher), and the packet is handed
  to a bounded queue. A full queue (the disk is slow) drops the packet and never blocks: the
  forwarding runs on the same loop.
- On one writer thread per recording: PyAV muxes each site's packets into a Matroska file of
  its own (codec copy: VP8 or H.264 video, Opus audio; one video and one audio track). A site
  that rejoins continues its file; one that comes back with another codec starts a new part.
- At stop (still on the writer thread): the site files are remuxed into `recording.mkv`, one
  file with every site's tracks on one timeline and a Matroska chapter per petition heard
  (PyAV's set_chapters), and into one playback file per site that starts at 0 (WebM for VP8,
  Matroska for H.264; what a <video> element plays), with its offset in `manifest.json`. The
  SHA-256 of every file is computed there too; the raw site files are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import hashlib
import heapq
import io
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from rooms.aiortc_internals import EncodedFrame
from rooms.forwarder import Publication

logger = logging.getLogger(__name__)

VIDEO_RATE = 90000
AUDIO_RATE = 48000
_TIME_BASE = {
    "video": fractions.Fraction(1, VIDEO_RATE),
    "audio": fractions.Fraction(1, AUDIO_RATE),
}
# Packets waiting for the writer thread: about 8 s of three sites (30 video + 50 audio a second
# each); beyond that the disk is not keeping up and packets are dropped, not waited for.
QUEUE_PACKETS = 2000
# Audio kept while a site's video waits for its first keyframe (the file's tracks are fixed
# when its header is written, and a VP8 track's size comes from a keyframe): 3 s.
AUDIO_BACKLOG = 150
# A video track waiting for a keyframe asks again after this long.
KEYFRAME_RETRY = 1.0
# A source whose RTP clock strays this far from the wall clock is placed again (a publisher
# that restarted its timestamps).
MAX_CLOCK_STRAY = 5.0
COMBINED_FILE = "recording.mkv"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Chapter:
    """A petition heard: seconds from the recording's start (end None: still being heard)."""

    title: str
    start: float
    end: float | None = None
    petition_id: int | None = None


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a VP8 key frame (RFC 6386 section 9.1), None for another frame."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    return int.from_bytes(data[6:8], "little") & 0x3FFF, int.from_bytes(
        data[8:10], "little"
    ) & 0x3FFF


class _TrackClock:
    """RTP timestamps of one site's track (one kind) as presentation times of the recording."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.source: object = None
        self.base_pts = 0
        self.base_ts = 0
        self.last = -1

    def pts(self, source: object, timestamp: int, elapsed: float) -> int | None:
        """The frame's pts in 1/rate units; None for a frame older than the last one."""
        if source is not self.source:
            self._place(source, timestamp, elapsed)
        delta = (timestamp - self.base_ts) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        pts = self.base_pts + delta
        if abs(pts / self.rate - elapsed) > MAX_CLOCK_STRAY:
            self._place(source, timestamp, elapsed)
            pts = self.base_pts
        if pts <= self.last:
            return None
        self.last = pts
        return pts

    def _place(self, source: object, timestamp: int, elapsed: float) -> None:
        self.source = source
        self.base_ts = timestamp
        self.base_pts = max(round(elapsed * self.rate), self.last + 1)


@dataclass
class _Site:
    """The loop's view of one site's file (office, part)."""

    office_id: int
    office_name: str
    part: int = 0
    kinds: set[str] = field(default_factory=set)  # publications attached
    codecs: dict[str, str] = field(default_factory=dict)
    opened: bool = False
    video_waiting: bool = True
    video_asked: float = -KEYFRAME_RETRY
    backlog: deque[tuple[int, bytes]] = field(default_factory=lambda: deque(maxlen=AUDIO_BACKLOG))
    clocks: dict[str, _TrackClock] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.office_id}-{self.part}"


@dataclass
class _PartFile:
    """The writer thread's open file of one site part."""

    key: str
    office_id: int
    office_name: str
    path: Path
    container: Any
    streams: dict[str, Any]
    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    codecs: dict[str, str] = field(default_factory=dict)
    packets: int = 0
    broken: bool = False


class RecordingError(RuntimeError):
    """The recording could not be finished."""


class Recorder:
    """One recording of one room: the loop-side frame intake and its writer thread."""

    def __init__(
        self,
        recording_id: int,
        hearing_id: int,
        directory: Path,
        *,
        queue_packets: int = QUEUE_PACKETS,
    ) -> None:
        self.recording_id = recording_id
        self.hearing_id = hearing_id
        self.directory = directory
        self.started_at = 0.0  # Unix time of pts 0
        self._t0 = 0.0
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=queue_packets)
        self._thread = threading.Thread(
            target=self._write_loop, name=f"recorder-{recording_id}", daemon=False
        )
        self._sites: dict[int, _Site] = {}
        self._listeners: dict[Publication, Callable[[EncodedFrame], None]] = {}
        self._stopping = False
        self._result: asyncio.Future[dict[str, Any]] | None = None
        self.marks: list[Chapter] = []
        # Loop side: packets the queue refused (the writer fell behind).
        self.dropped = 0
        # Writer side (read for figures only).
        self.written = 0

    # -- the loop side ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Started and not yet stopping."""
        return self._thread.is_alive() and not self._stopping

    def start(self) -> None:
        """Create the directory, take the clock's zero and start the writer thread."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        self._t0 = time.monotonic()
        self._thread.start()
        logger.info("hearing %s: recording %s started", self.hearing_id, self.recording_id)

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self._t0

    def attach(
        self,
        publication: Publication,
        office_id: int,
        office_name: str,
        admitted: Callable[[], bool],
    ) -> None:
        """Record a site's publication from now on (its next keyframe starts its video)."""
        if publication in self._listeners or self._stopping:
            return
        site = self._sites.get(office_id)
        if site is None:
            site = self._sites[office_id] = _Site(office_id, office_name)
        site.kinds.add(publication.kind)

        def listener(frame: EncodedFrame) -> None:
            if admitted() and not publication.held:
                self._on_frame(site, publication, frame)
            elif publication.kind == "video":
                site.video_waiting = True  # back from the waiting room: start on a keyframe

        self._listeners[publication] = listener
        publication.add_frame_sink(listener)
        if publication.kind == "video":
            site.video_waiting = True
            site.video_asked = time.monotonic()
            publication.request_keyframe("recording")

    def detach(self, publication: Publication) -> None:
        """Stop recording a publication (its site left or went to the waiting room)."""
        listener = self._listeners.pop(publication, None)
        if listener is not None:
            publication.remove_frame_sink(listener)

    def keyframes_now(self) -> None:
        """Ask every recorded video publisher for a keyframe (a chapter starts: seeking to it
        then lands on a keyframe, with nothing to decode before it)."""
        for publication in self._listeners:
            if publication.kind == "video":
                publication.request_keyframe("recording chapter")

    def mark(self, chapter: Chapter) -> None:
        """A petition started or stopped being heard (the room's own chapters, used when the
        stop gives none)."""
        self.marks = [
            c for c in self.marks if c.petition_id != chapter.petition_id or c.petition_id is None
        ]
        self.marks.append(chapter)
        if chapter.end is None:
            self.keyframes_now()

    def _on_frame(self, site: _Site, publication: Publication, frame: EncodedFrame) -> None:
        if self._stopping:
            return
        kind = publication.kind
        codec = frame.codec.name.lower()
        known = site.codecs.get(kind)
        if known is not None and known != codec:
            # Back with another codec: a file's tracks are fixed, so a new part begins.
            self._put(("close", site.key))
            site.part += 1
            site.codecs, site.opened, site.clocks = {}, False, {}
            site.backlog.clear()
            site.video_waiting = True
        site.codecs[kind] = codec
        clock = site.clocks.get(kind)
        if clock is None:
            clock = site.clocks[kind] = _TrackClock(VIDEO_RATE if kind == "video" else AUDIO_RATE)
        pts = clock.pts(publication, frame.timestamp, self.elapsed())
        if pts is None:
            return
        if kind == "video":
            if frame.discontinuity and not site.video_waiting and not frame.keyframe:
                site.video_waiting = True
            if site.video_waiting:
                if not frame.keyframe:
                    now = time.monotonic()
                    if now - site.video_asked > KEYFRAME_RETRY:
                        logger.info(
                            "recording %s: office %s still waits for a keyframe",
                            self.recording_id,
                            site.office_id,
                        )
                        site.video_asked = now
                        publication.request_keyframe("recording waits for a keyframe")
                    return
                site.video_waiting = False
                logger.info(
                    "recording %s: office %s video from a keyframe at %.2f s",
                    self.recording_id,
                    site.office_id,
                    pts / VIDEO_RATE,
                )
            if not site.opened:
                self._open(site, frame.data)
        elif not site.opened:
            if "video" in site.kinds and len(site.backlog) < AUDIO_BACKLOG:
                site.backlog.append((pts, frame.data))
                return
            self._open(site, None)
        if not self._put(("packet", site.key, kind, pts, frame.data, frame.keyframe)):
            if kind == "video":
                site.video_waiting = True  # the file resumes on a keyframe, decodable
                publication.request_keyframe("recording queue full")

    def _open(self, site: _Site, keyframe: bytes | None) -> None:
        site.opened = True
        video = site.codecs.get("video") if "video" in site.kinds else None
        audio = "opus" if "audio" in site.kinds else None
        self._put(("open", site.key, site.office_id, site.office_name, video, keyframe, audio))
        for pts, data in site.backlog:
            self._put(("packet", site.key, "audio", pts, data, True))
        site.backlog.clear()

    def _put(self, item: tuple[Any, ...]) -> bool:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    async def stop(self, chapters: list[Chapter] | None = None) -> dict[str, Any]:
        """Stop taking frames, finish the files on the writer thread, return the manifest.
        `chapters` None: the room's own marks."""
        if self._result is not None:
            return await asyncio.shield(self._result)
        self._stopping = True
        for publication in list(self._listeners):
            self.detach(publication)
        loop = asyncio.get_running_loop()
        self._result = loop.create_future()
        duration = self.elapsed()
        result = self._result

        def done(outcome: dict[str, Any] | BaseException) -> None:
            def settle() -> None:
                if result.done():
                    return
                if isinstance(outcome, BaseException):
                    result.set_exception(outcome)
                else:
                    result.set_result(outcome)

            loop.call_soon_threadsafe(settle)

        item = ("finish", list(self.marks if chapters is None else chapters), duration, done)
        # The one put that waits (off the loop): the end of the recording must not be dropped.
        await asyncio.to_thread(self._queue.put, item)
        return await asyncio.shield(result)

    # -- the writer thread ------------------------------------------------------------------

    def _write_loop(self) -> None:
        parts: dict[str, _PartFile] = {}
        finished: list[_PartFile] = []
        while True:
            item = self._queue.get()
            op = item[0]
            try:
                if op == "open":
                    _, key, office_id, office_name, video, keyframe, audio = item
                    parts[key] = self._open_part(
                        key, office_id, office_name, video, keyframe, audio
                    )
                elif op == "packet":
                    part = parts.get(item[1])
                    if part is not None and not part.broken:
                        self._write(part, item[2], item[3], item[4], item[5])
                elif op == "close":
                    part = parts.pop(item[1], None)
                    if part is not None:
                        _close(part)
                        finished.append(part)
                elif op == "finish":
                    _, chapters, duration, done = item
                    for part in parts.values():
                        _close(part)
                        finished.append(part)
                    try:
                        done(self._finish(finished, chapters, duration))
                    except Exception as exc:
                        logger.exception("recording %s: finishing failed", self.recording_id)
                        done(RecordingError(f"recording {self.recording_id}: {exc}"))
                    return
            except Exception:
                logger.exception("recording %s: %s failed", self.recording_id, op)
                if op == "packet":
                    part = parts.get(item[1])
                    if part is not None:
                        part.broken = True

    def _open_part(
        self,
        key: str,
        office_id: int,
        office_name: str,
        video: str | None,
        keyframe: bytes | None,
        audio: str | None,
    ) -> _PartFile:
        path = self.directory / f"raw-{key}.mkv"
        container = av.open(str(path), "w", format="matroska")
        streams: dict[str, Any] = {}
        codecs: dict[str, str] = {}
        if video == "vp8":
            width, height = vp8_size(keyframe or b"") or (640, 480)
            streams["video"] = container.add_mux_stream("vp8", width=width, height=height)
        elif video == "h264":
            streams["video"] = _h264_stream(container, keyframe)
        if "video" in streams:
            codecs["video"] = str(video)
        if audio is not None:
            # An encoder context only for its OpusHead (CodecPrivate): it never encodes.
            streams["audio"] = container.add_stream("libopus", rate=AUDIO_RATE, layout="stereo")
            codecs["audio"] = "opus"
        for kind, stream in streams.items():
            stream.metadata["title"] = f"{office_name} ({kind})"
        container.metadata["title"] = office_name
        return _PartFile(key, office_id, office_name, path, container, streams, codecs=codecs)

    def _write(self, part: _PartFile, kind: str, pts: int, data: bytes, keyframe: bool) -> None:
        stream = part.streams.get(kind)
        if stream is None:
            return
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts
        packet.time_base = _TIME_BASE[kind]
        packet.is_keyframe = keyframe
        part.container.mux(packet)
        at = float(pts * _TIME_BASE[kind])
        part.first.setdefault(kind, at)
        part.last[kind] = at + (1 / 30 if kind == "video" else 0.02)
        part.packets += 1
        self.written += 1

    def _finish(
        self, parts: list[_PartFile], chapters: list[Chapter], duration: float
    ) -> dict[str, Any]:
        parts = sorted((p for p in parts if p.packets), key=lambda p: (p.office_id, p.key))
        # The wall clock's length, or the media's if it runs longer (frames queued at the stop).
        duration = max([duration, *(max(p.last.values()) for p in parts)])
        combined = self.directory / COMBINED_FILE
        chapter_list = [c for c in sorted(chapters, key=lambda c: c.start) if c.start < duration]
        if parts:
            _remux(
                [(p.path, 0.0) for p in parts],
                combined,
                "matroska",
                chapters=chapter_list,
                duration=duration,
                title=f"hearing {self.hearing_id}, recording {self.recording_id}",
            )
        sites = []
        for part in parts:
            offset = _start_time(part.path)
            extension = "webm" if part.codecs.get("video", "vp8") == "vp8" else "mkv"
            name = f"site-{part.key}.{extension}"
            _remux(
                [(part.path, offset)],
                self.directory / name,
                "webm" if extension == "webm" else "matroska",
                title=part.office_name,
            )
            sites.append(
                {
                    "office_id": part.office_id,
                    "office_name": part.office_name,
                    "part": int(part.key.rsplit("-", 1)[1]),
                    "file": name,
                    "offset_s": round(offset, 3),
                    "duration_s": round(max(part.last.values()) - offset, 3),
                    "codecs": part.codecs,
                    "sha256": sha256_of(self.directory / name),
                    "bytes": (self.directory / name).stat().st_size,
                }
            )
        for part in parts:
            with contextlib.suppress(OSError):
                part.path.unlink()
        manifest = {
            "recording_id": self.recording_id,
            "hearing_id": self.hearing_id,
            "started_at": self.started_at,
            "duration_s": round(duration, 3),
            # None when no site sent anything while it ran.
            "file": COMBINED_FILE if parts else None,
            "sha256": sha256_of(combined) if parts else None,
            "bytes": combined.stat().st_size if parts else 0,
            "sites": sites,
            "chapters": [
                {
                    "title": c.title,
                    "petition_id": c.petition_id,
                    "start_s": round(max(c.start, 0.0), 3),
                    "end_s": round(min(c.end if c.end is not None else duration, duration), 3),
                }
                for c in chapter_list
            ],
            "packets_written": self.written,
            "packets_dropped": self.dropped,
        }
        (self.directory / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1)
        )
        logger.info(
            "hearing %s: recording %s finished (%s sites, %.1f s, %s packets dropped)",
            self.hearing_id,
            self.recording_id,
            len(sites),
            duration,
            self.dropped,
        )
        return manifest


def _h264_stream(container: Any, keyframe: bytes | None) -> Any:
    """An H.264 track whose CodecPrivate (avcC) comes from the first keyframe's SPS and PPS:
    the keyframe is read as an Annex-B stream and its stream used as the template."""
    if keyframe is None:
        return container.add_mux_stream("h264", width=640, height=480)
    with av.open(io.BytesIO(keyframe), format="h264") as template:
        return container.add_stream_from_template(template.streams.video[0])


def _start_time(path: Path) -> float:
    """The earliest packet time in a file, in seconds as its container keeps them
    (milliseconds in Matroska): what a playback file is shifted by to start at 0."""
    with av.open(str(path)) as container:
        wanted = {stream.index for stream in container.streams}
        first: dict[int, float] = {}
        for packet in container.demux():
            if packet.pts is not None and packet.stream.index not in first:
                first[packet.stream.index] = float(packet.pts * packet.time_base)
                if len(first) == len(wanted):
                    break
    return min(first.values(), default=0.0)


def _close(part: _PartFile) -> None:
    try:
        part.container.close()
    except Exception:
        logger.exception("recording: closing %s failed", part.path)
        part.broken = True


def _packets(container: Any, index: int, shift: float) -> Iterator[tuple[float, int, Any]]:
    for packet in container.demux():
        if packet.pts is None or packet.size == 0:
            continue
        yield float(packet.pts * packet.time_base) - shift, index, packet


def _remux(
    inputs: list[tuple[Path, float]],
    output: Path,
    format_name: str,
    *,
    chapters: list[Chapter] | None = None,
    duration: float | None = None,
    title: str = "",
) -> None:
    """Copy every stream of `inputs` (each shifted back by its seconds) into one file, in time
    order across the inputs (the muxer interleaves only what it is given in order)."""
    sources = [av.open(str(path)) for path, _ in inputs]
    try:
        out = av.open(str(output), "w", format=format_name)
        try:
            mapping: dict[tuple[int, int], Any] = {}
            for i, source in enumerate(sources):
                for stream in source.streams:
                    copy = out.add_stream_from_template(stream)
                    copy.metadata["title"] = stream.metadata.get("title", "")
                    mapping[(i, stream.index)] = copy
            if title:
                out.metadata["title"] = title
            if chapters:
                millis = fractions.Fraction(1, 1000)
                end_of = duration if duration is not None else max(c.start for c in chapters)
                out.set_chapters(
                    [
                        {
                            "id": n + 1,
                            "start": round(max(c.start, 0.0) * 1000),
                            "end": round(
                                min(c.end if c.end is not None else end_of, end_of) * 1000
                            ),
                            "time_base": millis,
                            "metadata": {"title": c.title},
                        }
                        for n, c in enumerate(chapters)
                    ]
                )
            streams = [_packets(s, i, inputs[i][1]) for i, s in enumerate(sources)]
            for _at, i, packet in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
                shift = round(inputs[i][1] / packet.time_base)
                target = mapping[(i, packet.stream.index)]
                packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
                packet.stream = target
                out.mux(packet)
        finally:
            out.close()
    finally:
        for source in sources:
            source.close()


def sha256_of(path: Path) -> str:
    """The file's SHA-256, hex, read 1 MB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

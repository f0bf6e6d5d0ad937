"""Site agent: a bridge point without a browser (aiortc), and the benchmark's load generator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fractions
import ipaddress
import json
import logging
import random
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import av
import socketio
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

from rooms.aiortc_internals import (
    EncodedFrame,
    on_keyframe_request,
    restrict_host_candidates,
    tap_receiver,
)

logger = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_CLOCK = 90000


@dataclass(frozen=True)
class EncodedClip:
    """A few seconds of VP8, encoded once: each frame as a delta frame and as a keyframe."""

    delta: tuple[bytes, ...]
    key: tuple[bytes, ...]

    @property
    def bitrate(self) -> float:
        """Average bits per second of the delta stream."""
        return sum(len(f) for f in self.delta) * 8 * FPS / max(1, len(self.delta))


def _pattern_frame(index: int, rnd: random.Random, noise_rows: int) -> av.VideoFrame:
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    stride = frame.planes[0].line_size
    row = bytes((x * 2 + index * 6) % 256 for x in range(stride))
    luma = bytearray(row * HEIGHT)
    # A band of noise makes the encoder spend about 1 Mbps, like a real camera would.
    top = (index * 4) % (HEIGHT - noise_rows)
    luma[top * stride : (top + noise_rows) * stride] = rnd.randbytes(stride * noise_rows)
    frame.planes[0].update(bytes(luma))
    for plane in (frame.planes[1], frame.planes[2]):
        plane.update(bytes([128]) * plane.buffer_size)
    frame.pts = index
    frame.time_base = fractions.Fraction(1, FPS)
    return frame


def _vp8_encoder(bitrate: int) -> Any:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = WIDTH, HEIGHT
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = bitrate
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.time_base = fractions.Fraction(1, FPS)
    codec.gop_size = 100000
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
        "undershoot-pct": "100",
        "overshoot-pct": "15",
    }
    return codec


def encode_clip(
    seconds: float = 3.0, bitrate: int = 1_000_000, noise_rows: int = 16
) -> EncodedClip:
    """Encode a moving test pattern once (640x480, 30 fps, VP8 at about `bitrate`)."""
    count = max(2, int(seconds * FPS))
    delta_encoder = _vp8_encoder(bitrate)
    key_encoder = _vp8_encoder(bitrate * 2)
    delta: list[bytes] = []
    key: list[bytes] = []
    rnd = random.Random(7)
    for index in range(count):
        frame = _pattern_frame(index, rnd, noise_rows)
        delta.append(b"".join(bytes(p) for p in delta_encoder.encode(frame)))
        frame.pict_type = av.video.frame.PictureType.I
        key.append(b"".join(bytes(p) for p in key_encoder.encode(frame)))
    return EncodedClip(tuple(delta), tuple(key))


class ReplayVideoTrack(MediaStreamTrack):
    """Replays an EncodedClip as av.Packets in real time; a keyframe whenever one is asked for."""

    kind = "video"

    def __init__(self, clip: EncodedClip) -> None:
        super().__init__()
        self._clip = clip
        self._index = 0
        self._want_key = True
        self._start: float | None = None
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames_sent = 0
        self.keyframes_sent = 0

    def request_keyframe(self) -> None:
        """The next frame goes out as a keyframe (hooked to the sender's PLI/FIR handling)."""
        self._want_key = True

    async def recv(self) -> av.Packet[Any]:
        """Next pre-encoded frame, paced at 30 fps."""
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now - self.frames_sent / FPS
        due = self._start + self.frames_sent / FPS
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > 2 / FPS:
            # Late (a busy machine): carry on from now instead of bursting the missed frames,
            # which would overflow socket buffers the way no camera ever does.
            self._start = now - self.frames_sent / FPS
        position = self._index % len(self._clip.delta)
        # Looping back to frame 0 would reference a picture the decoder never saw: restart on
        # the keyframe version.
        if self._want_key or position == 0:
            data = self._clip.key[position]
            self._want_key = False
            self.keyframes_sent += 1
        else:
            data = self._clip.delta[position]
        packet = av.Packet(data)
        packet.pts = self.frames_sent * (VIDEO_CLOCK // FPS)
        packet.time_base = self._time_base
        self._index += 1
        self.frames_sent += 1
        return packet


# Server events a site agent keeps in `events` (offers are handled, not recorded).
RECORDED_EVENTS = (
    "participant_joined",
    "recording",
    "participant_left",
    "participant_state",
    "mute_state",
    "active_speaker",
    "waiting",
    "admitted",
    "muted_by_host",
    "removed",
    "spotlight",
    "now_hearing",
    "hearing_status",
    "hearing_ended",
    "revoked",
    "media_moved",
    "participant_link",
    "participant_mode",
    "error",
)


@dataclass
class _Remote:
    participant_id: str | None
    kind: str
    frames: int = 0
    keyframes: int = 0
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    longest_gap: float = 0.0  # seconds between two frames in a row, the longest so far
    # RTP timestamps of the first and the last frame (unwrapped): with a publisher whose frames
    # step evenly (a site agent's clip), how many frames were sent meanwhile.
    first_timestamp: int | None = None
    last_timestamp: int = 0


@dataclass
class SiteStats:
    """What a site agent sent and received (frames counted without decoding)."""

    sent_video_frames: int = 0
    # participant_id -> video frames received from that site
    received_video: dict[str, int] = field(default_factory=dict)
    received_audio: dict[str, int] = field(default_factory=dict)
    first_remote_frame_after: float | None = None  # seconds from join to first remote frame
    # participant_id -> the longest time between two video frames from that site (a freeze)
    longest_video_gap: dict[str, float] = field(default_factory=dict)
    # participant_id -> RTP clock units between its first and last video frame received
    video_timestamp_span: dict[str, int] = field(default_factory=dict)


# The ways to reach a TURN server, by --turn-transport name: the URL scheme and transport.
TURN_TRANSPORTS = {"udp": ("turn", "udp"), "tcp": ("turn", "tcp"), "tls": ("turns", "tcp")}


def _turn_transport(url: str) -> str | None:
    """Which of TURN_TRANSPORTS a TURN URL uses (None: not a TURN URL aiortc can use)."""
    scheme, _, rest = url.partition(":")
    query = urllib.parse.parse_qs(rest.partition("?")[2])
    transport = query.get("transport", ["tcp" if scheme == "turns" else "udp"])[0]
    for name, wanted in TURN_TRANSPORTS.items():
        if (scheme, transport) == wanted:
            return name
    return None


def _check_transport(name: str | None) -> None:
    if name is not None and name not in TURN_TRANSPORTS:
        raise ValueError(
            f"unknown TURN transport {name!r}: use one of {', '.join(TURN_TRANSPORTS)}"
        )


def rtc_configuration(
    ice_servers: Sequence[Mapping[str, Any]],
    *,
    relay_only: bool = False,
    turn_transport: str | None = None,
) -> RTCConfiguration:
    """The site's RTCConfiguration from the ice_servers of a join ack (STUN, and TURN with the
    short-lived credentials the hub issued for this client).

    aiortc (unlike a browser) uses one STUN and one TURN URL: the first of each it can use. So
    the TURN URLs go first in the order `turn_transport` asks for (udp, tcp or tls), else UDP,
    then TCP, then TLS (a relay over UDP costs least; TLS on 443 is for networks that pass
    nothing else). With relay_only the site gathers only relayed candidates, as a site behind a
    firewall that lets nothing but the TURN server through must.
    """
    _check_transport(turn_transport)
    order = list(TURN_TRANSPORTS)
    if turn_transport is not None:
        order.remove(turn_transport)
        order.insert(0, turn_transport)
    stun: list[RTCIceServer] = []
    turn: list[tuple[int, RTCIceServer]] = []
    for entry in ice_servers:
        url = entry.get("urls")
        if not isinstance(url, str) or not url:
            raise ValueError(f"the join ack's ice_servers has an entry without a URL: {entry!r}")
        if url.startswith("stun:"):
            stun.append(RTCIceServer(urls=url))
            continue
        if not url.startswith(("turn:", "turns:")):
            continue  # a kind of server aiortc has no client for (stuns:)
        transport = _turn_transport(url)
        if transport is None:
            continue  # a transport aiortc has no client for
        if not entry.get("username") or not entry.get("credential"):
            raise ValueError(f"the join ack's TURN server {url} comes without a credential")
        server = RTCIceServer(
            urls=url, username=str(entry["username"]), credential=str(entry["credential"])
        )
        turn.append((order.index(transport), server))
    if relay_only and not turn:
        raise ValueError("relay only, but the hub handed out no TURN server this site can use")
    return RTCConfiguration(
        iceServers=[*stun, *(server for _rank, server in sorted(turn, key=lambda t: t[0]))],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


def _is_loopback_url(url: str) -> bool:
    host = urllib.parse.urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SiteAgent:
    """One site in a hearing: joins over Socket.IO, publishes, and counts what it receives."""

    def __init__(
        self,
        hub_url: str,
        token: str,
        hearing_id: int,
        *,
        clip: EncodedClip | None = None,
        camera: str | None = None,
        audio: bool = True,
        ice_ips: Sequence[str] | None = None,
        reconnect: bool = True,
        relay_only: bool = False,
        turn_transport: str | None = None,
        self_test: bool = False,
    ) -> None:
        self.hub_url = hub_url
        # A self-test (signaling.self_test) instead of the hearing: its media comes back.
        self.self_test = self_test
        self.token = token
        self.hearing_id = hearing_id
        self.participant_id: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._clip = clip
        self._camera = camera
        self._audio = audio
        if ice_ips is None:
            ice_ips = ("127.0.0.1",) if _is_loopback_url(hub_url) else ()
        self._ice_ips = tuple(ice_ips)
        _check_transport(turn_transport)
        self._relay_only = relay_only
        self._turn_transport = turn_transport
        # The peer connection's configuration, from the last join ack's ice_servers.
        self.rtc_configuration: RTCConfiguration | None = None
        # A site whose network drops comes back by itself, as a kiosk does: Socket.IO reconnects
        # (every 0.5-1 s, each attempt given 3 s) and the agent joins again, its admission kept.
        self._reconnect = reconnect
        self._sio = socketio.AsyncClient(
            reconnection=reconnect,
            reconnection_delay=0.5,
            reconnection_delay_max=1.0,
            request_timeout=3,
        )
        self._connected_once = False
        # Times the socket dropped and came back (the network, a hub restart).
        self.reconnects = 0
        self._pc: RTCPeerConnection | None = None
        self._video: ReplayVideoTrack | None = None
        self._player: MediaPlayer | None = None
        self._remotes: dict[int, _Remote] = {}
        self._mids: dict[str, str] = {}
        self._offers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._offer_task: asyncio.Task[None] | None = None
        self._joined_at = 0.0
        self._first_remote: float | None = None
        self.state: str | None = None  # waiting | admitted, as the hub last said
        self.moderator = False
        self.closed = asyncio.Event()
        for event in RECORDED_EVENTS:
            self._sio.on(event, self._recorder(event))
        self._sio.on("offer", self._on_offer)
        self._sio.on("connect", self._on_connect)
        self._sio.on("connect_error", self._on_connect_error)
        self._sio.on("disconnect", self._on_disconnect)
        self._sio.on("media_moved", self._on_media_moved)
        self._sio.on("media_reset", self._on_media_reset)
        self._rejoin_task: asyncio.Task[None] | None = None
        # Times the hub moved this site's hearing to another media worker and it joined again.
        self.rejoins = 0

    def _recorder(self, event: str) -> Any:
        async def handler(data: dict[str, Any]) -> None:
            self.events.append((event, data))
            if event == "participant_joined":
                participant = data.get("participant", {})
                self.participants[str(participant.get("participant_id"))] = participant
            elif event == "participant_left":
                self.participants.pop(str(data.get("participant_id")), None)
            elif event in ("waiting", "admitted"):
                self.state = event
            elif event == "participant_state" and data.get("participant_id") in self.participants:
                self.participants[str(data["participant_id"])].update(data)
            elif event == "participant_mode" and data.get("participant_id") in self.participants:
                described = self.participants[str(data["participant_id"])]
                described["low_bandwidth"] = data.get("low_bandwidth")
            elif event in ("hearing_ended", "removed", "revoked"):
                self.closed.set()  # the hub is done with this site (run_site returns)

        return handler

    async def _on_connect(self) -> None:
        if self._connected_once:
            # Back after a drop: the hub took us out of the hearing, so join it again.
            self.reconnects += 1
            self.events.append(("reconnected", {}))
            self._schedule_rejoin()
        self._connected_once = True

    async def _on_disconnect(self, reason: Any = None) -> None:
        # A hub that is done with this site says so first (hearing_ended, removed, revoked:
        # see _recorder); any other loss of the socket (the network, a hub restarting) is
        # one Socket.IO is already reconnecting from, unless we hung up ourselves.
        if reason == socketio.AsyncClient.reason.CLIENT_DISCONNECT or not self._reconnect:
            self.closed.set()
            return
        self.events.append(("disconnected", {"reason": str(reason)}))

    async def _on_connect_error(self, data: Any = None) -> None:
        # While reconnecting, Socket.IO reports a hub still away as a string and a hub that
        # answered and refused this token (expired, signed out) as its payload: give up then.
        if self._connected_once and isinstance(data, dict):
            self.events.append(("connect_error", data))
            self.closed.set()

    async def start(self) -> None:
        """Connect, join the hearing and publish; returns once the hub answered."""
        await self._sio.connect(
            self.hub_url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10
        )
        await self._join_and_publish()

    async def _on_media_moved(self, data: dict[str, Any]) -> None:
        """The hearing's media worker died: join again with a new peer connection, on the
        worker the hub places the room on (the admission is kept)."""
        self.events.append(("media_moved", data))
        self._schedule_rejoin()

    async def _on_media_reset(self, data: dict[str, Any]) -> None:
        self.events.append(("media_reset", data))
        if self._reconnect:
            self._schedule_rejoin()
        else:
            self.closed.set()  # a site that does not heal is done

    def _schedule_rejoin(self) -> None:
        if self._rejoin_task is None or self._rejoin_task.done():
            self._rejoin_task = asyncio.get_running_loop().create_task(self._rejoin())

    async def _rejoin(self) -> None:
        for attempt in range(10):
            try:
                await self._reset_media()
                await self._join_and_publish()
            except Exception:
                logger.warning("site agent: rejoin attempt %s failed", attempt + 1, exc_info=True)
                await asyncio.sleep(0.5)
                continue
            self.rejoins += 1
            logger.info("site agent: rejoined hearing %s", self.hearing_id)
            return

    async def _reset_media(self) -> None:
        if self._offer_task is not None:
            self._offer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._offer_task
            self._offer_task = None
        if self._pc is not None:
            await self._pc.close()
            self._pc = None
        self._offers = asyncio.Queue()
        self._remotes.clear()
        self._mids.clear()
        self.participants.clear()
        self._first_remote = None
        if self._video is not None:
            # A new track for the new connection, counting on from the old one's frames.
            sent = self._video.frames_sent
            self._video = ReplayVideoTrack(self._clip or encode_clip())
            self._video.frames_sent = sent

    async def _join_and_publish(self) -> None:
        self._joined_at = time.monotonic()
        if self.self_test:
            joined = {"participants": [], **await self._call("self_test", {})}
        else:
            joined = await self._call("join", {"hearing_id": self.hearing_id})
        self.participant_id = joined["participant_id"]
        self.state = joined.get("state", "admitted")
        self.moderator = bool(joined.get("moderator"))
        for participant in joined["participants"]:
            self.participants[participant["participant_id"]] = participant
        # Every join carries fresh TURN credentials: a rejoin uses the new ones.
        self.rtc_configuration = rtc_configuration(
            joined.get("ice_servers", []),
            relay_only=self._relay_only,
            turn_transport=self._turn_transport,
        )
        pc = RTCPeerConnection(self.rtc_configuration)
        self._pc = pc
        pc.on("track", self._on_track)
        if self._audio:
            pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        video_track: MediaStreamTrack
        if self._player is not None and self._player.video is not None:
            video_track = self._player.video
        elif self._camera:
            self._player = MediaPlayer(
                self._camera,
                format="v4l2",
                options={"video_size": f"{WIDTH}x{HEIGHT}", "framerate": str(FPS)},
            )
            assert self._player.video is not None
            video_track = self._player.video
        else:
            self._video = ReplayVideoTrack(self._clip or encode_clip())
            video_track = self._video
        video = pc.addTransceiver(video_track, direction="sendrecv")
        _prefer_vp8(video)
        if self._video is not None:
            on_keyframe_request(video.sender, self._video.request_keyframe)
        restrict_host_candidates(pc, self._ice_ips)
        await pc.setLocalDescription(await pc.createOffer())
        answer = await self._call("offer", {"sdp": pc.localDescription.sdp, "type": "offer"})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        self._offer_task = asyncio.get_running_loop().create_task(self._answer_offers())

    async def _call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        reply = await self._sio.call(event, data, timeout=15)
        if not isinstance(reply, dict) or not reply.get("ok"):
            raise RuntimeError(f"{event} refused: {reply!r}")
        return reply

    async def call(self, event: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send any event and return its ack as it is (`{"ok": false, ...}` included)."""
        reply = await self._sio.call(event, data if data is not None else {}, timeout=15)
        return dict(reply) if isinstance(reply, dict) else {"ok": False, "reply": reply}

    def received_of(self, event: str) -> list[dict[str, Any]]:
        """Payloads of one kind of server event, oldest first."""
        return [data for name, data in self.events if name == event]

    async def _on_offer(self, data: dict[str, Any]) -> None:
        await self._offers.put(data)

    async def _answer_offers(self) -> None:
        # Offers are applied strictly in order, one at a time.
        while True:
            data = await self._offers.get()
            pc = self._pc
            if pc is None or pc.signalingState == "closed":
                return
            for track in data.get("tracks", []):
                self._mids[str(track["mid"])] = str(track["participant_id"])
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type="offer"))
                restrict_host_candidates(pc, self._ice_ips)
                await pc.setLocalDescription(await pc.createAnswer())
                for transceiver in pc.getTransceivers():
                    self._label(transceiver)
                reply = await self.call(
                    "answer",
                    {
                        "sdp": pc.localDescription.sdp,
                        "type": "answer",
                        "revision": data["revision"],
                    },
                )
            except Exception:
                logger.exception("site agent: could not answer hub offer %s", data.get("revision"))
                continue
            if not reply.get("ok"):
                # not_joined: the hearing ended or this site was sent away meanwhile.
                level = logging.INFO if _code(reply) == "not_joined" else logging.ERROR
                logger.log(level, "site agent: answer %s refused: %s", data["revision"], reply)

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self._pc is not None
        for transceiver in self._pc.getTransceivers():
            if (
                transceiver.receiver.track is track
                and id(transceiver.receiver) not in self._remotes
            ):
                remote = _Remote(None, track.kind)
                self._remotes[id(transceiver.receiver)] = remote
                tap_receiver(transceiver.receiver, track.kind, self._counter(remote))

    def _counter(self, remote: _Remote) -> Callable[[EncodedFrame], None]:
        def sink(frame: EncodedFrame) -> None:
            self._count(remote, frame)

        return sink

    def _label(self, transceiver: RTCRtpTransceiver) -> None:
        remote = self._remotes.get(id(transceiver.receiver))
        if remote is not None and transceiver.mid is not None:
            remote.participant_id = self._mids.get(transceiver.mid, remote.participant_id)

    def _count(self, remote: _Remote, frame: EncodedFrame) -> None:
        if remote.participant_id is None:
            return  # our own m-lines echo nothing; unlabelled tracks are not counted
        remote.frames += 1
        now = time.monotonic()
        if remote.last_frame_at is not None:
            remote.longest_gap = max(remote.longest_gap, now - remote.last_frame_at)
        remote.last_frame_at = now
        if remote.first_timestamp is None:
            remote.first_timestamp = remote.last_timestamp = frame.timestamp
        else:
            step = (frame.timestamp - remote.last_timestamp) & 0xFFFFFFFF
            if step < 1 << 31:  # later than the last one (reordered ones are not counted)
                remote.last_timestamp += step
        if frame.keyframe:
            remote.keyframes += 1
        if remote.first_frame_at is None:
            remote.first_frame_at = now
            if remote.kind == "video" and self._first_remote is None:
                self._first_remote = remote.first_frame_at

    def local_candidate_types(self) -> list[str]:
        """The types (host, srflx, relay) of the candidates in this site's last offer."""
        pc = self._pc
        if pc is None or pc.localDescription is None:
            return []
        return [
            line.split(" typ ")[1].split()[0]
            for line in pc.localDescription.sdp.splitlines()
            if line.startswith("a=candidate:") and " typ " in line
        ]

    def stats(self) -> SiteStats:
        """Counters so far."""
        result = SiteStats(sent_video_frames=self._video.frames_sent if self._video else 0)
        for remote in self._remotes.values():
            if remote.participant_id is None:
                continue
            target = result.received_video if remote.kind == "video" else result.received_audio
            target[remote.participant_id] = target.get(remote.participant_id, 0) + remote.frames
            if remote.kind == "video" and remote.first_timestamp is not None:
                pid = remote.participant_id
                result.longest_video_gap[pid] = max(
                    result.longest_video_gap.get(pid, 0.0), round(remote.longest_gap, 3)
                )
                span = remote.last_timestamp - remote.first_timestamp
                result.video_timestamp_span[pid] = max(
                    result.video_timestamp_span.get(pid, 0), span
                )
        if self._first_remote is not None:
            result.first_remote_frame_after = self._first_remote - self._joined_at
        return result

    async def mute(self, audio: bool, video: bool) -> None:
        """Tell the room about this site's mute state."""
        await self._call("mute", {"audio_muted": audio, "video_muted": video})

    async def leave(self) -> None:
        """Leave the hearing (the hub logs participant_left)."""
        if self._sio.connected:
            with contextlib.suppress(Exception):
                await self._call("leave", {})

    async def lose_media(self) -> None:
        """Close the peer connection but keep the socket, as a site whose media path fails
        while its signaling holds (the hub sees the DTLS session close)."""
        if self._pc is not None:
            await self._pc.close()

    async def drop(self) -> None:
        """Vanish without leaving, as a site does when its network goes (the hub sees a drop)."""
        if self._sio.connected:
            await self._sio.disconnect()
        await self.close()

    async def close(self) -> None:
        """Leave and release everything."""
        if self._rejoin_task is not None:
            self._rejoin_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rejoin_task
        await self.leave()
        if self._offer_task is not None:
            self._offer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._offer_task
        if self._sio.connected:
            await self._sio.disconnect()
        if self._pc is not None:
            await self._pc.close()
        if self._player is not None:
            for track in (self._player.audio, self._player.video):
                if track is not None:
                    track.stop()


def _code(reply: dict[str, Any]) -> str | None:
    error = reply.get("error")
    return str(error.get("code")) if isinstance(error, dict) else None


def _prefer_vp8(transceiver: RTCRtpTransceiver) -> None:
    from aiortc import RTCRtpSender

    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences(
        [c for c in codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]
    )


async def run_site(
    hub_url: str,
    token: str,
    hearing_id: int,
    *,
    camera: str | None = None,
    test_pattern: bool = True,
    audio: bool = True,
    seconds: float | None = None,
    ice_ips: Sequence[str] | None = None,
    relay_only: bool = False,
    turn_transport: str | None = None,
) -> SiteStats:
    """Join a hearing as a site and stay until `seconds` pass, the hub hangs up, or cancelled."""
    clip = None if camera else encode_clip()
    if not camera and not test_pattern:
        raise ValueError("give a camera or use the test pattern")
    agent = SiteAgent(
        hub_url,
        token,
        hearing_id,
        clip=clip,
        camera=camera,
        audio=audio,
        ice_ips=ice_ips,
        relay_only=relay_only,
        turn_transport=turn_transport,
    )
    await agent.start()
    logger.info("site joined hearing %s as %s", hearing_id, agent.participant_id)
    try:
        if seconds is None:
            await agent.closed.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(agent.closed.wait(), seconds)
        return agent.stats()
    finally:
        await agent.close()


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `tcd-hub site` (and the command it runs: args.func)."""
    parser.set_defaults(func=cmd_site)
    parser.add_argument("--hub", required=True, help="hub URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="join token or sign-in token")
    parser.add_argument("--hearing", required=True, type=int, help="hearing id")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--camera", help="V4L2 device, e.g. /dev/video0")
    source.add_argument(
        "--test-pattern", action="store_true", help="send a moving test pattern (default)"
    )
    parser.add_argument("--no-audio", action="store_true", help="publish video only")
    parser.add_argument("--seconds", type=float, help="leave after this many seconds")
    parser.add_argument(
        "--stats-json",
        action="store_true",
        help="at the end, also print what was received as one JSON line after 'stats '",
    )
    parser.add_argument(
        "--ice-ip",
        action="append",
        default=None,
        help="gather ICE candidates only on this address (repeatable; default: every address, "
        "or 127.0.0.1 for a hub on loopback)",
    )
    parser.add_argument(
        "--relay-only",
        action="store_true",
        help="reach the hub only through the TURN server the hub hands out",
    )
    parser.add_argument(
        "--turn-transport",
        choices=sorted(TURN_TRANSPORTS),
        help="the TURN transport to use (aiortc uses one; default: udp, else tcp, else tls)",
    )


def cmd_site(args: argparse.Namespace) -> int:
    """`tcd-hub site`: join a hearing until it ends, the hub hangs up or --seconds pass."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return asyncio.run(site_main(args))


async def site_main(args: argparse.Namespace) -> int:
    """Entry point of `tcd-hub site`; prints what was received when it ends."""
    stats = await run_site(
        args.hub,
        args.token,
        args.hearing,
        camera=args.camera,
        test_pattern=args.camera is None,
        audio=not args.no_audio,
        seconds=args.seconds,
        ice_ips=args.ice_ip,
        relay_only=args.relay_only,
        turn_transport=args.turn_transport,
    )
    print(
        f"sent {stats.sent_video_frames} video frames; received "
        + ", ".join(f"{pid}: {n}" for pid, n in stats.received_video.items())
    )
    if args.stats_json:
        print("stats " + json.dumps(dataclasses.asdict(stats)), flush=True)
    return 0

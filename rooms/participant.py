"""One site in a room: its peer connection, what it publishes, and hub-initiated renegotiation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs import CODECS, HEADER_EXTENSIONS
from aiortc.contrib.media import MediaBlackhole, MediaRelay
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import candidate_from_sdp

from rooms import sdp_guard
from rooms.aiortc_internals import (
    UdpPortsExhausted,
    bundle_sender_reports,
    negotiated_codecs,
    negotiated_header_extensions,
    on_keyframe_request,
    pin_offer_media,
    remote_candidate_allowed,
    restrict_host_candidates,
    set_stream_id,
)
from rooms.bandwidth import BandwidthPolicy
from rooms.forwarder import ForwardedTrack, PacketSubscription, Publication, Subscription
from rooms.quality import QualityMeter

logger = logging.getLogger(__name__)

ANSWER_TIMEOUT = 10.0
MAX_OFFER_ATTEMPTS = 3
MAX_EARLY_CANDIDATES = 64
# Subscribe a new video slot as soon as it is offered rather than once the offer is answered:
# the publisher's keyframe (a few hundred ms under load) then overlaps the offer/answer round.
PREFETCH_KEYFRAMES = True

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


class NegotiationError(Exception):
    """An offer, answer or candidate that cannot be applied now; message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MediaOptions:
    """How a room handles media: packet forwarding (default), frame forwarding, or stock
    MediaRelay transcoding (the benchmark's baseline)."""

    mode: str = "packet"  # packet | frame | mediarelay
    ice_announced_ips: tuple[str, ...] = ()
    ice_servers: tuple[str, ...] = ()
    # Inclusive UDP port range of the hub's host candidates (None: any port the OS picks).
    ice_udp_ports: tuple[int, int] | None = None
    stall_timeout: float = 0.4
    # When a site goes into low-bandwidth mode by itself, and back (rooms.bandwidth).
    bandwidth: BandwidthPolicy = field(default_factory=BandwidthPolicy)

    def rtc_configuration(self) -> RTCConfiguration:
        """An RTCConfiguration that never falls back to aiortc's default public STUN server.

        The hub is the server sites reach: it needs no relay of its own, so TURN entries (which
        would only take allocations nobody uses) are left to the browsers; STUN is kept so a hub
        behind NAT without announced addresses can still learn its public address.
        """
        servers = [RTCIceServer(urls=url) for url in self.ice_servers if url.startswith("stun")]
        return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


@dataclass
class Slot:
    """A hub sendonly transceiver carrying one remote participant's track to this participant."""

    transceiver: RTCRtpTransceiver
    kind: str
    codec_key: str
    track: Any  # ForwardedTrack (packet and frame modes) or a MediaRelay proxy
    publication: Publication | None = None
    subscription: Subscription | PacketSubscription | None = None
    attached: bool = False
    # Codecs and header extensions last offered on the m-line: an emptied (inactive) slot keeps
    # them, or createOffer's defaults would clash with the client's numbering in the BUNDLE.
    media: tuple[list[RTCRtpCodecParameters], list[Any]] | None = None


@dataclass
class _PendingOffer:
    revision: int
    answered: asyncio.Event = field(default_factory=asyncio.Event)


def codec_key(codec: RTCRtpCodecParameters) -> str:
    """Identity of a codec for forwarding purposes (payload types differ per peer)."""
    key = codec.mimeType.lower()
    if key == "video/h264":
        params = codec.parameters
        key += f";pm={params.get('packetization-mode', '0')}"
        key += f";pl={str(params.get('profile-level-id', '42e01f')).lower()[:2]}"
    return key


class Participant:
    """A site in a hearing: one RTCPeerConnection on the hub, offered first by the client."""

    def __init__(
        self,
        *,
        hearing_id: int,
        office_id: int,
        office_name: str,
        display_name: str,
        role: str,
        user_id: int | None,
        emit: Emit,
        options: MediaOptions,
        relay: MediaRelay | None = None,
        participant_id: str | None = None,
    ) -> None:
        # A node chooses the id when the room lives on a worker (it routes events by it).
        self.id = participant_id or uuid.uuid4().hex[:12]
        self.hearing_id = hearing_id
        self.office_id = office_id
        self.office_name = office_name
        self.display_name = display_name
        self.role = role
        self.user_id = user_id
        self.audio_muted = False
        self.video_muted = False
        # "waiting": in the waiting room, nothing forwarded either way; "admitted": in the room.
        self.state = "admitted"
        # The host stopped forwarding this site's audio (only the host can undo it).
        self.muted_by_host = False
        # Low-bandwidth mode (rooms.bandwidth): it receives audio plus the spotlit site's video
        # only; the reason is one of rooms.bandwidth's (None while off).
        self.low_bandwidth = False
        self.low_bandwidth_reason: str | None = None
        self.quality = QualityMeter()
        self.emit = emit
        self.options = options
        self.pc: RTCPeerConnection | None = None
        self.publications: dict[str, Publication] = {}
        self.slots: list[Slot] = []
        self.revision = 0
        self.ready = False  # initial offer/answer done: the hub may now send its own offers
        self.on_failed: Callable[[Participant], None] | None = None
        self.on_publication: Callable[[Publication], None] | None = None
        self.on_first_frame: Callable[[Publication], None] | None = None
        self.on_audio_level: Callable[[Publication, int], None] | None = None
        self.sources: Callable[[Participant], list[Publication]] = lambda _p: []
        self._relay = relay
        self._drains: list[MediaBlackhole] = []
        self._drain_starts: list[asyncio.Task[None]] = []
        self._own: dict[RTCRtpTransceiver, tuple[list[RTCRtpCodecParameters], list[Any]]] = {}
        self._pending: _PendingOffer | None = None
        self._early_candidates: list[dict[str, Any]] = []
        self._wanted = asyncio.Event()
        # Slots were emptied outside _plan_slots (forget): the next renegotiation must offer.
        self._stale = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def admitted(self) -> bool:
        """In the room proper (not in the waiting room)."""
        return self.state == "admitted"

    def describe(self) -> dict[str, Any]:
        """The participant as listed to others (join ack, participant_joined)."""
        return {
            "participant_id": self.id,
            "office_id": self.office_id,
            "office_name": self.office_name,
            "display_name": self.display_name,
            "role": self.role,
            "audio_muted": self.audio_muted,
            "video_muted": self.video_muted,
            "state": self.state,
            "muted_by_host": self.muted_by_host,
            "low_bandwidth": self.low_bandwidth,
        }

    def describe_state(self) -> dict[str, Any]:
        """The participant_state event's payload."""
        return {
            "participant_id": self.id,
            "state": self.state,
            "audio_muted": self.audio_muted,
            "video_muted": self.video_muted,
            "muted_by_host": self.muted_by_host,
        }

    def set_host_mute(self, muted: bool) -> None:
        """Stop (or resume) forwarding this site's audio to everyone, at once."""
        self.muted_by_host = muted
        audio = self.publications.get("audio")
        if audio is not None:
            audio.hold(muted)

    async def accept_offer(self, sdp: str) -> str:
        """Apply the client's first offer and return the hub's answer SDP."""
        if self._closed:
            raise NegotiationError("conflict", "participant has left")
        if self.pc is not None:
            raise NegotiationError(
                "conflict", "an offer was already accepted; renegotiation is hub-initiated"
            )
        logger.debug("participant %s: client offer in", self.id)
        kinds = sdp_guard.check_client_offer(sdp)
        sdp = sdp_guard.filter_candidates(
            sdp, lambda host: remote_candidate_allowed(host, self.options.ice_announced_ips)
        )
        pc = RTCPeerConnection(self.options.rtc_configuration())
        self.pc = pc
        pc.on("connectionstatechange", self._on_connection_state)
        # Pre-create receive-only transceivers, one per offered m-line, so the answer never
        # sends on the client's own m-lines. No codec preference of the hub's: the answer keeps
        # the site's own order, so a site sends the first codec of its offer that the hub
        # forwards (VP8, or H.264 constrained baseline in packetization mode 1); every site
        # receives each other site's video in the codec it was sent in (browsers decode both).
        for kind in kinds:
            pc.addTransceiver(kind, direction="recvonly")
        restrict_host_candidates(pc, self.options.ice_announced_ips, self.options.ice_udp_ports)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is not None:
                    self._publish(transceiver)
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except BaseException as exc:
            # Nothing of a refused offer stays behind: the client may offer again.
            await self._discard_offer(pc)
            if isinstance(exc, UdpPortsExhausted):  # the hub is full, not the offer wrong
                raise NegotiationError("internal", str(exc)) from exc
            if isinstance(exc, Exception):  # aiortc's ValueError, OperationError, ...
                raise NegotiationError("invalid_sdp", f"offer rejected: {exc}") from exc
            raise
        for transceiver in pc.getTransceivers():
            self._own[transceiver] = (
                negotiated_codecs(transceiver),
                negotiated_header_extensions(transceiver),
            )
        for candidate in self._early_candidates:
            await self._add_candidate(candidate)
        self._early_candidates.clear()
        self.ready = True
        self._task = asyncio.get_running_loop().create_task(self._negotiation_loop())
        self.request_renegotiation()
        logger.debug("participant %s: answer out", self.id)
        return str(pc.localDescription.sdp)

    async def _discard_offer(self, pc: RTCPeerConnection) -> None:
        """Undo a client offer that failed half-way: its publications, drains, connection."""
        self.pc = None
        publications, self.publications = list(self.publications.values()), {}
        for publication in publications:
            await publication.close()
        drains, self._drains = self._drains, []
        starts, self._drain_starts = self._drain_starts, []
        await asyncio.gather(*starts, return_exceptions=True)
        for drain in drains:
            await drain.stop()
        self._own.clear()
        with contextlib.suppress(Exception):
            await pc.close()

    def _publish(self, transceiver: RTCRtpTransceiver) -> None:
        kind = transceiver.kind
        if kind in self.publications:
            return  # one track of each kind per site
        receiver = transceiver.receiver
        tap = self.options.mode != "mediarelay"
        publication = Publication(
            self.id,
            kind,
            receiver,
            stall_timeout=self.options.stall_timeout,
            on_first_frame=self.on_first_frame,
            on_audio_level=self.on_audio_level,
            tap=tap,
            packets=self.options.mode == "packet",
        )
        codecs = negotiated_codecs(transceiver)
        publication.codec = codecs[0] if codecs else None
        if kind == "audio" and self.muted_by_host:
            publication.hold(True)
        self.publications[kind] = publication
        if not tap and self._relay is not None:
            # Stock path: decode once, MediaRelay shares frames; keep the track drained
            # even with no subscriber (aiortc's queues are unbounded).
            drain = MediaBlackhole()
            drain.addTrack(self._relay.subscribe(receiver.track, buffered=False))
            self._drains.append(drain)
            # start() only spawns the blackhole's reader tasks, which drain.stop() cancels.
            self._drain_starts.append(asyncio.get_running_loop().create_task(drain.start()))
        if self.on_publication is not None:
            self.on_publication(publication)

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        """Apply a trickled ICE candidate (buffered until the offer is applied)."""
        if self.pc is None or not self.ready:
            if len(self._early_candidates) >= MAX_EARLY_CANDIDATES:
                raise NegotiationError("rate_limited", "too many ICE candidates before the offer")
            self._early_candidates.append(candidate)
            return
        await self._add_candidate(candidate)

    async def _add_candidate(self, candidate: dict[str, Any]) -> None:
        assert self.pc is not None
        text = candidate.get("candidate")
        if not text:
            await self.pc.addIceCandidate(None)
            return
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        try:
            parsed = candidate_from_sdp(text)
        except (ValueError, IndexError) as exc:
            raise NegotiationError("invalid_candidate", f"malformed ICE candidate: {exc}") from exc
        if not remote_candidate_allowed(parsed.ip, self.options.ice_announced_ips):
            logger.info("participant %s: ignored candidate %s", self.id, parsed.ip)
            return
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
            parsed.sdpMLineIndex = 0
        try:
            await self.pc.addIceCandidate(parsed)
        except ValueError as exc:
            raise NegotiationError("invalid_candidate", str(exc)) from exc

    async def accept_answer(self, sdp: str, revision: int) -> None:
        """Apply the client's answer to the hub's offer `revision`."""
        logger.debug("participant %s: answer rev %d in", self.id, revision)
        pending = self._pending
        if self.pc is None or pending is None:
            raise NegotiationError("conflict", "no hub offer is waiting for an answer")
        if revision != pending.revision:
            raise NegotiationError(
                "stale_answer", f"answer is for revision {revision}, expected {pending.revision}"
            )
        sdp_guard.check_answer(sdp)
        sdp = sdp_guard.filter_candidates(
            sdp, lambda host: remote_candidate_allowed(host, self.options.ice_announced_ips)
        )
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise NegotiationError("invalid_sdp", f"answer rejected: {exc}") from exc
        pending.answered.set()

    def request_renegotiation(self) -> None:
        """Ask for an offer reflecting the room's current tracks (coalesced)."""
        self._wanted.set()

    async def _negotiation_loop(self) -> None:
        try:
            while not self._closed:
                await self._wanted.wait()
                self._wanted.clear()
                await self._renegotiate()
        except asyncio.CancelledError:
            raise
        except Exception:
            if self.pc is not None and self.pc.connectionState == "closed":
                # The site closed its peer connection (aiortc closes ours on DTLS close).
                logger.info("participant %s: peer connection closed", self.id)
            else:
                logger.exception("participant %s: renegotiation failed", self.id)
            self._fail()

    async def _renegotiate(self) -> None:
        pc = self.pc
        if pc is None or self._closed:
            return
        changed = self._plan_slots(self.sources(self))
        if not changed:
            return
        for attempt in range(1, MAX_OFFER_ATTEMPTS + 1):
            offer = await pc.createOffer()
            plan = dict(self._own)
            for slot in self.slots:
                if slot.publication is not None:
                    slot.media = self._slot_media(slot)
                if slot.media is not None:
                    plan[slot.transceiver] = slot.media
            pinned = pin_offer_media(offer.sdp, plan)
            restrict_host_candidates(pc, self.options.ice_announced_ips, self.options.ice_udp_ports)
            await pc.setLocalDescription(RTCSessionDescription(sdp=pinned, type="offer"))
            self.revision += 1
            pending = _PendingOffer(self.revision)
            self._pending = pending
            await self.emit(
                "offer",
                {
                    "sdp": pc.localDescription.sdp,
                    "type": "offer",
                    "revision": self.revision,
                    "tracks": self.track_map(),
                },
            )
            logger.debug("participant %s: offer rev %d out", self.id, self.revision)
            try:
                await asyncio.wait_for(pending.answered.wait(), ANSWER_TIMEOUT)
            except TimeoutError:
                logger.warning(
                    "participant %s: no answer to revision %d (attempt %d)",
                    self.id,
                    pending.revision,
                    attempt,
                )
                continue
            finally:
                self._pending = None
            logger.debug("participant %s: answer rev %d applied", self.id, pending.revision)
            self._attach_slots()
            return
        logger.warning("participant %s: gave up renegotiating", self.id)
        self._fail()

    def track_map(self) -> list[dict[str, Any]]:
        """[{mid, participant_id, kind}] for every forwarded track in the current offer."""
        return [
            {
                "mid": s.transceiver.mid,
                "participant_id": s.publication.participant_id,
                "kind": s.kind,
            }
            for s in self.slots
            if s.publication is not None and s.transceiver.mid is not None
        ]

    def _plan_slots(self, sources: list[Publication]) -> bool:
        """Bring slots in line with `sources`; True when an offer is needed."""
        changed, self._stale = self._stale, False
        wanted = {id(p): p for p in sources}
        for slot in self.slots:
            if slot.publication is not None and id(slot.publication) not in wanted:
                self._detach(slot)
                slot.transceiver.direction = "inactive"
                changed = True
        assigned = {id(s.publication) for s in self.slots if s.publication is not None}
        for publication in sources:
            if id(publication) in assigned:
                continue
            codec = publication.codec
            if codec is None or self._template_codec(publication.kind, codec) is None:
                logger.warning(
                    "participant %s cannot receive %s from %s (codec %s)",
                    self.id,
                    publication.kind,
                    publication.participant_id,
                    codec.mimeType if codec else None,
                )
                continue
            slot = self._free_slot(publication.kind, codec_key(codec)) or self._new_slot(
                publication, codec
            )
            slot.publication = publication
            slot.attached = False
            slot.transceiver.direction = "sendonly"
            set_stream_id(slot.transceiver.sender, publication.participant_id)
            if (
                PREFETCH_KEYFRAMES
                and slot.kind == "video"
                and isinstance(slot.track, ForwardedTrack)
                and not slot.track.started
            ):
                # Its sender cannot send before our answer is applied and DTLS is up: subscribe
                # now, so the keyframe is asked for during the offer/answer round and waits
                # in the track's queue instead of being asked for only once it is over.
                self._attach(slot)
            changed = True
        return changed

    def _free_slot(self, kind: str, key: str) -> Slot | None:
        if self.options.mode == "mediarelay":
            return None  # a MediaRelay proxy cannot be swapped under a running sender
        for slot in self.slots:
            if slot.publication is None and slot.kind == kind and slot.codec_key == key:
                return slot
        return None

    def _new_slot(self, publication: Publication, codec: RTCRtpCodecParameters) -> Slot:
        assert self.pc is not None
        track: Any
        if self.options.mode != "mediarelay":
            track = ForwardedTrack(publication.kind, codec.clockRate)
        else:
            assert self._relay is not None
            track = self._relay.subscribe(publication.receiver.track, buffered=False)
        transceiver = self.pc.addTransceiver(track, direction="sendonly")
        slot = Slot(transceiver, publication.kind, codec_key(codec), track)
        on_keyframe_request(transceiver.sender, lambda: self._slot_keyframe_request(slot))
        # One compound sender report per subscriber transport, not one per stream.
        bundle_sender_reports(transceiver.sender)
        self.slots.append(slot)
        return slot

    def _slot_keyframe_request(self, slot: Slot) -> None:
        if slot.publication is not None:
            slot.publication.request_keyframe(f"PLI/FIR from participant {self.id}")

    def _slot_media(self, slot: Slot) -> tuple[list[RTCRtpCodecParameters], list[Any]]:
        """Codecs and header extensions of a slot's m-line, in this client's numbering."""
        assert slot.publication is not None
        codec = slot.publication.codec
        assert codec is not None
        template = self._template(slot.kind)
        chosen = self._template_codec(slot.kind, codec)
        assert chosen is not None
        codecs = [chosen]
        for c in template[0]:
            is_rtx = c.mimeType.lower().endswith("/rtx")
            if is_rtx and c.parameters.get("apt") == chosen.payloadType:
                codecs.append(c)
                break
        return codecs, template[1]

    def _template(self, kind: str) -> tuple[list[RTCRtpCodecParameters], list[Any]]:
        for transceiver, media in self._own.items():
            if transceiver.kind == kind:
                return media
        return list(CODECS[kind]), list(HEADER_EXTENSIONS[kind])

    def _template_codec(
        self, kind: str, codec: RTCRtpCodecParameters
    ) -> RTCRtpCodecParameters | None:
        key = codec_key(codec)
        for candidate in self._template(kind)[0]:
            if codec_key(candidate) == key:
                return candidate
        return None

    def _attach_slots(self) -> None:
        for slot in self.slots:
            if slot.publication is None or slot.attached:
                continue
            self._attach(slot)

    def _attach(self, slot: Slot) -> None:
        assert slot.publication is not None
        slot.attached = True
        if isinstance(slot.track, ForwardedTrack):
            logger.debug(
                "participant %s: track %s subscribes to %s's %s",
                self.id,
                id(slot.track),
                slot.publication.participant_id,
                slot.kind,
            )
            if self.options.mode == "packet":
                payload_type = self._slot_media(slot)[0][0].payloadType
                assert payload_type is not None
                slot.subscription = slot.publication.subscribe_packets(
                    slot.track, slot.transceiver.sender, payload_type
                )
            else:
                slot.subscription = slot.publication.subscribe(slot.track)

    def _detach(self, slot: Slot) -> None:
        if slot.publication is not None and slot.subscription is not None:
            slot.publication.unsubscribe(slot.subscription)
        slot.publication = None
        slot.subscription = None
        slot.attached = False

    def forget(self, publication: Publication) -> None:
        """A remote publication ended: stop feeding its slot now (renegotiation follows)."""
        for slot in self.slots:
            if slot.publication is publication:
                self._detach(slot)
                slot.transceiver.direction = "inactive"
                self._stale = True

    def forget_all(self) -> None:
        """Stop feeding every slot now (sent to the waiting room; renegotiation follows)."""
        for slot in self.slots:
            if slot.publication is not None:
                self.forget(slot.publication)

    def _on_connection_state(self) -> None:
        if self.pc is not None:
            logger.debug("participant %s: pc %s", self.id, self.pc.connectionState)
        # "closed" without close(): the site closed its side (DTLS close_notify) and aiortc
        # closed ours; either way the site is gone.
        if self.pc is not None and self.pc.connectionState in ("failed", "closed"):
            logger.info("participant %s: connection %s", self.id, self.pc.connectionState)
            self._fail()

    def _fail(self) -> None:
        if not self._closed and self.on_failed is not None:
            self.on_failed(self)

    async def close(self) -> None:
        """Stop negotiation, forwarding and the peer connection."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for slot in self.slots:
            self._detach(slot)
        for publication in self.publications.values():
            await publication.close()
        await asyncio.gather(*self._drain_starts, return_exceptions=True)
        for drain in self._drains:
            await drain.stop()
        if self.pc is not None:
            await self.pc.close()

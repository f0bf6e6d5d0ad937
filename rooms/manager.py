"""RoomManager: one Room per live hearing in this process, their figures, and their shutdown."""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from hub.services.live import LiveGateway
from rooms.forwarder import ForwardedTrack
from rooms.participant import MediaOptions
from rooms.room import Broadcast, QualityHook, Room, StateHook, ignore_quality, ignore_state
from rooms.self_test import is_self_test_room

logger = logging.getLogger(__name__)

# Hearings whose admitted offices are remembered (a hearing ended through the REST API never
# tells this process; the oldest are forgotten first).
MAX_REMEMBERED_HEARINGS = 1000


@dataclass(frozen=True)
class ForwardingStats:
    """One publisher's track forwarded to one subscriber (packet or frame mode)."""

    publisher_id: str
    subscriber_id: str
    kind: str
    frames_forwarded: int  # handed to the subscriber's track
    frames_sent: int  # taken by the subscriber's sender
    frames_dropped: int  # dropped because the sender fell behind
    queue_depth: int  # waiting for the sender now
    waiting_keyframe: bool
    # Packet mode: packets sent, retransmitted for the subscriber's NACKs, and dropped
    # (socket full or not connected); 0 in frame mode.
    packets_sent: int = 0
    packets_retransmitted: int = 0
    packets_dropped: int = 0
    # Packet mode: sent by the publication's compiled fan-out (rooms/fanout.c) rather than the
    # pure-Python path.
    fanned_out: bool = False


@dataclass(frozen=True)
class PublicationStats:
    """One track a participant publishes."""

    participant_id: str
    kind: str
    frames_received: int
    keyframe_requests: int  # PLIs sent upstream to the publisher
    held: bool  # not forwarded (host-muted, or in the waiting room)
    subscribers: int
    packets_received: int = 0  # packet mode
    nacks_unanswered: int = 0  # subscribers' NACKs for packets no longer (or never) held
    # Of packets_received: taken off the socket and fanned out in C (rooms/intake.c).
    packets_compiled: int = 0


@dataclass(frozen=True)
class RoomStats:
    """One open room."""

    hearing_id: int
    participants: int
    admitted: int
    waiting: int
    publications: tuple[PublicationStats, ...]
    forwarding: tuple[ForwardingStats, ...]


@dataclass(frozen=True)
class ManagerStats:
    """Every open room of this process, and totals over them."""

    rooms: tuple[RoomStats, ...]

    @property
    def participants(self) -> int:
        """Participants in every room."""
        return sum(r.participants for r in self.rooms)

    @property
    def forwarded_tracks(self) -> int:
        """Publisher-to-subscriber tracks being forwarded."""
        return sum(len(r.forwarding) for r in self.rooms)

    @property
    def frames_received(self) -> int:
        """Frames received from publishers."""
        return sum(p.frames_received for r in self.rooms for p in r.publications)

    @property
    def frames_forwarded(self) -> int:
        """Frames handed to subscribers' tracks."""
        return sum(f.frames_forwarded for r in self.rooms for f in r.forwarding)

    @property
    def packets_retransmitted(self) -> int:
        """Packets sent again for subscribers' NACKs (packet mode)."""
        return sum(f.packets_retransmitted for r in self.rooms for f in r.forwarding)

    @property
    def packets_dropped(self) -> int:
        """Packets that could not be sent to a subscriber (packet mode)."""
        return sum(f.packets_dropped for r in self.rooms for f in r.forwarding)

    @property
    def nacks_unanswered(self) -> int:
        """Subscribers' NACKs the history could not answer (packet mode)."""
        return sum(p.nacks_unanswered for r in self.rooms for p in r.publications)

    @property
    def packets_received(self) -> int:
        """RTP packets received from publishers (packet mode)."""
        return sum(p.packets_received for r in self.rooms for p in r.publications)

    @property
    def packets_compiled(self) -> int:
        """Of those, taken and fanned out in C without Python (rooms/intake.c)."""
        return sum(p.packets_compiled for r in self.rooms for p in r.publications)

    @property
    def max_queue_depth(self) -> int:
        """The deepest subscriber queue right now."""
        return max((f.queue_depth for r in self.rooms for f in r.forwarding), default=0)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the totals, then every room in full."""
        return {
            "rooms": len(self.rooms),
            "participants": self.participants,
            "forwarded_tracks": self.forwarded_tracks,
            "frames_received": self.frames_received,
            "frames_forwarded": self.frames_forwarded,
            "packets_retransmitted": self.packets_retransmitted,
            "packets_dropped": self.packets_dropped,
            "nacks_unanswered": self.nacks_unanswered,
            "packets_received": self.packets_received,
            "packets_compiled": self.packets_compiled,
            "max_queue_depth": self.max_queue_depth,
            "by_room": [_plain(dataclasses.asdict(r)) for r in self.rooms],
        }


def _plain(value: Any) -> Any:
    """Tuples as lists, all the way down (what JSON would make of them anyway)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def room_stats(room: Room) -> RoomStats:
    """The figures of one room, read from its participants' public state."""
    participants = list(room.participants.values())
    publications = tuple(
        PublicationStats(
            participant_id=p.id,
            kind=kind,
            frames_received=publication.frames,
            keyframe_requests=publication.keyframe_requests_sent,
            held=publication.held,
            subscribers=len(publication.subscriptions) + len(publication.packet_subscriptions),
            packets_received=publication.packets,
            nacks_unanswered=publication.nacks_unanswered,
            packets_compiled=publication.packets_compiled,
        )
        for p in participants
        for kind, publication in p.publications.items()
    )
    forwarding = tuple(
        ForwardingStats(
            publisher_id=slot.publication.participant_id,
            subscriber_id=p.id,
            kind=slot.kind,
            frames_forwarded=slot.subscription.frames,
            frames_sent=slot.track.path.frames if slot.track.path else slot.track.frames_sent,
            frames_dropped=(
                slot.track.path.dropped if slot.track.path else slot.track.frames_dropped
            ),
            queue_depth=slot.track.queued,
            waiting_keyframe=slot.subscription.waiting_keyframe,
            packets_sent=slot.track.path.packets if slot.track.path else 0,
            packets_retransmitted=slot.track.path.retransmitted if slot.track.path else 0,
            packets_dropped=slot.track.path.dropped if slot.track.path else 0,
            fanned_out=bool(getattr(slot.subscription, "fanned_out", False)),
        )
        for p in participants
        for slot in p.slots
        if slot.publication is not None
        and slot.subscription is not None
        and isinstance(slot.track, ForwardedTrack)
    )
    admitted = sum(1 for p in participants if p.admitted)
    return RoomStats(
        hearing_id=room.hearing_id,
        participants=len(participants),
        admitted=admitted,
        waiting=len(participants) - admitted,
        publications=publications,
        forwarding=forwarding,
    )


class RoomManager:
    """Owns every room of the process; close() stops them all."""

    def __init__(
        self,
        gateway: LiveGateway,
        options: MediaOptions,
        *,
        on_state: StateHook = ignore_state,
        on_quality: QualityHook = ignore_quality,
    ) -> None:
        self.gateway = gateway
        self.options = options
        self.on_state = on_state
        self.on_quality = on_quality
        self._rooms: dict[int, Room] = {}
        # hearing id -> offices admitted while it was live (kept when its room empties).
        self._admitted: OrderedDict[int, set[int]] = OrderedDict()

    def get(self, hearing_id: int) -> Room | None:
        """The open room of a hearing, if any."""
        room = self._rooms.get(hearing_id)
        return room if room is not None and not room.closed else None

    def get_or_create(self, hearing_id: int, broadcast: Broadcast) -> Room:
        """The hearing's room, created on first use."""
        room = self.get(hearing_id)
        if room is None:
            echo = is_self_test_room(hearing_id)
            room = Room(
                hearing_id,
                self.gateway,
                self.options,
                broadcast,
                # A self-test's room remembers nothing past itself (no hearing to rejoin).
                admitted_offices=set() if echo else self._admitted_offices(hearing_id),
                on_state=self.on_state,
                on_quality=self.on_quality,
                on_empty=self._emptied,
                echo=echo,
            )
            self._rooms[hearing_id] = room
            logger.info(
                "%s %s: room opened (%s)",
                "self-test" if echo else "hearing",
                hearing_id,
                self.options.mode,
            )
        return room

    async def open_room(self, hearing_id: int, broadcast: Broadcast) -> Room:
        """MediaBackend: the hearing's room in this process, created on first use."""
        return self.get_or_create(hearing_id, broadcast)

    async def start(self) -> None:
        """MediaBackend: nothing to start in-process."""

    def _admitted_offices(self, hearing_id: int) -> set[int]:
        offices = self._admitted.get(hearing_id)
        if offices is None:
            offices = self._admitted[hearing_id] = set()
            while len(self._admitted) > MAX_REMEMBERED_HEARINGS:
                self._admitted.popitem(last=False)
        self._admitted.move_to_end(hearing_id)
        return offices

    def forget_hearing(self, hearing_id: int) -> None:
        """The hearing ended: nobody is remembered as admitted any more."""
        self._admitted.pop(hearing_id, None)

    async def _emptied(self, room: Room) -> None:
        """A room's last participant went (however it went): close it."""
        if self._rooms.get(room.hearing_id) is room and not room.participants:
            del self._rooms[room.hearing_id]
            logger.info("hearing %s: room empty, closing", room.hearing_id)
            await room.close()

    async def close_if_empty(self, hearing_id: int) -> None:
        """Close a room nobody is in any more."""
        room = self._rooms.get(hearing_id)
        if room is not None:
            await self._emptied(room)

    async def close_room(self, hearing_id: int) -> None:
        """Close a hearing's room (e.g. the hearing ended)."""
        room = self._rooms.pop(hearing_id, None)
        if room is not None:
            await room.close()

    async def close(self) -> None:
        """Close every room."""
        rooms = list(self._rooms.values())
        self._rooms.clear()
        for room in rooms:
            await room.close()

    def stats(self) -> ManagerStats:
        """Figures of every open room (benchmarks and diagnostics read these, nothing else)."""
        return ManagerStats(
            tuple(room_stats(r) for _, r in sorted(self._rooms.items()) if not r.closed)
        )

    def __len__(self) -> int:
        return len(self._rooms)

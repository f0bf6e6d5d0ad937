"""The operators' site board: which office is online, in which hearing, and how well connected.

SiteBoard builds one status per office from this process's Socket.IO connections. Presence is
where those statuses go and where the operators' snapshot comes from, with two
implementations: LocalPresence (one process: the board itself) and, with Redis,
signaling.presence_redis.RedisPresence (every node's boards merged into one for the cluster).
Either way statuses reach the Socket.IO rooms `operators:<office id>` of every office on the
site's path, so an operator watching from an office sees the sites in its subtree.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.clock import local_iso, now
from hub.config import Settings
from hub.domain.offices import path_in_scope
from hub.services.live import Principal
from rooms.quality import Quality

# A site's own figures (client_stats, every 3 s) older than this are not shown: its browser
# stopped sending (closed, frozen, cut off) and the figures no longer say anything.
CLIENT_FIGURES_TTL = 10.0

# A connection in a hearing outranks one that is only connected; admitted outranks waiting.
_RANK = {None: 0, "waiting": 1, "admitted": 2}


def operators_room(office_id: int) -> str:
    """The Socket.IO room of the operators watching from an office."""
    return f"operators:{office_id}"


def office_ids_on_path(path: str, office_id: int) -> list[int]:
    """Ids of an office and everything above it, from its materialised path ('/1/5/')."""
    ids = [int(part) for part in path.strip("/").split("/") if part.isdigit()]
    return ids or [office_id]


def rooms_on_path(path: str, office_id: int) -> list[str]:
    """The operator rooms an office's status goes to: its own and every office above."""
    return [operators_room(i) for i in office_ids_on_path(path, office_id)]


def presence_of(online: bool, in_hearing: bool, grade: str | None) -> str:
    """offline, online, in_hearing, or degraded: in a hearing on a link graded poor or bad."""
    if not online:
        return "offline"
    if not in_hearing:
        return "online"
    return "degraded" if grade in ("poor", "bad") else "in_hearing"


def rank_of(state: str | None) -> int:
    """How far in a connection is: admitted, then waiting, then only connected."""
    return _RANK.get(state, 0)


@dataclass
class _Connection:
    sid: str
    office_id: int
    # Counts toward its office being online: not an operator's board, not a watcher that is
    # in no hearing. A connection in a hearing always counts.
    counts: bool
    order: int
    # Wall-clock time of the last change `order` records: what breaks a tie between the
    # connections of one office on different nodes (order only orders this process's).
    stamp: float
    hearing_id: int | None = None
    participant_id: str | None = None
    state: str | None = None
    quality: Quality | None = None
    # The link's grade (hub.domain.link_grade) from the last measurement, and why.
    grade: str | None = None
    grade_reasons: tuple[str, ...] = ()
    # The site's own figures (signaling.client_stats) and when they came (time.monotonic()).
    client: dict[str, Any] | None = None
    client_at: float = 0.0

    @property
    def present(self) -> bool:
        return self.counts or self.hearing_id is not None


@dataclass
class _Office:
    name: str
    path: str
    status: dict[str, Any] = field(default_factory=dict)
    # Its connections by sid: a change looks at its own office's, not at every connection.
    connections: dict[str, _Connection] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteUpdate:
    """A site_status payload, the operator rooms it goes to, and what a cluster needs to merge
    it with other nodes' statuses of the same office."""

    status: dict[str, Any]
    rooms: list[str]
    # The office's materialised path (whose operators may see it).
    path: str = ""
    # The shown connection's rank_of(state) and stamp (0 when the office is offline here).
    rank: int = 0
    stamp: float = 0.0
    # New quality figures of the shown connection (re-sent even when nothing else changed).
    measured: bool = False


class SiteBoard:
    """Per-office status from this process's connections; every change returns a SiteUpdate."""

    def __init__(self) -> None:
        self._connections: dict[str, _Connection] = {}
        self._offices: dict[int, _Office] = {}
        self._order = 0

    def connect(
        self, sid: str, principal: Principal, *, watcher: bool = False
    ) -> SiteUpdate | None:
        """A connection authenticated (`watcher`: it only watches, e.g. a start page listening
        for delegations, and never makes its office look online by itself)."""
        office = self._offices.setdefault(
            principal.office_id, _Office(principal.office_name, principal.office_path)
        )
        connection = _Connection(
            sid,
            principal.office_id,
            counts=principal.role != "operator" and not watcher,
            order=self._next(),
            stamp=time.time(),
        )
        self._connections[sid] = office.connections[sid] = connection
        return self._update(principal.office_id)

    def disconnect(self, sid: str) -> SiteUpdate | None:
        """A connection went away."""
        connection = self._connections.pop(sid, None)
        if connection is None:
            return None
        self._offices[connection.office_id].connections.pop(sid, None)
        return self._update(connection.office_id)

    def watching(self, sid: str) -> SiteUpdate | None:
        """The connection is a board: it no longer makes its office look online by itself."""
        connection = self._connections.get(sid)
        if connection is None or not connection.counts:
            return None
        connection.counts = False
        return self._update(connection.office_id)

    def in_hearing(
        self,
        sid: str,
        hearing_id: int,
        participant_id: str,
        state: str,
        office_name: str | None = None,
    ) -> SiteUpdate | None:
        """The connection joined a hearing, or its state there changed."""
        connection = self._connections.get(sid)
        if connection is None:
            return None
        if connection.participant_id != participant_id:
            connection.quality = connection.client = None
        connection.hearing_id = hearing_id
        connection.participant_id = participant_id
        connection.state = state
        connection.order, connection.stamp = self._next(), time.time()
        if office_name:
            # The hearing's name for the office (as the hearing lists its sites).
            self._offices[connection.office_id].name = office_name
        return self._update(connection.office_id)

    def out_of_hearing(self, sid: str, participant_id: str) -> SiteUpdate | None:
        """The connection's participant left its hearing (left, dropped, removed, ended)."""
        connection = self._connections.get(sid)
        if connection is None or connection.participant_id != participant_id:
            return None
        connection.hearing_id = connection.participant_id = connection.state = None
        connection.quality = connection.client = None
        connection.order, connection.stamp = self._next(), time.time()
        return self._update(connection.office_id)

    def measured(
        self,
        sid: str,
        participant_id: str,
        quality: Quality,
        grade: str | None = None,
        reasons: tuple[str, ...] = (),
    ) -> SiteUpdate | None:
        """New quality figures (and the grade they make): a status for the office if this
        connection is what it shows."""
        connection = self._connections.get(sid)
        if connection is None or connection.participant_id != participant_id:
            return None
        connection.quality = quality
        if grade is not None:
            connection.grade, connection.grade_reasons = grade, reasons
        return self._update(connection.office_id, measured=connection)

    def client_measured(self, sid: str, participant_id: str, figures: dict[str, Any]) -> bool:
        """The site's own figures from its browser; kept for the office's next status (the
        hub's own measurement, every 3 s, carries them), so they add no site_status of their
        own. False when the connection is not that participant (it left meanwhile)."""
        connection = self._connections.get(sid)
        if connection is None or connection.participant_id != participant_id:
            return False
        connection.client, connection.client_at = figures, time.monotonic()
        return True

    def snapshot(self, scope_path: str) -> list[dict[str, Any]]:
        """The last status of every office seen by this process within a scope, by office id."""
        return [
            dict(office.status)
            for office_id, office in sorted(self._offices.items())
            if office.status and (not scope_path or path_in_scope(scope_path, office.path))
        ]

    def rooms_for(self, office_id: int) -> list[str]:
        """The operator rooms an office's status goes to: its own and every office above."""
        office = self._offices.get(office_id)
        return rooms_on_path(office.path if office is not None else "", office_id)

    def _next(self) -> int:
        self._order += 1
        return self._order

    def _update(self, office_id: int, measured: _Connection | None = None) -> SiteUpdate | None:
        office = self._offices[office_id]
        present = [c for c in office.connections.values() if c.present]
        shown = max(present, key=lambda c: (rank_of(c.state), c.order), default=None)
        status: dict[str, Any] = {
            "office_id": office_id,
            "office_name": office.name,
            "online": shown is not None,
            "hearing_id": shown.hearing_id if shown else None,
            "participant_id": shown.participant_id if shown else None,
            "state": shown.state if shown else None,
        }
        if measured is not None and shown is not measured:
            return None  # another connection of the office is what operators see
        previous = office.status
        if not previous and shown is None:
            return None  # never online here: nothing to tell (e.g. an operator's own office)
        same = bool(previous) and all(previous.get(k) == v for k, v in status.items())
        if same and measured is None:
            return None
        status["since"] = previous["since"] if same else local_iso(now())
        if shown is not None and shown.quality is not None:
            status.update(shown.quality.as_dict())
        in_hearing = shown is not None and shown.hearing_id is not None
        graded = shown.grade if in_hearing and shown is not None else None
        status["grade"] = graded
        if graded and shown is not None and shown.grade_reasons:
            # Only when there are some: Redis's cjson turns an empty list into {} on its way
            # through the cluster's merge script.
            status["grade_reasons"] = list(shown.grade_reasons)
        status["presence"] = presence_of(shown is not None, in_hearing, graded)
        if shown is not None and shown.client is not None:
            fresh = time.monotonic() - shown.client_at <= CLIENT_FIGURES_TTL
            status["client"] = shown.client if fresh else None
        office.status = status
        return SiteUpdate(
            dict(status),
            self.rooms_for(office_id),
            path=office.path,
            rank=rank_of(shown.state) if shown is not None else 0,
            stamp=shown.stamp if shown is not None else 0.0,
            measured=measured is not None,
        )


# -- where statuses go ------------------------------------------------------------------------

# Hands a status to this process's operator rooms (the signaling server's emit).
Deliver = Callable[[dict[str, Any], list[str]], Awaitable[None]]


class Presence(Protocol):
    """Port: publishes this process's site changes and answers the operators' snapshot."""

    async def start(self) -> None:
        """Begin (connect, listen); called once on the running loop."""

    async def publish(self, update: SiteUpdate) -> None:
        """A change of an office on this process's board; operators in scope get its status."""

    async def snapshot(self, scope_path: str) -> list[dict[str, Any]]:
        """The last status of every office within a scope ('' = all), sorted by office id."""

    async def close(self) -> None:
        """Stop; whatever was started is cancelled and awaited."""


class LocalPresence:
    """One hub process: the board is the whole picture, statuses go straight to its rooms."""

    def __init__(self, board: SiteBoard, deliver: Deliver) -> None:
        self._board = board
        self._deliver = deliver

    async def start(self) -> None:
        """Nothing to start."""

    async def publish(self, update: SiteUpdate) -> None:
        """Deliver the status to this process's operator rooms."""
        await self._deliver(update.status, update.rooms)

    async def snapshot(self, scope_path: str) -> list[dict[str, Any]]:
        """The board's own snapshot."""
        return self._board.snapshot(scope_path)

    async def close(self) -> None:
        """Nothing to stop."""


def open_presence(settings: Settings, board: SiteBoard, deliver: Deliver) -> Presence:
    """RedisPresence when settings name a Redis, LocalPresence otherwise."""
    if not settings.redis_url:
        return LocalPresence(board, deliver)
    # Imported here: a hub without Redis never loads the Redis client.
    from signaling.presence_redis import RedisPresence

    return RedisPresence(settings.redis_url, deliver, ttl=settings.presence_ttl_seconds)

"""Socket.IO signaling mounted on the hub's aiohttp app: decode, call rooms/gateway, encode.

Hearing events (offers, participants, host controls) stay in this process: a hearing's room
lives in one process. The operators' site_status goes through signaling.presence (one board
per process, or one for the cluster through Redis). Who may do what in a hearing is
hub.domain.hearing_roles's business; every connection's grounds are re-checked while it stays
open (signaling.revalidation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from hub.config import Settings
from hub.domain import hearing_roles
from hub.domain.alerts import AlertKind
from hub.domain.errors import Conflict, DomainError, Unauthorized
from hub.domain.guests import is_guest_seat
from hub.domain.link_grade import LinkSample
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action, may
from hub.services.ice_servers import client_ice_servers, client_identity
from hub.services.live import HearingAccess, LiveGateway, Principal
from rooms import MediaOptions, RoomManager
from rooms.backend import MediaBackend, MediaParticipant, MediaRoom
from rooms.bandwidth import BandwidthPolicy
from rooms.channel import LocalChannel, RedisChannel, node_address
from rooms.participant import NegotiationError
from rooms.quality import Quality
from rooms.remote import (
    LocalWorkers,
    RemoteRoom,
    WorkerBackend,
    local_socket_dir,
    remove_socket_dir,
)
from rooms.room import RecordingConflict, RoomClosed
from rooms.sdp_guard import SdpRejected
from rooms.self_test import is_self_test_room
from signaling import client_stats, host_controls, protocol, socketio_internals
from signaling.connection import Connection, rights, seat_of, token_from
from signaling.link_monitor import LinkMonitor
from signaling.presence import (
    SiteBoard,
    SiteUpdate,
    office_ids_on_path,
    open_presence,
    operators_room,
    rooms_on_path,
)
from signaling.protocol import ProtocolError
from signaling.revalidation import REVALIDATE_EVERY, Revalidator
from signaling.self_test import SelfTests

logger = logging.getLogger(__name__)


# Seconds after a hearing goes live at which its invited sites must be connected ("at the
# start", once a site has had time to join, and again a few minutes in).
ATTENDANCE_CHECKS = (30.0, 300.0)


def _room_name(hearing_id: int) -> str:
    return f"hearing:{hearing_id}"


def worker_flags(settings: Settings) -> list[str]:
    """The media settings a local worker child is started with (it reads no environment)."""
    flags = [
        "--media-mode",
        settings.media_mode,
        "--capacity",
        str(settings.media_worker_capacity),
        "--log-level",
        settings.log_level,
        "--nice",
        str(settings.media_worker_nice),
        "--low-bandwidth-after",
        str(settings.low_bandwidth_after_seconds),
        "--low-bandwidth-recover",
        str(settings.low_bandwidth_recover_seconds),
    ]
    for ip in settings.ice_announced_ips:
        flags += ["--announce-ip", ip]
    for url in settings.ice_servers:
        flags += ["--ice-server", url]
    if settings.ice_udp_ports is not None:
        # The node's children share its one range: each binds only ports free at that moment.
        low, high = settings.ice_udp_ports
        flags += ["--udp-ports", f"{low}-{high}"]
    return flags


def media_options(settings: Settings) -> MediaOptions:
    """MediaOptions from Settings."""
    return MediaOptions(
        mode=settings.media_mode,
        ice_announced_ips=tuple(settings.ice_announced_ips),
        ice_servers=tuple(settings.ice_servers),
        ice_udp_ports=settings.ice_udp_ports,
        # The same bounds as the link grade (a media worker child reads them from TCD_LINK_*).
        bandwidth=BandwidthPolicy(
            after_seconds=settings.low_bandwidth_after_seconds,
            recover_seconds=settings.low_bandwidth_recover_seconds,
            bad_loss_pct=settings.link_loss_bad_pct,
            bad_rtt_ms=settings.link_rtt_bad_ms,
            good_loss_pct=settings.link_loss_poor_pct,
            good_rtt_ms=settings.link_rtt_poor_ms,
        ),
    )


Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]


class SignalingServer:
    """The Socket.IO server, its connections, and the process's rooms."""

    def __init__(
        self,
        settings: Settings,
        gateway: LiveGateway,
        *,
        revalidate_every: float = REVALIDATE_EVERY,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
        self.sio = socketio_internals.AckAwareServer(
            async_mode="aiohttp",
            client_manager=manager,
            # Engine.IO hard cap (it closes the connection); the per-event limit below is
            # smaller and answers with an error instead, keeping the connection up.
            max_http_buffer_size=max(4 * settings.max_signaling_message_bytes, 1 << 20),
            ping_interval=settings.signaling_ping_interval,
            ping_timeout=settings.signaling_ping_timeout,
            logger=False,
            engineio_logger=False,
        )
        self.board = SiteBoard()
        # Connectivity (signaling.link_monitor): create_app sets it; every measurement of a
        # participant's link goes there (history, grade, site_degraded, /metrics' grades).
        self.link_monitor: LinkMonitor | None = None
        # hearing id -> its attendance checks (status "live" starts them; see ATTENDANCE_CHECKS).
        self._attendance: dict[int, asyncio.Task[None]] = {}
        self.attendance_checks = ATTENDANCE_CHECKS
        self.presence = open_presence(settings, self.board, self._deliver_site)
        self._sessions: dict[str, Connection] = {}
        self._sids: dict[str, str] = {}  # participant id -> sid
        self._socket_dir: str | None = None
        self.rooms: MediaBackend = self._media_backend()
        self.self_tests = SelfTests(self)
        self._shut_down = False
        self.revalidator = Revalidator(
            gateway,
            lambda: self._sessions.values(),
            revoke=self.revoke,
            reseat=self._reseat,
            every=revalidate_every,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("*", self._on_unknown)
        handlers: dict[str, Handler] = {
            "join": self._join,
            "offer": self._offer,
            "answer": self._answer,
            "ice_candidate": self._ice_candidate,
            "mute": self._mute,
            "leave": self._leave,
            **host_controls.handlers(self),
            **client_stats.handlers(self),
            **self.self_tests.handlers(),
            "watch_sites": self._watch_sites,
            "monitor_subscribe": self._watch_sites,
            "unwatch_sites": self._unwatch_sites,
            "watch_delegations": self._watch_delegations,
        }
        for event, handler in handlers.items():
            self.sio.on(event, self._wrap(event, handler))

    def _media_backend(self) -> MediaBackend:
        """Rooms in this process (media_workers 0, no remote workers), or on media workers:
        local children over a Unix socket, or any worker registered in Redis."""
        settings = self.settings
        if settings.media_workers <= 0 and not settings.media_remote:
            return RoomManager(
                self.gateway,
                media_options(settings),
                on_state=self._on_room_state,
                on_quality=self._on_room_quality,
            )
        node_id = uuid.uuid4().hex[:8]
        local: LocalWorkers | None = None
        channel: LocalChannel | RedisChannel
        if settings.media_remote:
            if not settings.redis_url:
                raise ValueError("media_remote needs redis_url: remote workers meet in Redis")
            channel = RedisChannel(node_address(node_id), settings.redis_url)
            link = ["--redis-url", settings.redis_url]
        else:
            self._socket_dir = local_socket_dir()
            path = os.path.join(self._socket_dir, "media.sock")
            channel = LocalChannel(node_id, path)
            link = ["--local-socket", path]
        if settings.media_workers > 0:
            args = [*link, *worker_flags(settings)]
            local = LocalWorkers(settings.media_workers, node_id, args)
        return WorkerBackend(
            channel,
            self.gateway,
            on_state=self._on_room_state,
            on_quality=self._on_room_quality,
            emit_to=self.emit_to,
            sid_of=self._sids.get,
            on_moved=self._on_room_moved,
            local=local,
        )

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: start the Redis listener and the revalidation pass; at the end
        make sure everything stopped (see shutdown), then stop the Redis listener."""
        # Listen from the start, not from the first connection: this process's operators
        # must see sites connected to the other processes straight away.
        socketio_internals.start_listener(self.sio)
        await self.presence.start()
        await self.rooms.start()
        self.revalidator.start()
        yield
        await self.shutdown(app)
        await self.presence.close()
        await socketio_internals.stop_listener(self.sio)

    async def shutdown(self, app: web.Application) -> None:
        """aiohttp on_shutdown, before aiohttp waits for open requests to finish: end the
        long-lived ones. Every room closes, every socket is disconnected, and Socket.IO's own
        service task stops (sio.shutdown)."""
        if self._shut_down:
            return
        self._shut_down = True
        await self.revalidator.close()
        await self.self_tests.close()
        for task in list(self._attendance.values()):
            task.cancel()
        await asyncio.gather(*self._attendance.values(), return_exceptions=True)
        self._attendance.clear()
        # Every site in a hearing drops with the hub: logged as such, so that its return after
        # the restart is logged with the outage (hub.domain.sessionlog.restoration).
        for session in list(self._sessions.values()):
            participant, room = session.participant, session.room
            if participant is None or room is None or is_self_test_room(room.hearing_id):
                continue  # (a self-test is in no hearing's log)
            with contextlib.suppress(Exception):
                await self.gateway.record(
                    room.hearing_id,
                    LogKind.PARTICIPANT_DROPPED,
                    office_id=participant.office_id,
                    user_id=participant.user_id,
                    detail={
                        "participant_id": participant.id,
                        "reason": "hub_stopped",
                        "at": time.time(),
                    },
                )
        await self.rooms.close()
        for sid in list(self._sessions):
            try:
                # Not a Socket.IO disconnect: browsers, kiosks and site agents reconnect and
                # join again by themselves once a hub answers (their admission is kept).
                await socketio_internals.close_transport(self.sio, sid)
            except Exception:
                logger.debug("disconnect of %s failed during shutdown", sid, exc_info=True)
        self._sessions.clear()
        await self.sio.shutdown()
        if self._socket_dir is not None:
            remove_socket_dir(self._socket_dir)

    async def deliver_alert(self, view: dict[str, Any]) -> None:
        """LinkMonitor.on_alert: an alert opened or closed goes to the operators watching its
        office or any office above it (across nodes, with Redis)."""
        payload = protocol.encode("alert", view)
        office_id = int(view["office_id"])
        path = view.get("office_path")
        rooms = rooms_on_path(path, office_id) if path else self.board.rooms_for(office_id)
        for room in rooms:
            await self.sio.emit("alert", payload, room=room)

    async def delegation_changed(
        self, view: dict[str, Any], home_path: str, receiving_path: str
    ) -> None:
        """DelegationNotifier: a delegation registered or changed goes to the staff and leaders
        watching from its home office, its receiving office or any office above either (across
        nodes, with Redis)."""
        payload = protocol.encode("delegation", view)
        offices = {
            *office_ids_on_path(home_path, int(view["home_office_id"])),
            *office_ids_on_path(receiving_path, int(view["receiving_office_id"])),
        }
        await self.sio.emit(
            "delegation", payload, room=[delegations_room(i) for i in sorted(offices)]
        )

    def _check_attendance_later(self, hearing_id: int) -> None:
        """At a hearing's start: its invited sites not connected after each of
        ATTENDANCE_CHECKS seconds get an alert (closed once they connect, at the next check)."""

        async def checks() -> None:
            started = time.monotonic()
            for at in self.attendance_checks:
                await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
                if self.link_monitor is None:
                    return
                statuses = await self.presence.snapshot("/")
                connected = {
                    int(s["office_id"]) for s in statuses if s.get("hearing_id") == hearing_id
                }
                await self.link_monitor.check_attendance(hearing_id, connected)

        old = self._attendance.pop(hearing_id, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(checks())
        self._attendance[hearing_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._attendance.get(hearing_id) is done:
                del self._attendance[hearing_id]

        task.add_done_callback(forget)

    async def grounds_changed(self) -> None:
        """HearingNotifier: a sign-in ended or a hearing's sites changed; re-check every
        connection now (the pass runs in its own task, after this returns)."""
        self.revalidator.poke()

    # -- connection -------------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = token_from(environ, auth)
        if token is None:
            raise socketio.exceptions.ConnectionRefusedError(
                {"message": "no token: pass auth.token or sign in (tcd_session cookie)"}
            )
        try:
            principal = await self.gateway.authenticate(token)
        except DomainError as exc:
            raise socketio.exceptions.ConnectionRefusedError({"message": exc.message}) from None
        self._sessions[sid] = Connection(sid, principal, token)
        logger.info("signaling: %s connected (office %s)", sid, principal.office_id)
        if not principal.guest:
            # A guest is no site: the operators' board and its alerts are about offices. A page
            # that only listens (auth.watcher: a start page hearing of delegations) is no bridge
            # point either: its office does not show online for it, not even for a moment.
            watcher = isinstance(auth, dict) and auth.get("watcher") is True
            await self._publish_site(self.board.connect(sid, principal, watcher=watcher))

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = self._sessions.pop(sid, None)
        if session is None:
            return
        # Gone from the board first: operators get one "offline", not "left" then "offline".
        update = self.board.disconnect(sid)
        seated = session.participant if session.room is not None else session.lost_seat
        async with session.lock:
            await self.depart(session, "dropped")
        await self._publish_site(update)
        if (
            seated is not None
            and self.link_monitor is not None
            and not is_self_test_room(seated.hearing_id)
            and not is_guest_seat(seated.office_id)
        ):
            # A site in a hearing lost its socket: the operators hear of it now (it closes
            # when the site joins that hearing again).
            await self.link_monitor.raise_alert(
                AlertKind.SITE_OFFLINE,
                seated.office_id,
                seated.hearing_id,
                {"participant_id": seated.id, "reason": str(reason or "transport close")},
            )

    async def _on_unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        session = self._sessions.get(sid)
        if session is None:
            return await self._fail(sid, event, "unauthorized", "not connected")
        # Unknown events cost an answer too: they spend from the same allowance.
        if not session.events.take():
            return await self._fail(
                sid, event, protocol.RATE_LIMITED, "too many messages; slow down"
            )
        return await self._fail(sid, event, protocol.UNKNOWN_EVENT, f"unknown event {event!r}")

    async def revoke(self, session: Connection, code: str, message: str) -> None:
        """The connection's grounds are gone (signed out, expired, its join token's issuer
        signed out, its account changed): out of its hearing, told why, disconnected."""
        if session.revoked or self._sessions.get(session.sid) is not session:
            return
        session.revoked = True
        logger.info(
            "signaling: %s (office %s) revoked: %s",
            session.sid,
            session.principal.office_id,
            message,
        )
        async with session.lock:
            await self.depart(session, "revoked")
        with contextlib.suppress(Exception):
            await self.emit_to(session.sid, "revoked", {"code": code, "message": message})
        with contextlib.suppress(Exception):
            # A server-side disconnect: Socket.IO clients do not reconnect by themselves.
            await self.sio.disconnect(session.sid, ignore_queue=True)

    async def _reseat(
        self,
        session: Connection,
        principal: Principal,
        hearing_id: int,
        outcome: HearingAccess | DomainError,
    ) -> None:
        """Revalidation: the token still holds; does the seat in the hearing? (The office may
        have been taken off the hearing's sites.) `outcome` is the gateway's admit() answer
        for hearing_id, asked before this connection's lock was taken: a connection that has
        left that hearing meanwhile is left alone (the next pass sees its new seat)."""
        async with session.lock:
            room, participant = session.room, session.participant
            if room is None or participant is None or session.revoked:
                return
            if room.hearing_id != hearing_id:
                return
            if isinstance(outcome, Conflict):
                return  # ended or cancelled: status_changed closes the room
            if not isinstance(outcome, DomainError):
                session.seat = seat_of(principal, outcome)
                return
            refused = outcome
            logger.info(
                "hearing %s: participant %s no longer admissible: %s",
                room.hearing_id,
                participant.id,
                refused.message,
            )
            await self.emit_to(
                session.sid, "removed", {"hearing_id": room.hearing_id, "message": refused.message}
            )
            await self.depart(session, "revoked")
        if principal.hearing_id is not None:
            # A join token grants that one hearing: nothing is left to keep it connected for.
            await self.revoke(session, refused.code, refused.message)

    async def _principal_now(self, session: Connection) -> Principal:
        """The connection's principal, re-checked now (joining and watching do not wait for
        the next revalidation pass); Unauthorized when its grounds are gone."""
        try:
            principal = await self.gateway.authenticate(session.token)
        except Unauthorized:
            self.revalidator.poke()  # disconnects it, outside this handler's lock
            raise
        if rights(principal) != rights(session.principal):
            self.revalidator.poke()
            raise Unauthorized("your account changed; connect again to go on")
        return principal

    # -- plumbing ---------------------------------------------------------------------------

    def _wrap(self, event: str, handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def on_event(sid: str, *args: Any) -> dict[str, Any]:
            session = self._sessions.get(sid)
            if session is None or session.revoked:
                return await self._fail(sid, event, "unauthorized", "not connected")
            bucket = session.joins if event in ("join", "leave", "self_test") else session.events
            if not bucket.take():
                return await self._fail(
                    sid, event, protocol.RATE_LIMITED, f"too many {event} messages; slow down"
                )
            try:
                message = protocol.decode(
                    event,
                    args,
                    max_bytes=self.settings.max_signaling_message_bytes,
                    max_sdp_bytes=self.settings.max_sdp_bytes,
                )
                if event == "ice_candidate":
                    # Candidates must not wait behind a slow offer; the participant buffers them.
                    result = await handler(session, message)
                else:
                    async with session.lock:
                        result = await handler(session, message)
            except ProtocolError as exc:
                return await self._fail(sid, event, exc.code, exc.message)
            except NegotiationError as exc:
                return await self._fail(sid, event, exc.code, exc.message)
            except SdpRejected as exc:
                return await self._fail(sid, event, protocol.INVALID_SDP, str(exc))
            except DomainError as exc:
                return await self._fail(sid, event, exc.code, exc.message)
            except Exception:
                logger.exception("signaling: %s failed for %s", event, sid)
                return await self._fail(sid, event, protocol.INTERNAL, f"{event} failed")
            return {"ok": True, **result}

        return on_event

    async def _fail(self, sid: str, event: str, code: str, message: str) -> dict[str, Any]:
        logger.info("signaling: %s refused for %s: %s %s", event, sid, code, message)
        if socketio_internals.ack_requested() is not True:
            await self.sio.emit(
                "error",
                protocol.encode("error", {"code": code, "message": message, "event": event}),
                to=sid,
                ignore_queue=True,
            )
        return protocol.error_ack(code, message)

    # Hearing traffic is for this process's connections only (ignore_queue): a hearing's room
    # lives in one process, and offers have no business crossing Redis.

    async def emit_to(self, sid: str, event: str, data: dict[str, Any]) -> None:
        await self.sio.emit(event, protocol.encode(event, data), to=sid, ignore_queue=True)

    async def _broadcast(
        self, hearing_id: int, event: str, data: dict[str, Any], skip: str | None
    ) -> None:
        skip_sid = self._sids.get(skip) if skip is not None else None
        await self.sio.emit(
            event,
            protocol.encode(event, data),
            room=_room_name(hearing_id),
            skip_sid=skip_sid,
            ignore_queue=True,
        )

    async def _publish_site(self, update: SiteUpdate | None) -> None:
        """A change on this process's board, to the operators watching the office (on every
        node when presence is shared through Redis)."""
        if update is None:
            return
        try:
            await self.presence.publish(update)
        except Exception:
            logger.exception("signaling: site_status of office %s failed", update.status)

    async def _deliver_site(self, status: dict[str, Any], rooms: list[str]) -> None:
        """Presence hands a status to this process's operator rooms."""
        await self.sio.emit(
            "site_status", protocol.encode("site_status", status), room=rooms, ignore_queue=True
        )

    def connection_of(self, participant_id: str) -> Connection | None:
        """The connection a participant of this process's rooms sits on."""
        sid = self._sids.get(participant_id)
        return self._sessions.get(sid) if sid is not None else None

    def seated(self, session: Connection) -> tuple[MediaRoom, MediaParticipant]:
        if session.room is None or session.participant is None:
            raise ProtocolError(protocol.NOT_JOINED, "join a hearing first")
        return session.room, session.participant

    async def depart(
        self, session: Connection, reason: str, by: MediaParticipant | None = None
    ) -> None:
        room, participant = session.room, session.participant
        session.lost_seat = None  # leaving, removed, revoked: no longer a seat to come back to
        if room is None or participant is None:
            return
        session.unseat()
        # The room's "left" hook (_on_room_state) does the rest of the bookkeeping, and the
        # room manager closes the room when this was its last participant.
        try:
            await room.leave(participant.id, reason, by=by)
        except (RoomClosed, NegotiationError):
            # Its worker closed the room first (the hub shutting down, the room moved) or went
            # away under the request (NegotiationError "went away; join again"): the
            # participant is gone with it, which is all a departure asks for. Raising here
            # would cut short a disconnect's bookkeeping: the board's offline, site_offline.
            logger.debug("hearing %s: room already gone for %s", room.hearing_id, reason)

    async def _on_room_moved(self, room: RemoteRoom) -> None:
        """The room's media worker died: this node's participants are out of it and told to
        join again (their admission is kept); the next join places the room anew."""
        for session in list(self._sessions.values()):
            participant = session.participant
            if session.room is not room or participant is None:
                continue
            session.unseat()
            session.lost_seat = participant
            self._sids.pop(participant.id, None)
            with contextlib.suppress(Exception):
                await self.sio.leave_room(session.sid, _room_name(room.hearing_id))
            await self._publish_site(self.board.out_of_hearing(session.sid, participant.id))
            with contextlib.suppress(Exception):
                await self.emit_to(
                    session.sid,
                    "media_moved",
                    {"hearing_id": room.hearing_id, "participant_id": participant.id},
                )

    async def _on_room_state(self, participant: MediaParticipant, change: str) -> None:
        """Rooms report joins, admissions and departures (drops they detect themselves too)."""
        sid = self._sids.get(participant.id)
        if sid is None:
            return
        if change == "left":
            if (
                self.link_monitor is not None
                and not is_self_test_room(participant.hearing_id)
                and not is_guest_seat(participant.office_id)
            ):
                await self.link_monitor.left(participant.office_id, participant.hearing_id)
            self._sids.pop(participant.id, None)
            session = self._sessions.get(sid)
            if session is not None and session.participant is participant:
                # The room let it go, not the site (its media path was lost): should its
                # socket go too before it is back, that is site_offline in this hearing.
                session.unseat()
                session.lost_seat = participant
            with contextlib.suppress(Exception):
                await self.sio.leave_room(sid, _room_name(participant.hearing_id))
            await self._publish_site(self.board.out_of_hearing(sid, participant.id))
        elif not is_self_test_room(participant.hearing_id):
            # (A self-test is no hearing: the board goes on showing the site as it was.)
            await self._publish_site(
                self.board.in_hearing(
                    sid,
                    participant.hearing_id,
                    participant.id,
                    participant.state,
                    participant.office_name,
                )
            )

    async def _on_room_quality(self, participant: MediaParticipant, quality: Quality) -> None:
        if is_self_test_room(participant.hearing_id):
            return  # a self-test scores itself (its page); it is no hearing's link sample
        if is_guest_seat(participant.office_id):
            return  # a guest's browser is no office's link: nothing to grade, keep or alert
        grade: str | None = None
        reasons: tuple[str, ...] = ()
        if self.link_monitor is not None:
            try:
                graded = await self.link_monitor.measured(
                    participant.office_id,
                    LinkSample.from_fields(quality.as_dict()),
                    hearing_id=participant.hearing_id,
                )
                grade, reasons = str(graded.grade), tuple(r.code for r in graded.reasons)
            except Exception:  # measuring goes on whatever one sample does
                logger.exception("link of office %s not graded", participant.office_id)
        sid = self._sids.get(participant.id)
        if sid is not None:
            await self._publish_site(
                self.board.measured(sid, participant.id, quality, grade, reasons)
            )

    # -- events -----------------------------------------------------------------------------

    async def _join(self, session: Connection, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.JoinIn)
        if session.room is not None:
            raise ProtocolError(
                "conflict", f"already in hearing {session.room.hearing_id}; leave first"
            )
        principal = await self._principal_now(session)
        # The hearing as it is now: its current sites, its status.
        access = await self.gateway.admit(principal, message.hearing_id)
        hearing_id = access.hearing_id
        seat = seat_of(principal, access)

        async def broadcast(event: str, data: dict[str, Any], skip: str | None) -> None:
            await self._broadcast(hearing_id, event, data, skip)

        async def emit(event: str, data: dict[str, Any], sid: str = session.sid) -> None:
            await self.emit_to(sid, event, data)

        room = await self.rooms.open_room(hearing_id, broadcast)
        if not room.joinable:
            raise ProtocolError(protocol.CONFLICT, f"hearing {hearing_id} is ending")
        participant = room.new_participant(
            office_id=principal.office_id,
            office_name=access.site_offices.get(principal.office_id, principal.office_name),
            display_name=principal.display_name,
            role=principal.role,
            user_id=principal.user_id,
            emit=emit,
        )
        live = access.status == "live"
        if not hearing_roles.starts_admitted(
            seat, live=live, admitted_before=live and await self._admitted_before(room, principal)
        ):
            participant.state = "waiting"
        # Registered before the first await, so that the room's hooks find this connection,
        # and undone whatever happens next: a join racing the room's end leaves nothing behind.
        self._sids[participant.id] = session.sid
        session.seat_in(room, participant, seat)
        try:
            await self.sio.enter_room(session.sid, _room_name(hearing_id))
            participants = await room.join(participant)
        except BaseException as exc:
            await self._undo_join(session, room, participant)
            if isinstance(exc, RoomClosed):
                raise ProtocolError(protocol.CONFLICT, str(exc)) from None
            raise
        if not participant.admitted:
            await emit("waiting", {"hearing_id": hearing_id})
        ack = protocol.JoinAck(
            participant_id=participant.id,
            state="admitted" if participant.admitted else "waiting",
            moderator=session.moderator,
            hearing=protocol.HearingOut(id=hearing_id, title=access.title, status=access.status),
            participants=[protocol.ParticipantOut.model_validate(p) for p in participants],
            ice_servers=[
                protocol.IceServerOut.model_validate(s)
                for s in client_ice_servers(
                    self.settings,
                    client_identity(
                        principal.user_id,
                        principal.office_id,
                        join_token=principal.hearing_id is not None,
                    ),
                )
            ],
            spotlight=room.spotlight,
        )
        out = ack.model_dump(exclude_none=True, exclude={"ok"})
        if room.now_hearing is not None:
            out["now_hearing"] = protocol.encode("now_hearing", room.now_hearing)
        if room.recording is not None:
            out["recording"] = protocol.encode("recording", room.recording)
        if self.link_monitor is not None and not principal.guest:
            await self.link_monitor.clear_alert(
                AlertKind.SITE_OFFLINE, principal.office_id, hearing_id, {"back": True}
            )
        return out

    async def _admitted_before(self, room: MediaRoom, principal: Principal) -> bool:
        """Whether the principal's office was admitted to the hearing and still is: as this
        node's room remembers it, else as the database keeps it (admissions outlive a restart
        of the hub, of a node or of a media worker, and are shared by every node)."""
        if principal.office_id in room.admitted_offices:
            return True
        try:
            return principal.office_id in await self.gateway.admitted_offices(room.hearing_id)
        except Exception:
            # The database is away: the site waits for a moderator rather than not joining.
            logger.warning(
                "hearing %s: could not read its admissions", room.hearing_id, exc_info=True
            )
            return False

    async def _undo_join(
        self, session: Connection, room: MediaRoom, participant: MediaParticipant
    ) -> None:
        self._sids.pop(participant.id, None)
        if session.participant is participant:
            session.unseat()
        with contextlib.suppress(Exception):
            await self.sio.leave_room(session.sid, _room_name(room.hearing_id))
        if participant.id in room.participants:
            with contextlib.suppress(Exception):
                await room.leave(participant.id, "left")
        else:
            with contextlib.suppress(Exception):
                await participant.close()

    async def _offer(self, session: Connection, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.OfferIn)
        room, participant = self.seated(session)
        answer = await room.accept_offer(participant, message.sdp)
        return protocol.AnswerAck(sdp=answer).model_dump(exclude={"ok"})

    async def _answer(self, session: Connection, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.AnswerIn)
        _room, participant = self.seated(session)
        await participant.accept_answer(message.sdp, message.revision)
        return {}

    async def _ice_candidate(self, session: Connection, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.IceCandidateIn)
        _room, participant = self.seated(session)
        await participant.add_candidate(message.model_dump())
        return {}

    async def _mute(self, session: Connection, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.MuteIn)
        room, participant = self.seated(session)
        await room.set_mute(participant, message.audio_muted, message.video_muted)
        return {}

    async def _leave(self, session: Connection, message: Any) -> dict[str, Any]:
        self.seated(session)
        await self.depart(session, "left")
        return {}

    async def status_changed(self, hearing_id: int, status: str) -> None:
        """Tell a hearing's participants its new status; an ended or cancelled hearing's room
        closes. Called for the moderators' socket events and for the REST API alike."""
        await self._broadcast(
            hearing_id, "hearing_status", {"hearing_id": hearing_id, "status": status}, None
        )
        if status == "live":
            self._check_attendance_later(hearing_id)
        if status not in ("ended", "cancelled"):
            return
        attendance = self._attendance.pop(hearing_id, None)
        if attendance is not None:
            attendance.cancel()
        await self._broadcast(hearing_id, "hearing_ended", {"hearing_id": hearing_id}, None)
        room = self.rooms.get(hearing_id)
        if room is None:
            return
        # Everyone leaves the room (the room's hook clears their sessions and tells the
        # operators); their sockets stay connected, e.g. a kiosk waits for the next hearing.
        for other in self._sessions.values():
            if other.room is room:
                other.unseat()
        await room.end()
        await self.rooms.close_room(hearing_id)
        self.rooms.forget_hearing(hearing_id)

    # -- recording (hub.services.recordings.RecordingControl) ------------------------------

    async def start_recording(
        self, hearing_id: int, recording_id: int, directory: str, by: dict[str, Any]
    ) -> dict[str, Any]:
        """Start recording the hearing's room where it lives (this process or its media
        worker); Conflict when it has no room or is recorded already."""
        room = self.rooms.get(hearing_id)
        if room is None or not room.joinable:
            raise Conflict(f"hearing {hearing_id} has no live room: nobody is connected")
        try:
            started = await room.start_recording(recording_id, directory, by)
        except (RecordingConflict, RoomClosed) as exc:
            raise Conflict(str(exc)) from None
        except NegotiationError as exc:
            raise Conflict(exc.message) from None
        if room.closed:
            # Its worker was given up for lost meanwhile: the room moves (and the worker drops
            # it, recording and all); the sites rejoin, and the leader may start again.
            raise Conflict(f"hearing {hearing_id}'s media moved while starting; start again")
        return started

    def recording_of(self, hearing_id: int) -> dict[str, Any] | None:
        """The running recording the hearing's room announced, if it has a room."""
        room = self.rooms.get(hearing_id)
        return room.recording if room is not None else None

    async def stop_recording(
        self, hearing_id: int, chapters: list[dict[str, Any]], by: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Stop it and wait for its files: the manifest; None when the room is gone (it
        finished the files itself when it closed)."""
        room = self.rooms.get(hearing_id)
        if room is None:
            return None
        try:
            return await room.stop_recording(chapters, by)
        except (RecordingConflict, RoomClosed):
            return None
        except NegotiationError as exc:
            if exc.code == "conflict":
                return None
            raise Conflict(exc.message) from None

    # -- operators --------------------------------------------------------------------------

    async def _watch_sites(self, session: Connection, message: Any) -> dict[str, Any]:
        principal = await self._principal_now(session)
        role = hearing_roles.role_named(principal.role)
        if not hearing_roles.may_watch_sites(role) or principal.hearing_id is not None:
            raise ProtocolError(
                protocol.FORBIDDEN, "sign in as an operator, admin or leader to watch the sites"
            )
        if not session.watching:
            session.watching = True
            await self.sio.enter_room(session.sid, operators_room(principal.office_id))
            if session.room is None:
                await self._publish_site(self.board.watching(session.sid))
        sites = await self.presence.snapshot(principal.office_path)
        return protocol.WatchSitesAck.model_validate({"sites": sites}).model_dump(exclude={"ok"})

    async def _watch_delegations(self, session: Connection, message: Any) -> dict[str, Any]:
        """A start page hears of the crowd delegations of its user's office (from its area, or
        received there) as they are registered: signed-in users who read petitions, not
        join-token holders (a kiosk's token is for one hearing) nor operators (who have no business
        with citizens)."""
        principal = await self._principal_now(session)
        role = hearing_roles.role_named(principal.role)
        if (
            principal.hearing_id is not None
            or principal.user_id is None
            or role is None
            or not may(role, Action.READ_PETITIONS)
        ):
            raise ProtocolError(protocol.FORBIDDEN, "sign in to hear of crowd delegations")
        await self.sio.enter_room(session.sid, delegations_room(principal.office_id))
        if session.room is None:
            # Listening for delegations is watching, not sitting at a bridge point.
            await self._publish_site(self.board.watching(session.sid))
        return protocol.WatchDelegationsAck(office_id=principal.office_id).model_dump(
            exclude={"ok"}
        )

    async def _unwatch_sites(self, session: Connection, message: Any) -> dict[str, Any]:
        if session.watching:
            session.watching = False
            await self.sio.leave_room(session.sid, operators_room(session.principal.office_id))
        return {}


def delegations_room(office_id: int) -> str:
    """The Socket.IO room of the staff and leaders hearing of an office's crowd delegations."""
    return f"delegations:{office_id}"


SIGNALING_KEY = web.AppKey("tcd_signaling", SignalingServer)


def setup_signaling(
    app: web.Application, settings: Settings, gateway: LiveGateway
) -> SignalingServer:
    """Mount Socket.IO at /socket.io/, create the RoomManager, close everything on shutdown."""
    server = SignalingServer(settings, gateway)
    server.sio.attach(app)
    app[SIGNALING_KEY] = server
    app.cleanup_ctx.append(server.lifespan)
    app.on_shutdown.append(server.shutdown)
    return server

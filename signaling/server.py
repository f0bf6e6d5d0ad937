"""Socket.IO signaling mounted on the hub's aiohttp app: decode, call rooms/gateway, encode.

Hearing events (offers, participants, host controls) stay in this process: a hearing's room
lives in one process. Only the operators' site_status goes through AsyncRedisManager.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
from aiohttp import web

from hub.config import Settings
from hub.domain.errors import DomainError
from hub.services.live import LiveGateway, Principal
from rooms import MediaOptions, RoomManager
from rooms.participant import NegotiationError, Participant
from rooms.quality import Quality
from rooms.room import Room
from rooms.sdp_guard import SdpRejected
from signaling import protocol
from signaling.admission import FORBIDDEN_MESSAGE, is_moderator, starts_admitted
from signaling.presence import WATCHER_ROLES, SiteBoard, SiteUpdate, operators_room
from signaling.protocol import ProtocolError

logger = logging.getLogger(__name__)

SESSION_COOKIE = "tcd_session"
# join/leave: a burst of 5, then one every 2 s per connection.
JOIN_LEAVE_BURST, JOIN_LEAVE_PER_SECOND = 5, 0.5
# Everything else (ICE candidates come in bursts): 60, then 30 per second.
EVENT_BURST, EVENT_PER_SECOND = 60, 30.0

# Whether the event being handled asked for an ack (set per handler task, see _Server).
_ack_requested: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "tcd_ack_requested", default=None
)


class _Server(socketio.AsyncServer):  # type: ignore[misc]
    """AsyncServer that lets handlers know whether the client asked for an ack.

    The protocol answers failures in the ack when there is one and with an `error` event
    otherwise; python-socketio does not tell a handler which case it is in.
    """

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
    ) -> None:
        _ack_requested.set(id is not None)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)


class TokenBucket:
    """A rate limit: `burst` at once, refilled at `rate` per second."""

    def __init__(self, burst: float, rate: float) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token; False when empty."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class _Session:
    sid: str
    principal: Principal
    joins: TokenBucket = field(default_factory=lambda: TokenBucket(JOIN_LEAVE_BURST, 0.5))
    events: TokenBucket = field(default_factory=lambda: TokenBucket(EVENT_BURST, EVENT_PER_SECOND))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    room: Room | None = None
    participant: Participant | None = None
    # May run the hearing it joined (chair, or a leader/admin of the host office or above).
    moderator: bool = False
    watching: bool = False


def _room_name(hearing_id: int) -> str:
    return f"hearing:{hearing_id}"


def _token_from(environ: dict[str, Any], auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        return str(auth["token"])
    cookie_header = environ.get("HTTP_COOKIE", "")
    if cookie_header:
        try:
            cookies = SimpleCookie(cookie_header)
        except CookieError:
            return None
        morsel = cookies.get(SESSION_COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value
    return None


def media_options(settings: Settings) -> MediaOptions:
    """MediaOptions from Settings (media_mode defaults to passthrough until Settings has it)."""
    return MediaOptions(
        mode=str(getattr(settings, "media_mode", "passthrough") or "passthrough"),
        ice_announced_ips=tuple(settings.ice_announced_ips),
        ice_servers=tuple(settings.ice_servers),
        turn_username=settings.turn_username,
        turn_password=settings.turn_password,
    )


Handler = Callable[[_Session, Any], Awaitable[dict[str, Any]]]


class SignalingServer:
    """The Socket.IO server, its per-connection sessions, and the process's rooms."""

    def __init__(self, settings: Settings, gateway: LiveGateway) -> None:
        self.settings = settings
        self.gateway = gateway
        manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
        self.sio = _Server(
            async_mode="aiohttp",
            client_manager=manager,
            # Engine.IO hard cap (it closes the connection); the per-event limit below is
            # smaller and answers with an error instead, keeping the connection up.
            max_http_buffer_size=max(4 * settings.max_signaling_message_bytes, 1 << 20),
            logger=False,
            engineio_logger=False,
        )
        self.rooms = RoomManager(
            gateway,
            media_options(settings),
            on_state=self._on_room_state,
            on_quality=self._on_room_quality,
        )
        self.board = SiteBoard()
        self._sessions: dict[str, _Session] = {}
        self._sids: dict[str, str] = {}  # participant id -> sid
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
            "admit": self._admit,
            "send_to_waiting": self._send_to_waiting,
            "mute_site": self._mute_site,
            "remove": self._remove,
            "spotlight": self._spotlight,
            "now_hearing": self._now_hearing,
            "start_hearing": self._start_hearing,
            "end_hearing": self._end_hearing,
            "watch_sites": self._watch_sites,
            "monitor_subscribe": self._watch_sites,
            "unwatch_sites": self._unwatch_sites,
        }
        for event, handler in handlers.items():
            self.sio.on(event, self._wrap(event, handler))

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: start the Redis listener; on shutdown close every room and
        cancel every task, the Redis listener included."""
        manager = self.sio.manager
        if self.settings.redis_url and not self.sio.manager_initialized:
            # Listen from the start, not from the first connection: this process's operators
            # must see sites connected to the other processes straight away.
            self.sio.manager_initialized = True
            manager.initialize()
        yield
        await self.rooms.close()
        for sid in list(self._sessions):
            try:
                await self.sio.disconnect(sid, ignore_queue=True)
            except Exception:
                logger.debug("disconnect of %s failed during shutdown", sid, exc_info=True)
        self._sessions.clear()
        listener = getattr(manager, "thread", None)
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        redis = getattr(manager, "redis", None)
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()

    # -- connection -------------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = _token_from(environ, auth)
        if token is None:
            raise socketio.exceptions.ConnectionRefusedError(
                {"message": "no token: pass auth.token or sign in (tcd_session cookie)"}
            )
        try:
            principal = await self.gateway.authenticate(token)
        except DomainError as exc:
            raise socketio.exceptions.ConnectionRefusedError({"message": exc.message}) from None
        self._sessions[sid] = _Session(sid, principal)
        logger.info("signaling: %s connected (office %s)", sid, principal.office_id)
        await self._publish_site(self.board.connect(sid, principal))

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = self._sessions.pop(sid, None)
        if session is None:
            return
        # Gone from the board first: operators get one "offline", not "left" then "offline".
        update = self.board.disconnect(sid)
        async with session.lock:
            await self._depart(session, "dropped")
        await self._publish_site(update)

    async def _on_unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        return await self._fail(sid, event, protocol.UNKNOWN_EVENT, f"unknown event {event!r}")

    # -- plumbing ---------------------------------------------------------------------------

    def _wrap(self, event: str, handler: Handler) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def on_event(sid: str, *args: Any) -> dict[str, Any]:
            session = self._sessions.get(sid)
            if session is None:
                return await self._fail(sid, event, "unauthorized", "not connected")
            bucket = session.joins if event in ("join", "leave") else session.events
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
        if _ack_requested.get() is not True:
            await self.sio.emit(
                "error",
                protocol.encode("error", {"code": code, "message": message, "event": event}),
                to=sid,
                ignore_queue=True,
            )
        return protocol.error_ack(code, message)

    # Hearing traffic is for this process's connections only (ignore_queue): a hearing's room
    # lives in one process, and offers have no business crossing Redis.

    async def _emit_to(self, sid: str, event: str, data: dict[str, Any]) -> None:
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
        """site_status to the operators watching the office (through Redis when configured)."""
        if update is None:
            return
        try:
            await self.sio.emit(
                "site_status", protocol.encode("site_status", update.status), room=update.rooms
            )
        except Exception:
            logger.exception("signaling: site_status of office %s failed", update.status)

    def _participant(self, session: _Session) -> tuple[Room, Participant]:
        if session.room is None or session.participant is None:
            raise ProtocolError(protocol.NOT_JOINED, "join a hearing first")
        return session.room, session.participant

    async def _depart(self, session: _Session, reason: str, by: Participant | None = None) -> None:
        room, participant = session.room, session.participant
        if room is None or participant is None:
            return
        session.room = session.participant = None
        session.moderator = False
        # The room's "left" hook (_on_room_state) does the rest of the bookkeeping.
        await room.leave(participant.id, reason, by=by)
        await self.rooms.close_if_empty(room.hearing_id)

    async def _on_room_state(self, participant: Participant, change: str) -> None:
        """Rooms report joins, admissions and departures (drops they detect themselves too)."""
        sid = self._sids.get(participant.id)
        if sid is None:
            return
        if change == "left":
            del self._sids[participant.id]
            session = self._sessions.get(sid)
            if session is not None and session.participant is participant:
                session.room = session.participant = None
                session.moderator = False
            with contextlib.suppress(Exception):
                await self.sio.leave_room(sid, _room_name(participant.hearing_id))
            await self._publish_site(self.board.out_of_hearing(sid, participant.id))
        else:
            await self._publish_site(
                self.board.in_hearing(
                    sid,
                    participant.hearing_id,
                    participant.id,
                    participant.state,
                    participant.office_name,
                )
            )

    async def _on_room_quality(self, participant: Participant, quality: Quality) -> None:
        sid = self._sids.get(participant.id)
        if sid is not None:
            await self._publish_site(self.board.measured(sid, participant.id, quality))

    def _ice_servers(self) -> list[dict[str, Any]]:
        servers = []
        for url in self.settings.ice_servers:
            entry: dict[str, Any] = {"urls": url}
            if url.startswith("turn"):
                entry["username"] = self.settings.turn_username
                entry["credential"] = self.settings.turn_password
            servers.append(entry)
        return servers

    # -- events -----------------------------------------------------------------------------

    async def _join(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.JoinIn)
        if session.room is not None:
            raise ProtocolError(
                "conflict", f"already in hearing {session.room.hearing_id}; leave first"
            )
        access = await self.gateway.admit(session.principal, message.hearing_id)
        hearing_id = access.hearing_id

        async def broadcast(event: str, data: dict[str, Any], skip: str | None) -> None:
            await self._broadcast(hearing_id, event, data, skip)

        async def emit(event: str, data: dict[str, Any], sid: str = session.sid) -> None:
            await self._emit_to(sid, event, data)

        room = self.rooms.get_or_create(hearing_id, broadcast)
        principal = session.principal
        participant = room.new_participant(
            office_id=principal.office_id,
            office_name=access.site_offices.get(principal.office_id, principal.office_name),
            display_name=principal.display_name,
            role=principal.role,
            user_id=principal.user_id,
            emit=emit,
        )
        if not starts_admitted(principal, access, room.admitted_offices):
            participant.state = "waiting"
        await self.sio.enter_room(session.sid, _room_name(hearing_id))
        self._sids[participant.id] = session.sid
        session.room, session.participant = room, participant
        session.moderator = is_moderator(principal, access)
        participants = await room.join(participant)
        if not participant.admitted:
            await emit("waiting", {"hearing_id": hearing_id})
        ack = protocol.JoinAck(
            participant_id=participant.id,
            state="admitted" if participant.admitted else "waiting",
            moderator=session.moderator,
            hearing=protocol.HearingOut(id=hearing_id, title=access.title, status=access.status),
            participants=[protocol.ParticipantOut.model_validate(p) for p in participants],
            ice_servers=[protocol.IceServerOut.model_validate(s) for s in self._ice_servers()],
            spotlight=room.spotlight,
        )
        out = ack.model_dump(exclude_none=True, exclude={"ok"})
        if room.now_hearing is not None:
            out["now_hearing"] = protocol.encode("now_hearing", room.now_hearing)
        return out

    async def _offer(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.OfferIn)
        room, participant = self._participant(session)
        answer = await room.accept_offer(participant, message.sdp)
        return protocol.AnswerAck(sdp=answer).model_dump(exclude={"ok"})

    async def _answer(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.AnswerIn)
        _room, participant = self._participant(session)
        await participant.accept_answer(message.sdp, message.revision)
        return {}

    async def _ice_candidate(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.IceCandidateIn)
        _room, participant = self._participant(session)
        await participant.add_candidate(message.model_dump())
        return {}

    async def _mute(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.MuteIn)
        room, participant = self._participant(session)
        await room.set_mute(participant, message.audio_muted, message.video_muted)
        return {}

    async def _leave(self, session: _Session, message: Any) -> dict[str, Any]:
        self._participant(session)
        await self._depart(session, "left")
        return {}

    # -- host controls ----------------------------------------------------------------------

    def _moderating(self, session: _Session) -> tuple[Room, Participant]:
        room, me = self._participant(session)
        if not session.moderator:
            raise ProtocolError(protocol.FORBIDDEN, FORBIDDEN_MESSAGE)
        return room, me

    def _target(
        self, room: Room, participant_id: str, me: Participant, *, not_me: str = ""
    ) -> Participant:
        target = room.participants.get(participant_id)
        if target is None:
            raise ProtocolError(
                protocol.NOT_FOUND, f"no participant {participant_id} in hearing {room.hearing_id}"
            )
        if not_me and target is me:
            raise ProtocolError(protocol.CONFLICT, not_me)
        return target

    async def _admit(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.TargetIn)
        room, me = self._moderating(session)
        await room.admit(self._target(room, message.participant_id, me), by=me)
        return {}

    async def _send_to_waiting(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.TargetIn)
        room, me = self._moderating(session)
        target = self._target(
            room, message.participant_id, me, not_me="you cannot send yourself to the waiting room"
        )
        await room.send_to_waiting(target, by=me)
        return {}

    async def _mute_site(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.MuteSiteIn)
        room, me = self._moderating(session)
        await room.host_mute(self._target(room, message.participant_id, me), message.audio, by=me)
        return {}

    async def _remove(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.TargetIn)
        room, me = self._moderating(session)
        target = self._target(
            room, message.participant_id, me, not_me="you cannot remove yourself; leave instead"
        )
        sid = self._sids.get(target.id)
        target_session = self._sessions.get(sid) if sid is not None else None
        if sid is not None:
            await self._emit_to(sid, "removed", {"hearing_id": room.hearing_id})
        if target_session is not None and target_session.participant is target:
            await self._depart(target_session, "removed", by=me)
        else:
            await room.leave(target.id, "removed", by=me)
        if sid is not None:
            # A server-side disconnect: Socket.IO clients do not reconnect by themselves.
            await self.sio.disconnect(sid, ignore_queue=True)
        return {}

    async def _spotlight(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.SpotlightIn)
        room, me = self._moderating(session)
        if message.participant_id is not None:
            self._target(room, message.participant_id, me)
        await room.set_spotlight(message.participant_id)
        return {}

    async def _now_hearing(self, session: _Session, message: Any) -> dict[str, Any]:
        assert isinstance(message, protocol.NowHearingIn)
        room, _me = self._moderating(session)
        heard = await self.gateway.mark_petition(
            session.principal, room.hearing_id, message.petition_id, message.action
        )
        payload = dataclasses.asdict(heard)
        await room.set_now_hearing(payload)
        return protocol.encode("now_hearing", payload)

    async def _start_hearing(self, session: _Session, message: Any) -> dict[str, Any]:
        room, _me = self._moderating(session)
        status = await self.gateway.set_status(session.principal, room.hearing_id, "live")
        await self.status_changed(room.hearing_id, status)
        return {"status": status}

    async def _end_hearing(self, session: _Session, message: Any) -> dict[str, Any]:
        room, _me = self._moderating(session)
        status = await self.gateway.set_status(session.principal, room.hearing_id, "ended")
        await self.status_changed(room.hearing_id, status)
        logger.info("hearing %s: ended by %s", room.hearing_id, session.sid)
        return {"status": status}

    async def status_changed(self, hearing_id: int, status: str) -> None:
        """Tell a hearing's participants its new status; an ended or cancelled hearing's room
        closes. Called for the moderators' socket events and for the REST API alike."""
        await self._broadcast(
            hearing_id, "hearing_status", {"hearing_id": hearing_id, "status": status}, None
        )
        if status not in ("ended", "cancelled"):
            return
        await self._broadcast(hearing_id, "hearing_ended", {"hearing_id": hearing_id}, None)
        room = self.rooms.get(hearing_id)
        if room is None:
            return
        # Everyone leaves the room (the room's hook clears their sessions and tells the
        # operators); their sockets stay connected, e.g. a kiosk waits for the next hearing.
        for other in self._sessions.values():
            if other.room is room:
                other.room = other.participant = None
                other.moderator = False
        await room.end()
        await self.rooms.close_room(hearing_id)
        self.rooms.forget_hearing(hearing_id)

    # -- operators --------------------------------------------------------------------------

    async def _watch_sites(self, session: _Session, message: Any) -> dict[str, Any]:
        principal = session.principal
        if principal.role not in WATCHER_ROLES or principal.hearing_id is not None:
            raise ProtocolError(
                protocol.FORBIDDEN, "sign in as an operator, admin or leader to watch the sites"
            )
        if not session.watching:
            session.watching = True
            await self.sio.enter_room(session.sid, operators_room(principal.office_id))
            if session.room is None:
                await self._publish_site(self.board.watching(session.sid))
        sites = self.board.snapshot(principal.office_path)
        return protocol.WatchSitesAck.model_validate({"sites": sites}).model_dump(exclude={"ok"})

    async def _unwatch_sites(self, session: _Session, message: Any) -> dict[str, Any]:
        if session.watching:
            session.watching = False
            await self.sio.leave_room(session.sid, operators_room(session.principal.office_id))
        return {}


SIGNALING_KEY = web.AppKey("tcd_signaling", SignalingServer)


def setup_signaling(
    app: web.Application, settings: Settings, gateway: LiveGateway
) -> SignalingServer:
    """Mount Socket.IO at /socket.io/, create the RoomManager, close everything on shutdown."""
    server = SignalingServer(settings, gateway)
    server.sio.attach(app)
    app[SIGNALING_KEY] = server
    app.cleanup_ctx.append(server.lifespan)
    return server

"""self_test: a site's test call against the hub before a hearing. The site's own camera and
microphone go to the hub and come straight back (an echo room, rooms.self_test), across the
same network path, TURN servers, media worker and forwarding a hearing would use; the page
measures what comes back (web/static/js/self-test.js) and posts its result to the API
(POST /api/v1/self-tests).

After `self_test` the connection is seated in its echo room like a participant in a hearing:
offer, answer, ice_candidate, mute and leave work as they do there. Nothing is written to a
session log or shown on the operators' board, and the hub ends a test left running (a page
closed mid-test keeps its socket only until Engine.IO notices) after its seconds and a grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hub.domain import hearing_roles
from hub.domain.hearing_roles import Seat
from hub.services.ice_servers import client_ice_servers, client_identity
from rooms.backend import MediaRoom
from rooms.room import RoomClosed
from rooms.self_test import new_self_test_room_id
from signaling import protocol
from signaling.connection import Connection
from signaling.protocol import ProtocolError

if TYPE_CHECKING:
    from signaling.server import SignalingServer

logger = logging.getLogger(__name__)

Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]

# A test runs for its seconds (10 by default); the hub ends it this much later if the page has
# not left by then (a slow start: camera, ICE over a relay).
GRACE_SECONDS = 20.0
# Nobody in a self-test controls anything (admit, mute a site, start a hearing...).
NO_CONTROLS = Seat(role=None, host_side=False)


class SelfTests:
    """Starts self-tests on a server's media backend and ends those left running."""

    def __init__(self, server: SignalingServer) -> None:
        self.server = server
        self._timers: dict[str, asyncio.Task[None]] = {}  # participant id -> its end

    def handlers(self) -> dict[str, Handler]:
        """The self_test event."""
        return {"self_test": self.start}

    async def start(self, session: Connection, message: Any) -> dict[str, Any]:
        """Decoded self_test: seat the connection in a new echo room; its ack carries the
        participant id and the ICE servers, as a join's does."""
        assert isinstance(message, protocol.SelfTestIn)
        server = self.server
        if session.room is not None:
            raise ProtocolError(
                protocol.CONFLICT, f"already in room {session.room.hearing_id}; leave first"
            )
        principal = await server._principal_now(session)
        # Those who would sit at a site in a hearing test its link; a join token (one hearing,
        # no account) cannot keep a result, so it has no self-test either.
        if principal.hearing_id is not None or not hearing_roles.may_join(
            hearing_roles.role_named(principal.role)
        ):
            raise ProtocolError(
                protocol.FORBIDDEN,
                "sign in as a site's staff member, leader or admin to run a self-test",
            )
        room_id = new_self_test_room_id()

        async def broadcast(_event: str, _data: dict[str, Any], _skip: str | None) -> None:
            """Nobody else is in an echo room."""

        async def emit(event: str, data: dict[str, Any], sid: str = session.sid) -> None:
            await server.emit_to(sid, event, data)

        room = await server.rooms.open_room(room_id, broadcast)
        participant = room.new_participant(
            office_id=principal.office_id,
            office_name=principal.office_name,
            display_name=principal.display_name,
            role=principal.role,
            user_id=principal.user_id,
            emit=emit,
        )
        # As for a join: registered before the first await so that the room's hooks find it.
        server._sids[participant.id] = session.sid
        session.seat_in(room, participant, NO_CONTROLS)
        try:
            await room.join(participant)
        except BaseException as exc:
            await server._undo_join(session, room, participant)
            if isinstance(exc, RoomClosed):
                raise ProtocolError(protocol.CONFLICT, str(exc)) from None
            raise
        logger.info(
            "self-test %s: office %s (%s) started, %s s",
            room_id,
            principal.office_id,
            principal.username,
            message.seconds,
        )
        timer = asyncio.get_running_loop().create_task(
            self._end_later(session, room, participant.id, message.seconds + GRACE_SECONDS)
        )
        self._timers[participant.id] = timer
        timer.add_done_callback(self._forget_timer(participant.id))
        ack = protocol.SelfTestAck(
            participant_id=participant.id,
            room_id=room_id,
            seconds=message.seconds,
            ice_servers=[
                protocol.IceServerOut.model_validate(s)
                for s in client_ice_servers(
                    server.settings, client_identity(principal.user_id, principal.office_id)
                )
            ],
        )
        return ack.model_dump(exclude_none=True, exclude={"ok"})

    def _forget_timer(self, participant_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._timers.pop(participant_id, None)

        return forget

    async def _end_later(
        self, session: Connection, room: MediaRoom, participant_id: str, after: float
    ) -> None:
        """End the test if its page is still in it `after` seconds on."""
        await asyncio.sleep(after)
        async with session.lock:
            if session.room is not room or session.participant is None:
                return  # left already (the usual case)
            logger.info("self-test %s: ended by the hub (time up)", room.hearing_id)
            await self.server.depart(session, "left")
        with contextlib.suppress(Exception):
            await self.server.emit_to(
                session.sid,
                "self_test_ended",
                {"room_id": room.hearing_id, "participant_id": participant_id, "reason": "time_up"},
            )

    async def close(self) -> None:
        """Stop every pending end (the rooms close with the media backend)."""
        timers = list(self._timers.values())
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        self._timers.clear()

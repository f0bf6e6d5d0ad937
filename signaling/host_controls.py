"""The hearing's live controls over the socket: admit, send back to the waiting room, mute a
site, remove, spotlight, "now hearing", a site's low-bandwidth mode (also from the operators'
board), start and end. Who may use which is decided by
hub.domain.hearing_roles, the same rules the REST API follows."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hub.domain import hearing_roles
from hub.domain.hearing_roles import Control
from rooms import bandwidth
from rooms.backend import MediaParticipant as Participant
from rooms.backend import MediaRoom as Room
from signaling import protocol
from signaling.connection import Connection
from signaling.protocol import ProtocolError

if TYPE_CHECKING:
    from signaling.server import SignalingServer

logger = logging.getLogger(__name__)

Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]


def handlers(server: SignalingServer) -> dict[str, Handler]:
    """The control events, by name, bound to a server."""
    controls = HostControls(server)
    return {
        "admit": controls.admit,
        "send_to_waiting": controls.send_to_waiting,
        "mute_site": controls.mute_site,
        "remove": controls.remove,
        "spotlight": controls.spotlight,
        "low_bandwidth": controls.low_bandwidth,
        "now_hearing": controls.now_hearing,
        "start_hearing": controls.start_hearing,
        "end_hearing": controls.end_hearing,
    }


def _target(room: Room, participant_id: str, me: Participant, *, not_me: str = "") -> Participant:
    target = room.participants.get(participant_id)
    if target is None:
        raise ProtocolError(
            protocol.NOT_FOUND, f"no participant {participant_id} in hearing {room.hearing_id}"
        )
    if not_me and target is me:
        raise ProtocolError(protocol.CONFLICT, not_me)
    return target


class HostControls:
    """Each method: check the control is the connection's to use, then do it."""

    def __init__(self, server: SignalingServer) -> None:
        self.server = server

    def _controlling(self, session: Connection, control: Control) -> tuple[Room, Participant]:
        room, me = self.server.seated(session)
        assert session.seat is not None  # seated together with its room
        hearing_roles.require_control(session.seat, control)
        return room, me

    async def admit(self, session: Connection, message: Any) -> dict[str, Any]:
        """Let a waiting site in."""
        assert isinstance(message, protocol.TargetIn)
        room, me = self._controlling(session, Control.ADMIT)
        await room.admit(_target(room, message.participant_id, me), by=me)
        return {}

    async def send_to_waiting(self, session: Connection, message: Any) -> dict[str, Any]:
        """Back to the waiting room."""
        assert isinstance(message, protocol.TargetIn)
        room, me = self._controlling(session, Control.SEND_TO_WAITING)
        target = _target(
            room, message.participant_id, me, not_me="you cannot send yourself to the waiting room"
        )
        await room.send_to_waiting(target, by=me)
        return {}

    async def mute_site(self, session: Connection, message: Any) -> dict[str, Any]:
        """Stop (or resume) forwarding a site's audio."""
        assert isinstance(message, protocol.MuteSiteIn)
        room, me = self._controlling(session, Control.MUTE_SITE)
        await room.host_mute(_target(room, message.participant_id, me), message.audio, by=me)
        return {}

    async def remove(self, session: Connection, message: Any) -> dict[str, Any]:
        """Out of the hearing, and its socket disconnected."""
        assert isinstance(message, protocol.TargetIn)
        room, me = self._controlling(session, Control.REMOVE)
        target = _target(
            room, message.participant_id, me, not_me="you cannot remove yourself; leave instead"
        )
        server = self.server
        target_session = server.connection_of(target.id)
        if target_session is not None:
            await server.emit_to(target_session.sid, "removed", {"hearing_id": room.hearing_id})
        if target_session is not None and target_session.participant is target:
            await server.depart(target_session, "removed", by=me)
        else:
            await room.leave(target.id, "removed", by=me)
        if target_session is not None:
            # A server-side disconnect: Socket.IO clients do not reconnect by themselves.
            await server.sio.disconnect(target_session.sid, ignore_queue=True)
        return {}

    async def spotlight(self, session: Connection, message: Any) -> dict[str, Any]:
        """Show a site large everywhere (or nobody)."""
        assert isinstance(message, protocol.SpotlightIn)
        room, me = self._controlling(session, Control.SPOTLIGHT)
        if message.participant_id is not None:
            _target(room, message.participant_id, me)
        await room.set_spotlight(message.participant_id)
        return {}

    async def low_bandwidth(self, session: Connection, message: Any) -> dict[str, Any]:
        """A site's low-bandwidth mode on or off: by a moderator or the chair in the room, or
        by an operator from the board for a site the board shows it."""
        assert isinstance(message, protocol.LowBandwidthIn)
        if session.room is not None and session.participant is not None:
            room, me = self._controlling(session, Control.LOW_BANDWIDTH)
            if message.hearing_id not in (None, room.hearing_id):
                raise ProtocolError(
                    protocol.CONFLICT,
                    f"you are in hearing {room.hearing_id}, not hearing {message.hearing_id}",
                )
            target = _target(room, message.participant_id, me)
            await room.set_low_bandwidth(target, message.on, bandwidth.MODERATOR, by=me)
            return {}
        principal = session.principal
        if not hearing_roles.may_switch_bandwidth_from_board(
            hearing_roles.role_named(principal.role)
        ):
            raise ProtocolError(
                protocol.FORBIDDEN,
                "only a moderator in the hearing or an operator on the sites' board may switch "
                "a site's low-bandwidth mode",
            )
        if message.hearing_id is None:
            raise ProtocolError(
                protocol.INVALID_MESSAGE, "low_bandwidth from the board needs hearing_id"
            )
        found = self.server.rooms.get(message.hearing_id)
        # The operator's board (its office and those below) is the scope it acts in.
        board = await self.server.presence.snapshot(principal.office_path)
        shown = any(
            s.get("participant_id") == message.participant_id
            and s.get("hearing_id") == message.hearing_id
            for s in board
        )
        if found is None or not shown or message.participant_id not in found.participants:
            raise ProtocolError(
                protocol.NOT_FOUND,
                f"no site {message.participant_id} of hearing {message.hearing_id} on your board",
            )
        target = found.participants[message.participant_id]
        await found.set_low_bandwidth(target, message.on, bandwidth.OPERATOR)
        return {}

    async def now_hearing(self, session: Connection, message: Any) -> dict[str, Any]:
        """Mark the petition being heard (or no longer)."""
        assert isinstance(message, protocol.NowHearingIn)
        room, _me = self._controlling(session, Control.NOW_HEARING)
        heard = await self.server.gateway.mark_petition(
            session.principal, room.hearing_id, message.petition_id, message.action
        )
        payload = dataclasses.asdict(heard)
        await room.set_now_hearing(payload)
        return protocol.encode("now_hearing", payload)

    async def start_hearing(self, session: Connection, message: Any) -> dict[str, Any]:
        """The hearing goes live."""
        room, _me = self._controlling(session, Control.START)
        status = await self.server.gateway.set_status(session.principal, room.hearing_id, "live")
        await self.server.status_changed(room.hearing_id, status)
        return {"status": status}

    async def end_hearing(self, session: Connection, message: Any) -> dict[str, Any]:
        """The hearing ends: everyone leaves the room."""
        room, _me = self._controlling(session, Control.END)
        status = await self.server.gateway.set_status(session.principal, room.hearing_id, "ended")
        await self.server.status_changed(room.hearing_id, status)
        logger.info("hearing %s: ended by %s", room.hearing_id, session.sid)
        return {"status": status}

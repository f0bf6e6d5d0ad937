"""client_stats: a site's own view of its link, from its browser's getStats() (or a site
agent's), sent every few seconds while it sits in a hearing.

The hub measures the link from its end (rooms.quality); only the site knows what it sends
(resolution, frame rate, why its encoder holds back), which candidate carries it (host, srflx,
relay) and what it receives from each other site. The message's schema is
signaling.protocol.ClientStatsIn (validated at the edge like every event); the figures go to
the operators' board (signaling.presence.SiteBoard), which hands them out in the office's
site_status as `client`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hub.domain.alerts import AlertKind
from hub.domain.link_grade import LinkSample
from signaling import protocol
from signaling.connection import Connection

if TYPE_CHECKING:
    from signaling.server import SignalingServer

Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]


def handlers(server: SignalingServer) -> dict[str, Handler]:
    """The client_stats event, bound to a server."""
    return {"client_stats": ClientStats(server).receive}


def figures_of(message: protocol.ClientStatsIn) -> dict[str, Any]:
    """The figures as the board keeps them and site_status carries them (JSON-ready)."""
    figures = message.model_dump()
    for device in ("camera", "microphone"):
        if figures[device] is None:
            del figures[device]  # not reported: nothing to say
    return figures


class ClientStats:
    """Receives a seated connection's figures and puts them on the board."""

    def __init__(self, server: SignalingServer) -> None:
        self.server = server
        # participant id -> the devices it last reported missing or blocked (an alert is
        # opened or closed on a change only, not every few seconds).
        self._devices: dict[str, tuple[str, ...]] = {}

    async def receive(self, session: Connection, message: Any) -> dict[str, Any]:
        """Decoded client_stats: refused with not_joined outside a hearing."""
        assert isinstance(message, protocol.ClientStatsIn)
        _room, participant = self.server.seated(session)
        if session.principal.guest:
            return {}  # a guest's browser is no office's site: no board, no link, no alerts
        figures = figures_of(message)
        self.server.board.client_measured(session.sid, participant.id, figures)
        monitor = self.server.link_monitor
        if monitor is not None:
            # The site's own end of its link sample (graded and kept with the hub's next one).
            own = {k: figures.get(k) for k in CLIENT_FIGURES}
            monitor.client_reported(participant.office_id, LinkSample.from_fields(own))
            await self._devices_changed(participant, message)
        return {}

    async def _devices_changed(self, participant: Any, message: protocol.ClientStatsIn) -> None:
        """media_device_missing while the site's camera or microphone is missing or blocked;
        closed once both are there."""
        monitor = self.server.link_monitor
        if monitor is None or (message.camera is None and message.microphone is None):
            return
        lacking = tuple(
            f"{name}:{state}"
            for name, state in (("camera", message.camera), ("microphone", message.microphone))
            if state not in (None, "ok")
        )
        if self._devices.get(participant.id, ()) == lacking:
            return
        self._devices[participant.id] = lacking
        if lacking:
            await monitor.raise_alert(
                AlertKind.MEDIA_DEVICE_MISSING,
                participant.office_id,
                participant.hearing_id,
                {"camera": message.camera, "microphone": message.microphone},
            )
        else:
            await monitor.clear_alert(
                AlertKind.MEDIA_DEVICE_MISSING,
                participant.office_id,
                participant.hearing_id,
                {"camera": message.camera, "microphone": message.microphone},
            )


# The figures of ClientStatsIn that are part of a LinkSample (the per-remote `inbound` is not).
CLIENT_FIGURES = (
    "sent_width",
    "sent_height",
    "sent_fps",
    "quality_limitation",
    "candidate_type",
    "available_outgoing_kbps",
)

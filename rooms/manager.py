"""RoomManager: one Room per live hearing in this process, and their shutdown."""

from __future__ import annotations

import logging

from hub.services.live import LiveGateway
from rooms.participant import MediaOptions
from rooms.room import Broadcast, Room

logger = logging.getLogger(__name__)


class RoomManager:
    """Owns every room of the process; close() stops them all."""

    def __init__(self, gateway: LiveGateway, options: MediaOptions) -> None:
        self.gateway = gateway
        self.options = options
        self._rooms: dict[int, Room] = {}

    def get(self, hearing_id: int) -> Room | None:
        """The open room of a hearing, if any."""
        room = self._rooms.get(hearing_id)
        return room if room is not None and not room.closed else None

    def get_or_create(self, hearing_id: int, broadcast: Broadcast) -> Room:
        """The hearing's room, created on first use."""
        room = self.get(hearing_id)
        if room is None:
            room = Room(hearing_id, self.gateway, self.options, broadcast)
            self._rooms[hearing_id] = room
            logger.info("hearing %s: room opened (%s)", hearing_id, self.options.mode)
        return room

    async def close_if_empty(self, hearing_id: int) -> None:
        """Close a room nobody is in any more."""
        room = self._rooms.get(hearing_id)
        if room is not None and not room.participants:
            del self._rooms[hearing_id]
            await room.close()

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

    def __len__(self) -> int:
        return len(self._rooms)

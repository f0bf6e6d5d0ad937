"""RoomManager: one Room per live hearing in this process, and their shutdown."""

from __future__ import annotations

import logging
from collections import OrderedDict

from hub.services.live import LiveGateway
from rooms.participant import MediaOptions
from rooms.room import Broadcast, QualityHook, Room, StateHook, ignore_quality, ignore_state

logger = logging.getLogger(__name__)

# Hearings whose admitted offices are remembered (a hearing ended through the REST API never
# tells this process; the oldest are forgotten first).
MAX_REMEMBERED_HEARINGS = 1000


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
            room = Room(
                hearing_id,
                self.gateway,
                self.options,
                broadcast,
                admitted_offices=self._admitted_offices(hearing_id),
                on_state=self.on_state,
                on_quality=self.on_quality,
            )
            self._rooms[hearing_id] = room
            logger.info("hearing %s: room opened (%s)", hearing_id, self.options.mode)
        return room

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

"""What signaling needs from the media side, whether rooms live in this process (RoomManager)
or on media workers (rooms.remote.WorkerBackend): the same calls behind one interface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

Broadcast = Callable[[str, dict[str, Any], "str | None"], Awaitable[None]]


class MediaParticipant(Protocol):
    """A participant as signaling sees it (rooms.participant.Participant or a worker's proxy)."""

    id: str
    hearing_id: int
    office_id: int
    office_name: str
    user_id: int | None
    state: str

    @property
    def admitted(self) -> bool:
        """In the room proper (not in the waiting room)."""

    async def accept_answer(self, sdp: str, revision: int) -> None:
        """Apply the participant's answer to the hub's offer `revision`."""

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        """A trickled ICE candidate of the participant."""

    async def close(self) -> None:
        """Release what a participant that never joined holds."""


class MediaRoom(Protocol):
    """A hearing's room as signaling sees it (rooms.room.Room or a worker's proxy)."""

    hearing_id: int
    spotlight: str | None
    now_hearing: dict[str, Any] | None
    admitted_offices: set[int]
    # The running recording as announced to every site (the `recording` event), or None.
    recording: dict[str, Any] | None

    @property
    def participants(self) -> Mapping[str, MediaParticipant]:
        """Everyone in the room, by participant id."""

    @property
    def joinable(self) -> bool:
        """Participants may still join."""

    @property
    def closed(self) -> bool:
        """The room is gone."""

    def new_participant(
        self,
        *,
        office_id: int,
        office_name: str,
        display_name: str,
        role: str,
        user_id: int | None,
        emit: Callable[[str, dict[str, Any]], Awaitable[None]],
        participant_id: str | None = None,
    ) -> Any:
        """A participant wired to this room (not yet joined)."""

    async def join(self, participant: Any) -> list[dict[str, Any]]:
        """Add it; everyone present, the newcomer included."""

    async def leave(self, participant_id: str, reason: str, *, by: Any = None) -> Any:
        """Take a participant out; it, or None if it was not here."""

    async def accept_offer(self, participant: Any, sdp: str) -> str:
        """Answer a participant's first offer."""

    async def set_mute(self, participant: Any, audio: bool, video: bool) -> None:
        """A participant's own mute state."""

    async def admit(self, participant: Any, by: Any) -> None:
        """Let a waiting participant in."""

    async def send_to_waiting(self, participant: Any, by: Any) -> None:
        """Back to the waiting room."""

    async def host_mute(self, participant: Any, audio: bool, by: Any) -> None:
        """Stop or resume forwarding a site's audio."""

    async def set_spotlight(self, participant_id: str | None) -> None:
        """Spotlight a participant, or nobody."""

    async def set_low_bandwidth(
        self, participant: Any, on: bool, reason: str, *, by: Any = None
    ) -> None:
        """A site's low-bandwidth mode on or off (reason: one of rooms.bandwidth's)."""

    async def set_now_hearing(self, heard: dict[str, Any]) -> None:
        """The petition being heard."""

    async def start_recording(
        self, recording_id: int, directory: str, by: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start recording the room into `directory`: {started_at} (Unix time of its zero)."""

    async def stop_recording(
        self, chapters: list[dict[str, Any]] | None = None, by: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Stop it once its files are finished: its manifest (rooms/recorder.py)."""

    async def end(self) -> list[Any]:
        """The hearing ended: everyone leaves, the room closes."""


class MediaBackend(Protocol):
    """Where rooms live: this process (RoomManager) or media workers (WorkerBackend)."""

    def get(self, hearing_id: int) -> MediaRoom | None:
        """The open room of a hearing, if any."""

    async def open_room(self, hearing_id: int, broadcast: Broadcast) -> MediaRoom:
        """The hearing's room, opened (and placed) on first use."""

    async def close_room(self, hearing_id: int) -> None:
        """Close a hearing's room."""

    def forget_hearing(self, hearing_id: int) -> None:
        """The hearing ended: forget its admissions."""

    async def start(self) -> None:
        """Start whatever the backend runs."""

    async def close(self) -> None:
        """Close every room and stop everything started."""

    def __len__(self) -> int:
        """Open rooms."""

"""One SFU room per live hearing: membership, who receives what, active speaker, session log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.contrib.media import MediaRelay

from hub.services.live import LiveGateway
from rooms.forwarder import Publication
from rooms.participant import MediaOptions, Participant

logger = logging.getLogger(__name__)

# Active-speaker decisions at most this often (the contract says at most ~3 events/s).
SPEAKER_INTERVAL = 0.35
# Quieter than this (dBov, averaged over an interval) is not speech.
SPEAKER_THRESHOLD_DBOV = -50

Broadcast = Callable[[str, dict[str, Any], "str | None"], Awaitable[None]]


class Room:
    """The live media of one hearing; every task it starts stops in close()."""

    def __init__(
        self,
        hearing_id: int,
        gateway: LiveGateway,
        options: MediaOptions,
        broadcast: Broadcast,
    ) -> None:
        self.hearing_id = hearing_id
        self.gateway = gateway
        self.options = options
        self.participants: dict[str, Participant] = {}
        self.active_speaker: str | None = None
        self._broadcast = broadcast
        self._relay = MediaRelay() if options.mode == "mediarelay" else None
        self._levels: dict[str, list[int]] = {}
        self._media_started: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._speaker_task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return self._closed

    def new_participant(
        self,
        *,
        office_id: int,
        office_name: str,
        display_name: str,
        role: str,
        user_id: int | None,
        emit: Callable[[str, dict[str, Any]], Awaitable[None]],
    ) -> Participant:
        """A participant wired to this room (not yet joined)."""
        participant = Participant(
            hearing_id=self.hearing_id,
            office_id=office_id,
            office_name=office_name,
            display_name=display_name,
            role=role,
            user_id=user_id,
            emit=emit,
            options=self.options,
            relay=self._relay,
        )
        participant.sources = self._sources_for
        participant.on_failed = self._on_failed
        participant.on_first_frame = self._on_first_frame
        participant.on_audio_level = self._on_audio_level
        return participant

    async def join(self, participant: Participant) -> list[dict[str, Any]]:
        """Add a participant; returns everyone present (the newcomer included)."""
        if self._closed:
            raise RuntimeError("room is closed")
        self.participants[participant.id] = participant
        if self._speaker_task is None:
            self._speaker_task = asyncio.get_running_loop().create_task(self._speaker_loop())
        logger.info(
            "hearing %s: participant %s joined (office %s)",
            self.hearing_id,
            participant.id,
            participant.office_id,
        )
        await self._record("participant_joined", participant)
        await self._broadcast(
            "participant_joined", {"participant": participant.describe()}, participant.id
        )
        return [p.describe() for p in self.participants.values()]

    async def accept_offer(self, participant: Participant, sdp: str) -> str:
        """Answer a participant's first offer, then offer its media to everyone else."""
        answer = await participant.accept_offer(sdp)
        for other in self.participants.values():
            if other is not participant and other.ready:
                other.request_renegotiation()
        return answer

    async def leave(self, participant_id: str, reason: str) -> None:
        """Remove a participant ("left" or "dropped") and renegotiate with the others."""
        participant = self.participants.pop(participant_id, None)
        if participant is None:
            return
        for other in self.participants.values():
            for publication in participant.publications.values():
                other.forget(publication)
            other.request_renegotiation()
        self._levels.pop(participant_id, None)
        await participant.close()
        logger.info("hearing %s: participant %s %s", self.hearing_id, participant_id, reason)
        kind = "participant_left" if reason == "left" else "participant_dropped"
        await self._record(kind, participant, {"reason": reason})
        if self.active_speaker == participant_id:
            self.active_speaker = None
        await self._broadcast(
            "participant_left", {"participant_id": participant_id, "reason": reason}, None
        )

    async def set_mute(self, participant: Participant, audio: bool, video: bool) -> None:
        """Record a participant's mute state and tell everyone."""
        participant.audio_muted = audio
        participant.video_muted = video
        await self._broadcast(
            "mute_state",
            {"participant_id": participant.id, "audio_muted": audio, "video_muted": video},
            None,
        )

    def _sources_for(self, participant: Participant) -> list[Publication]:
        return [
            publication
            for other in self.participants.values()
            if other is not participant and other.ready
            for publication in other.publications.values()
        ]

    def _on_failed(self, participant: Participant) -> None:
        self._spawn(self.leave(participant.id, "dropped"))

    def _on_first_frame(self, publication: Publication) -> None:
        participant = self.participants.get(publication.participant_id)
        if participant is None or participant.id in self._media_started:
            return
        self._media_started.add(participant.id)
        self._spawn(self._record("media_started", participant, {"kind": publication.kind}))

    def _on_audio_level(self, publication: Publication, level: int) -> None:
        self._levels.setdefault(publication.participant_id, []).append(level)

    async def _speaker_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(SPEAKER_INTERVAL)
            best: tuple[float, str] | None = None
            for participant_id, levels in self._levels.items():
                participant = self.participants.get(participant_id)
                if not levels or participant is None or participant.audio_muted:
                    continue
                average = sum(levels) / len(levels)
                if average >= SPEAKER_THRESHOLD_DBOV and (best is None or average > best[0]):
                    best = (average, participant_id)
            self._levels = {}
            if best is not None and best[1] != self.active_speaker:
                self.active_speaker = best[1]
                await self._broadcast(
                    "active_speaker",
                    {"participant_id": best[1], "level_dbov": round(best[0])},
                    None,
                )

    async def _record(
        self, kind: str, participant: Participant, detail: dict[str, Any] | None = None
    ) -> None:
        try:
            await self.gateway.record(
                self.hearing_id,
                kind,
                office_id=participant.office_id,
                user_id=participant.user_id,
                detail={"participant_id": participant.id, "at": time.time(), **(detail or {})},
            )
        except Exception:
            # The session log must not take the media down with it.
            logger.exception("hearing %s: could not record %s", self.hearing_id, kind)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Drop every participant and stop every task of the room."""
        if self._closed:
            return
        self._closed = True
        if self._speaker_task is not None:
            self._speaker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._speaker_task
        for participant in list(self.participants.values()):
            self.participants.pop(participant.id, None)
            await participant.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        logger.info("hearing %s: room closed", self.hearing_id)

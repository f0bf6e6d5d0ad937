"""One SFU room per live hearing: membership and admission, who receives what, host controls,
active speaker, connection quality, session log."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiortc.contrib.media import MediaRelay

from hub.domain.sessionlog import LogKind
from hub.services.live import LiveGateway
from rooms import bandwidth
from rooms.bandwidth import BandwidthGuard
from rooms.forwarder import Publication
from rooms.participant import MediaOptions, Participant
from rooms.quality import QUALITY_INTERVAL, Quality
from rooms.recorder import Chapter, Recorder

logger = logging.getLogger(__name__)

# Active-speaker decisions at most this often (the contract says at most ~3 events/s).
SPEAKER_INTERVAL = 0.35
# Quieter than this (dBov, averaged over an interval) is not speech.
SPEAKER_THRESHOLD_DBOV = -50

Broadcast = Callable[[str, dict[str, Any], "str | None"], Awaitable[None]]
# Told when a participant joins, is admitted, is sent to the waiting room or leaves
# ("joined" | "admitted" | "waiting" | "left"): the signaling side keeps its sessions and the
# operators' site board in step, including for drops the room detects itself.
StateHook = Callable[[Participant, str], Awaitable[None]]
QualityHook = Callable[[Participant, Quality], Awaitable[None]]
# Told once the room's last participant is gone (left, dropped, removed): its owner closes it.
EmptyHook = Callable[["Room"], Awaitable[None]]


class RoomClosed(RuntimeError):
    """The room is ending or closed: nobody joins it any more."""


class RecordingConflict(RuntimeError):
    """A recording is already running (start) or none is (stop)."""


# How long closing a room waits for its recording's files to be finished; past it the writer
# thread finishes them on its own (the process waits for it at exit).
RECORDING_CLOSE_WAIT = 10.0


async def ignore_state(_participant: Participant, _change: str) -> None:
    """The default StateHook: nobody is told."""


# Quality samples in a row with nothing received before a site counts as dropped (with the
# interval of rooms.quality: 4-6 s after its last packet).
MEDIA_LOST_AFTER = 2
# The room's ear on each site that has sent frames (audio every 20 ms, even muted; video): no
# frame for this long and the others see it reconnecting, for this long and it is dropped.
# Checked every LINK_CHECK_EVERY seconds: a cut is seen in 3-3.5 s, whatever the heartbeat.
LINK_CHECK_EVERY = 0.5
RECONNECTING_AFTER = 1.5
SILENT_DROP_AFTER = 3.0
# The same for an admitted site never heard from at all (its connection never came up: UDP
# blocked, say); its first join and ICE take a second or two, over a relay a few more.
NEVER_CONNECTED_AFTER = 5


async def ignore_quality(_participant: Participant, _quality: Quality) -> None:
    """The default QualityHook: nobody is told."""


async def ignore_empty(_room: Room) -> None:
    """The default EmptyHook: the room stays open."""


class Room:
    """The live media of one hearing; every task it starts stops in close()."""

    def __init__(
        self,
        hearing_id: int,
        gateway: LiveGateway,
        options: MediaOptions,
        broadcast: Broadcast,
        *,
        admitted_offices: set[int] | None = None,
        on_state: StateHook = ignore_state,
        on_quality: QualityHook = ignore_quality,
        on_empty: EmptyHook = ignore_empty,
        quality_interval: float = QUALITY_INTERVAL,
        echo: bool = False,
    ) -> None:
        self.hearing_id = hearing_id
        # A self-test room (rooms.self_test): each participant receives its own media back,
        # and nothing is written to a session log (there is no hearing).
        self.echo = echo
        self.gateway = gateway
        self.options = options
        self.participants: dict[str, Participant] = {}
        self.active_speaker: str | None = None
        self.spotlight: str | None = None
        # The petition being heard (the now_hearing payload), for sites that join later.
        self.now_hearing: dict[str, Any] | None = None
        # Offices a moderator admitted while the hearing was live: they rejoin without waiting.
        # Owned by the RoomManager so it outlives a room that emptied after a network drop.
        self.admitted_offices = admitted_offices if admitted_offices is not None else set()
        # Participant id -> quality samples in a row in which the hub received nothing at all.
        self._silent: dict[str, int] = {}
        # Offices in low-bandwidth mode -> why: a site that drops and rejoins (a thin link
        # drops sockets too) comes back in the mode rather than at full video.
        self.low_bandwidth_offices: dict[int, str] = {}
        # Office id -> the low-bandwidth decision on its site's link, kept over a drop and
        # rejoin (a thin link drops the socket too: its bad spell must not start over).
        self._bandwidth: dict[int, BandwidthGuard] = {}
        self._bandwidth_policy = dataclasses.replace(options.bandwidth, interval=quality_interval)
        # Participants the others were told are reconnecting (participant_link).
        self._reconnecting: set[str] = set()
        self._link_task: asyncio.Task[None] | None = None
        self._broadcast = broadcast
        self._on_state = on_state
        self._on_quality = on_quality
        self._on_empty = on_empty
        self._quality_interval = quality_interval
        self._relay = MediaRelay() if options.mode == "mediarelay" else None
        self._levels: dict[str, list[int]] = {}
        self._media_started: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._speaker_task: asyncio.Task[None] | None = None
        self._quality_task: asyncio.Task[None] | None = None
        self._ending = False
        self._closed = False
        # The running recording (rooms/recorder.py), and what every site was told of it.
        self.recorder: Recorder | None = None
        self.recording: dict[str, Any] | None = None

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return self._closed

    @property
    def joinable(self) -> bool:
        """Neither ending nor closed: participants may still join."""
        return not (self._ending or self._closed)

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
            participant_id=participant_id,
        )
        participant.sources = self._sources_for
        participant.on_failed = self._on_failed
        participant.on_first_frame = self._on_first_frame
        participant.on_audio_level = self._on_audio_level
        participant.on_publication = lambda publication: self._record_publication(
            participant, publication
        )
        return participant

    async def join(self, participant: Participant) -> list[dict[str, Any]]:
        """Add a participant (its state already decided); returns everyone present, the
        newcomer included. A waiting participant receives and sends nothing until admitted.
        RoomClosed once the room is ending or closed (a join racing the end of the hearing)."""
        if not self.joinable:
            raise RoomClosed(f"hearing {self.hearing_id} is over; its room is closing")
        self.participants[participant.id] = participant
        if participant.admitted:
            self.admitted_offices.add(participant.office_id)
        kept = self.low_bandwidth_offices.get(participant.office_id)
        if kept is not None:
            participant.low_bandwidth = True
            participant.low_bandwidth_reason = kept
        loop = asyncio.get_running_loop()
        if self._speaker_task is None:
            self._speaker_task = loop.create_task(self._speaker_loop())
        if self._link_task is None:
            self._link_task = loop.create_task(self._link_loop())
        if self._quality_task is None:
            self._quality_task = loop.create_task(self._quality_loop())
        logger.info(
            "hearing %s: participant %s joined (office %s, %s)",
            self.hearing_id,
            participant.id,
            participant.office_id,
            participant.state,
        )
        await self._record(LogKind.PARTICIPANT_JOINED, participant, {"state": participant.state})
        await self._broadcast(
            "participant_joined", {"participant": participant.describe()}, participant.id
        )
        await self._on_state(participant, "joined")
        return [p.describe() for p in self.participants.values()]

    async def admit(self, participant: Participant, by: Participant) -> None:
        """Let a waiting participant in: media flows both ways after the next offers."""
        if participant.admitted:
            return
        participant.state = "admitted"
        self.admitted_offices.add(participant.office_id)
        self._renegotiate_all()
        logger.info(
            "hearing %s: participant %s admitted by %s", self.hearing_id, participant.id, by.id
        )
        await self._record(LogKind.PARTICIPANT_ADMITTED, participant, by=by)
        await participant.emit("admitted", {"hearing_id": self.hearing_id})
        await self._broadcast("participant_state", participant.describe_state(), None)
        await self._on_state(participant, "admitted")

    async def send_to_waiting(self, participant: Participant, by: Participant) -> None:
        """Back to the waiting room: its media stops both ways at once."""
        if not participant.admitted:
            return
        participant.state = "waiting"
        self.admitted_offices.discard(participant.office_id)
        self._withdraw(participant)
        self._levels.pop(participant.id, None)
        logger.info(
            "hearing %s: participant %s sent to the waiting room by %s",
            self.hearing_id,
            participant.id,
            by.id,
        )
        await self._record(LogKind.PARTICIPANT_SENT_TO_WAITING, participant, by=by)
        await participant.emit("waiting", {"hearing_id": self.hearing_id})
        await self._broadcast("participant_state", participant.describe_state(), None)
        await self._clear_spotlight(participant.id)
        await self._on_state(participant, "waiting")

    async def host_mute(self, participant: Participant, audio: bool, by: Participant) -> None:
        """The host stops (audio=True) or resumes forwarding a site's audio; the site is told."""
        if participant.muted_by_host == audio:
            return
        participant.set_host_mute(audio)
        if audio:
            self._levels.pop(participant.id, None)
        logger.info(
            "hearing %s: participant %s %s by %s",
            self.hearing_id,
            participant.id,
            "muted" if audio else "unmuted",
            by.id,
        )
        await self._record(LogKind.PARTICIPANT_MUTED, participant, {"audio": audio}, by=by)
        await participant.emit("muted_by_host", {"audio": audio})
        await self._broadcast("participant_state", participant.describe_state(), None)

    async def set_spotlight(self, participant_id: str | None) -> None:
        """Spotlight a participant (or nobody) and tell everyone."""
        if participant_id is not None and participant_id not in self.participants:
            raise KeyError(participant_id)
        changed = participant_id != self.spotlight
        self.spotlight = participant_id
        if changed:
            # Sites in low-bandwidth mode receive the spotlit site's video and no other.
            for other in self.participants.values():
                if other.low_bandwidth and other.ready:
                    other.request_renegotiation()
        await self._broadcast("spotlight", {"participant_id": participant_id}, None)

    async def set_low_bandwidth(
        self, participant: Participant, on: bool, reason: str, *, by: Participant | None = None
    ) -> None:
        """Low-bandwidth mode on or off for a site: while on it receives every site's audio and
        the spotlit site's video only (its other video slots are emptied at the next offer, and
        filled again, each starting on a keyframe, once it is off). Everyone is told
        (participant_mode) and the session log keeps it. `reason` is one of rooms.bandwidth's;
        a moderator's or operator's "on" holds until one of them switches it off, while
        switching it off hands the site back to the automatic decision."""
        if participant.id not in self.participants:
            raise KeyError(participant.id)
        if participant.low_bandwidth == on:
            if on and reason in bandwidth.MANUAL:
                # Kept on by hand from now on, even once the link is good.
                participant.low_bandwidth_reason = reason
                self.low_bandwidth_offices[participant.office_id] = reason
            return
        participant.low_bandwidth = on
        participant.low_bandwidth_reason = reason if on else None
        if on:
            self.low_bandwidth_offices[participant.office_id] = reason
        else:
            self.low_bandwidth_offices.pop(participant.office_id, None)
        guard = self._bandwidth.get(participant.office_id)
        if guard is not None and reason in bandwidth.MANUAL:
            guard.reset(on)
        if participant.ready:
            participant.request_renegotiation()
        logger.info(
            "hearing %s: participant %s low-bandwidth %s (%s)",
            self.hearing_id,
            participant.id,
            "on" if on else "off",
            reason,
        )
        await self._record(
            LogKind.CONNECTIVITY,
            participant,
            {"event": "low_bandwidth_on" if on else "low_bandwidth_off", "reason": reason},
            by=by,
        )
        await self._broadcast(
            "participant_mode",
            {"participant_id": participant.id, "low_bandwidth": on, "reason": reason},
            None,
        )

    async def set_now_hearing(self, heard: dict[str, Any]) -> None:
        """Tell everyone which petition is being heard (heard_to set: no longer)."""
        self.now_hearing = heard if heard.get("heard_to") is None else None
        if self.recorder is not None:
            chapter = chapter_of(heard, self.recorder.started_at)
            if chapter is not None:
                self.recorder.mark(chapter)
        await self._broadcast("now_hearing", heard, None)

    # -- recording --------------------------------------------------------------------------

    async def start_recording(
        self, recording_id: int, directory: str, by: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start writing every admitted site's forwarded frames (rooms/recorder.py) and tell
        everyone; returns the recording's start (Unix time of its zero)."""
        if not self.joinable:
            raise RoomClosed(f"hearing {self.hearing_id} is over; its room is closing")
        if self.recorder is not None:
            raise RecordingConflict(f"hearing {self.hearing_id} is already being recorded")
        recorder = Recorder(recording_id, self.hearing_id, Path(directory))
        recorder.start()
        self.recorder = recorder
        for participant in self.participants.values():
            for publication in participant.publications.values():
                self._record_publication(participant, publication)
        if self.now_hearing is not None:
            chapter = chapter_of(self.now_hearing, recorder.started_at)
            if chapter is not None:
                recorder.mark(chapter)
        self.recording = {
            "hearing_id": self.hearing_id,
            "recording": True,
            "recording_id": recording_id,
            "started_at": recorder.started_at,
            "by": (by or {}).get("name"),
        }
        await self._broadcast("recording", self.recording, None)
        return {"started_at": recorder.started_at}

    async def stop_recording(
        self, chapters: list[dict[str, Any]] | None = None, by: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Stop the recording, finish its files (off the loop) and tell everyone; returns its
        manifest. `chapters` ({title, start, end, petition_id}, seconds from the start) come
        from the records side; None: the petitions this room saw heard."""
        recorder = self.recorder
        if recorder is None:
            raise RecordingConflict(f"hearing {self.hearing_id} is not being recorded")
        self.recorder = None
        told = {
            "hearing_id": self.hearing_id,
            "recording": False,
            "recording_id": recorder.recording_id,
            "started_at": recorder.started_at,
            "by": (by or {}).get("name"),
        }
        self.recording = None
        marks = None if chapters is None else [Chapter(**c) for c in chapters]
        try:
            manifest = await recorder.stop(marks)
        finally:
            if not self._closed:
                await self._broadcast("recording", told, None)
        return manifest

    def _record_publication(self, participant: Participant, publication: Publication) -> None:
        """Hand a publication to the running recorder. The hook: the recorder adds a frame sink
        (Publication.add_frame_sink, rooms/forwarder.py: the receiver's reassembled encoded
        frames in either forwarding mode); a participant in the waiting room, or held by the
        host, is skipped frame by frame."""
        if self.recorder is None or self.echo:
            return
        self.recorder.attach(
            publication,
            participant.office_id,
            participant.office_name,
            lambda: participant.admitted and participant.id in self.participants,
        )

    async def accept_offer(self, participant: Participant, sdp: str) -> str:
        """Answer a participant's first offer, then offer its media to everyone else."""
        answer = await participant.accept_offer(sdp)
        for other in self.participants.values():
            if other is not participant and other.ready:
                other.request_renegotiation()
        return answer

    async def leave(
        self, participant_id: str, reason: str, *, by: Participant | None = None
    ) -> Participant | None:
        """Take a participant out ("left", "dropped", "removed" by a moderator, "revoked" when
        its grounds went (signed out, office no longer invited), or "ended") and renegotiate
        with the others; returns it, or None if it was not here."""
        participant = self.participants.pop(participant_id, None)
        if participant is None:
            return None
        self._withdraw(participant)
        self._levels.pop(participant_id, None)
        if self.recorder is not None:
            for publication in participant.publications.values():
                self.recorder.detach(publication)
        await participant.close()
        logger.info("hearing %s: participant %s %s", self.hearing_id, participant_id, reason)
        kind = {
            "left": LogKind.PARTICIPANT_LEFT,
            "ended": LogKind.PARTICIPANT_LEFT,
            "removed": LogKind.PARTICIPANT_REMOVED,
            "revoked": LogKind.PARTICIPANT_REMOVED,
        }.get(reason, LogKind.PARTICIPANT_DROPPED)
        if reason in ("removed", "revoked"):
            # Its next join waits for a moderator again.
            self.admitted_offices.discard(participant.office_id)
        self._silent.pop(participant_id, None)
        if reason != "dropped":
            # Left on purpose (or removed): its next join starts afresh, at full video.
            self.low_bandwidth_offices.pop(participant.office_id, None)
            self._bandwidth.pop(participant.office_id, None)
        self._reconnecting.discard(participant_id)
        await self._record(kind, participant, {"reason": reason}, by=by)
        if self.active_speaker == participant_id:
            self.active_speaker = None
        if reason != "ended":
            told = "removed" if reason == "revoked" else reason
            await self._broadcast(
                "participant_left", {"participant_id": participant_id, "reason": told}, None
            )
            await self._clear_spotlight(participant_id)
        await self._on_state(participant, "left")
        if not self.participants and not self._closed and not self._ending:
            # The last one is gone (a drop the room saw itself included): nothing left to
            # forward, measure or pick a speaker from.
            await self._on_empty(self)
        return participant

    async def end(self) -> list[Participant]:
        """The hearing ended: everyone leaves (logged), then the room closes."""
        self._ending = True  # nobody renegotiates or counts as dropped from here on
        gone = []
        for participant_id in list(self.participants):
            participant = await self.leave(participant_id, "ended")
            if participant is not None:
                gone.append(participant)
        self.admitted_offices.clear()
        await self.close()
        return gone

    async def set_mute(self, participant: Participant, audio: bool, video: bool) -> None:
        """Record a participant's own mute state and tell everyone."""
        participant.audio_muted = audio
        participant.video_muted = video
        await self._broadcast(
            "mute_state",
            {"participant_id": participant.id, "audio_muted": audio, "video_muted": video},
            None,
        )
        await self._broadcast("participant_state", participant.describe_state(), None)

    def _withdraw(self, participant: Participant) -> None:
        """Stop forwarding to and from a participant now; everyone's next offer follows."""
        participant.forget_all()
        for other in self.participants.values():
            if other is participant:
                continue
            for publication in participant.publications.values():
                other.forget(publication)
        self._renegotiate_all()

    def _renegotiate_all(self) -> None:
        if self._ending:
            return
        for participant in self.participants.values():
            if participant.ready:
                participant.request_renegotiation()

    async def _clear_spotlight(self, participant_id: str) -> None:
        if self.spotlight == participant_id:
            await self.set_spotlight(None)

    def _sources_for(self, participant: Participant) -> list[Publication]:
        # The waiting room: a waiting participant neither receives nor is received.
        if not participant.admitted:
            return []
        if self.echo:
            # The hub sends the site's own encoded frames straight back (its test call
            # crosses the network both ways and the hub's forwarding, as a hearing's would).
            return list(participant.publications.values()) if participant.ready else []
        return [
            publication
            for other in self.participants.values()
            if other is not participant and other.ready and other.admitted
            for publication in other.publications.values()
            if not participant.low_bandwidth
            or publication.kind == "audio"
            or other.id == self.spotlight
        ]

    def _on_failed(self, participant: Participant) -> None:
        if self._ending:
            return
        self._spawn(self.media_lost(participant))

    def _on_first_frame(self, publication: Publication) -> None:
        participant = self.participants.get(publication.participant_id)
        if participant is None or participant.id in self._media_started:
            return
        self._media_started.add(participant.id)
        self._spawn(self._record("media_started", participant, {"kind": publication.kind}))

    def _on_audio_level(self, publication: Publication, level: int) -> None:
        self._levels.setdefault(publication.participant_id, []).append(level)

    async def _link_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(LINK_CHECK_EVERY)
            for participant in list(self.participants.values()):
                heard = [
                    p.last_frame_at
                    for p in participant.publications.values()
                    if p.last_frame_at is not None
                ]
                if not participant.admitted or not heard:
                    continue  # a site never heard from is the quality samples' business
                silence = time.monotonic() - max(heard)  # the forwarder's clock
                if silence >= SILENT_DROP_AFTER:
                    await self.media_lost(participant)
                elif silence >= RECONNECTING_AFTER:
                    self._link(participant, "reconnecting")
                elif participant.id in self._reconnecting:
                    self._link(participant, "connected")

    async def _speaker_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(SPEAKER_INTERVAL)
            best: tuple[float, str] | None = None
            for participant_id, levels in self._levels.items():
                participant = self.participants.get(participant_id)
                if (
                    not levels
                    or participant is None
                    or participant.audio_muted
                    or participant.muted_by_host
                    or not participant.admitted
                ):
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

    async def _quality_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._quality_interval)
            for participant in list(self.participants.values()):
                if participant.pc is None or participant.id not in self.participants:
                    continue
                try:
                    video = participant.publications.get("video")
                    quality = await participant.quality.sample(
                        participant.pc,
                        frames=video.frames if video is not None else 0,
                        keyframe_requests=video.keyframe_requests_sent if video else 0,
                    )
                except Exception:
                    logger.debug("participant %s: getStats failed", participant.id, exc_info=True)
                    continue
                if quality is None or participant.id not in self.participants:
                    continue
                await self._on_quality(participant, quality)
                if self._media_lost(participant, quality):
                    await self.media_lost(participant)
                    continue
                await self._judge_bandwidth(participant, quality)

    async def _judge_bandwidth(self, participant: Participant, quality: Quality) -> None:
        """Feed a sample to the site's low-bandwidth decision and apply what it decides; a
        mode set by hand is left alone."""
        if not participant.admitted or self._ending:
            return
        guard = self._bandwidth.get(participant.office_id)
        if guard is None:
            guard = BandwidthGuard(self._bandwidth_policy, on=participant.low_bandwidth)
            self._bandwidth[participant.office_id] = guard
        if participant.low_bandwidth_reason in bandwidth.MANUAL:
            return
        change = guard.observe(quality)
        logger.debug(
            "participant %s: %s (bad %s, good %s)", participant.id, quality, guard.bad, guard.good
        )
        if change is None or participant.id not in self.participants:
            return
        await self.set_low_bandwidth(
            participant, change, bandwidth.BAD_LINK if change else bandwidth.RECOVERED
        )

    def _media_lost(self, participant: Participant, quality: Quality) -> bool:
        """Whether an admitted site has sent nothing at all (no media, no RTCP) for
        MEDIA_LOST_AFTER samples in a row (NEVER_CONNECTED_AFTER if never heard from): its
        path is gone even if its socket holds (aiortc's consent check gives up after ~30 s)."""
        if not participant.admitted or quality.bitrate_kbps is None:
            return False
        silent = self._silent.get(participant.id)
        if quality.bitrate_kbps > 0:
            self._silent[participant.id] = 0
            return False
        # Never heard from since admitted: its connection gets a longer while to come up.
        start = MEDIA_LOST_AFTER - NEVER_CONNECTED_AFTER
        self._silent[participant.id] = (start if silent is None else silent) + 1
        return self._silent[participant.id] >= MEDIA_LOST_AFTER

    def _link(self, participant: Participant, state: str) -> None:
        if (state == "reconnecting") == (participant.id in self._reconnecting):
            return  # told already
        if state == "reconnecting":
            self._reconnecting.add(participant.id)
        else:
            self._reconnecting.discard(participant.id)
        self._spawn(
            self._broadcast(
                "participant_link", {"participant_id": participant.id, "state": state}, None
            )
        )

    async def media_lost(self, participant: Participant) -> None:
        """A site's media path is gone: the others see it drop at once instead of a frozen
        tile, and it is told to join again with a new peer connection (aiortc has no ICE
        restart) once it is out, so that its new join finds its socket free."""
        if participant.id not in self.participants:
            return
        logger.info(
            "hearing %s: participant %s lost its media path", self.hearing_id, participant.id
        )
        await self.leave(participant.id, "dropped")
        try:
            await participant.emit(
                "media_reset", {"hearing_id": self.hearing_id, "reason": "media_lost"}
            )
        except Exception:  # its socket is gone too: it rejoins once that is back
            logger.info(
                "hearing %s: could not tell %s", self.hearing_id, participant.id, exc_info=True
            )

    async def _record(
        self,
        kind: str,
        participant: Participant,
        detail: dict[str, Any] | None = None,
        *,
        by: Participant | None = None,
    ) -> None:
        """Log an event about a participant: office = the site it concerns; user = whoever did
        it (the moderator for admitted/muted/removed, the site's own user otherwise)."""
        if self.echo:
            return  # a self-test belongs to no hearing: its result is kept by the API instead
        extra: dict[str, Any] = {"participant_id": participant.id, "at": time.time()}
        if by is not None:
            extra.update(
                by_participant_id=by.id,
                by_office_id=by.office_id,
                site_user_id=participant.user_id,
            )
        try:
            await self.gateway.record(
                self.hearing_id,
                kind,
                office_id=participant.office_id,
                user_id=by.user_id if by is not None else participant.user_id,
                detail={**extra, **(detail or {})},
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
        recorder, self.recorder, self.recording = self.recorder, None, None
        if recorder is not None:
            # Nobody asked to stop (the hearing ended, the room emptied, the hub stops): the
            # files are finished with the room's own chapters and manifest.json tells the
            # records side (hub.services.recordings reconciles it).
            try:
                await asyncio.wait_for(asyncio.shield(recorder.stop(None)), RECORDING_CLOSE_WAIT)
            except Exception:
                logger.exception("hearing %s: recording not finished on close", self.hearing_id)
        for loop_task in (self._speaker_task, self._quality_task, self._link_task):
            if loop_task is not None and loop_task is not asyncio.current_task():
                loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop_task
        for participant in list(self.participants.values()):
            self.participants.pop(participant.id, None)
            await participant.close()
            # Whoever keeps state per participant (signaling's sessions) must hear of it.
            try:
                await self._on_state(participant, "left")
            except Exception:
                logger.exception("hearing %s: state hook failed on close", self.hearing_id)
        # close() may run inside one of the room's own tasks (a drop that emptied the room).
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        logger.info("hearing %s: room closed", self.hearing_id)


def chapter_of(heard: dict[str, Any], started_at: float) -> Chapter | None:
    """A now_hearing payload (ISO times) as a chapter of a recording started at `started_at`."""
    start = heard.get("heard_from")
    if not start:
        return None
    end = heard.get("heard_to")
    return Chapter(
        title=str(heard.get("case_code") or heard.get("petition_id")),
        start=datetime.fromisoformat(start).timestamp() - started_at,
        end=datetime.fromisoformat(end).timestamp() - started_at if end else None,
        petition_id=heard.get("petition_id"),
    )

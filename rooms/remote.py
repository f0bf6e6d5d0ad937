"""The node's side of media workers: rooms placed on the least-loaded worker, requests relayed
to it, its events brought back, and a room placed again when its worker dies.

A RemoteRoom is the node's view of a room that lives on a worker: a mirror of its participants
(kept from the worker's state events), its spotlight and petition, and the calls signaling makes,
each a request over the channel. Admissions are remembered here, on the node, so that a room
placed again on another worker keeps them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from hub.domain.sessionlog import LogKind
from hub.services.live import LiveGateway
from rooms.backend import Broadcast
from rooms.channel import Channel, LocalChannel, Message, WorkerLoad, worker_address
from rooms.participant import NegotiationError
from rooms.quality import Quality
from rooms.room import RoomClosed
from rooms.self_test import is_self_test_room

logger = logging.getLogger(__name__)

# A request the worker has not answered in this long fails (the worker is likely gone).
REQUEST_TIMEOUT = 15.0
# Stopping a recording remuxes its files on the worker first (minutes for hours of video).
RECORDING_STOP_TIMEOUT = 900.0
# How long a join waits for a first live worker (local children are still starting).
WAIT_FOR_WORKER = 20.0
MONITOR_EVERY = 0.5
MAX_REMEMBERED_HEARINGS = 1000

StateHook = Callable[[Any, str], Awaitable[None]]
QualityHook = Callable[[Any, Quality], Awaitable[None]]
EmitTo = Callable[[str, str, dict[str, Any]], Awaitable[None]]
MovedHook = Callable[["RemoteRoom"], Awaitable[None]]


class RemoteParticipant:
    """A participant of a room on a worker, as the node knows it."""

    def __init__(self, room: RemoteRoom, described: dict[str, Any]) -> None:
        self.room = room
        self.id = str(described["participant_id"])
        self.hearing_id = room.hearing_id
        self.office_id = int(described["office_id"])
        self.office_name = str(described["office_name"])
        self.display_name = str(described.get("display_name", ""))
        self.role = str(described.get("role", ""))
        self.user_id: int | None = described.get("user_id")
        self.state = str(described.get("state", "admitted"))

    @property
    def admitted(self) -> bool:
        """In the room proper."""
        return self.state == "admitted"

    async def accept_answer(self, sdp: str, revision: int) -> None:
        """Relay the answer to the worker."""
        await self.room.call("answer", participant_id=self.id, sdp=sdp, revision=revision)

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        """Relay a trickled candidate to the worker."""
        await self.room.call("candidate", participant_id=self.id, candidate=candidate)

    async def close(self) -> None:
        """Nothing is held on the node."""


class RemoteRoom:
    """A hearing's room living on a worker."""

    def __init__(
        self,
        backend: WorkerBackend,
        hearing_id: int,
        worker_id: str,
        broadcast: Broadcast,
        admitted_offices: set[int],
    ) -> None:
        self.backend = backend
        self.hearing_id = hearing_id
        self.worker_id = worker_id
        self.broadcast = broadcast
        self.admitted_offices = admitted_offices
        self.spotlight: str | None = None
        self.now_hearing: dict[str, Any] | None = None
        # The running recording as the worker announced it (the `recording` event), or None.
        self.recording: dict[str, Any] | None = None
        # A self-test's room (rooms.self_test): the worker echoes its participant's media.
        self.self_test = is_self_test_room(hearing_id)
        self._participants: dict[str, RemoteParticipant] = {}
        self._closed = False

    @property
    def participants(self) -> dict[str, RemoteParticipant]:
        """The mirror of the worker's participants."""
        return self._participants

    @property
    def joinable(self) -> bool:
        """Not closed (nor moved away from a dead worker)."""
        return not self._closed

    @property
    def closed(self) -> bool:
        """Closed, or its worker died."""
        return self._closed

    async def call(self, op: str, *, reply_within: float = REQUEST_TIMEOUT, **args: Any) -> Any:
        """One request to the room's worker."""
        return await self.backend.call(
            self.worker_id, op, reply_within=reply_within, hearing_id=self.hearing_id, **args
        )

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
    ) -> RemoteParticipant:
        """A participant to join; its events reach its socket through the node (not `emit`)."""
        return RemoteParticipant(
            self,
            {
                "participant_id": participant_id or uuid.uuid4().hex[:12],
                "office_id": office_id,
                "office_name": office_name,
                "display_name": display_name,
                "role": role,
                "user_id": user_id,
            },
        )

    async def join(self, participant: RemoteParticipant) -> list[dict[str, Any]]:
        """Join on the worker; the ack's participant list comes from it."""
        sid = self.backend.sid_of(participant.id)
        result = await self.call(
            "join",
            participant_id=participant.id,
            sid=sid,
            office_id=participant.office_id,
            office_name=participant.office_name,
            display_name=participant.display_name,
            role=participant.role,
            user_id=participant.user_id,
            state=participant.state,
            admitted_offices=sorted(self.admitted_offices),
        )
        for described in result["participants"]:
            pid = str(described["participant_id"])
            if pid == participant.id:
                self._participants[pid] = participant
            elif pid not in self._participants:
                self._participants[pid] = RemoteParticipant(self, described)
        self.spotlight = result.get("spotlight")
        self.now_hearing = result.get("now_hearing")
        self.admitted_offices.update(result.get("admitted_offices", ()))
        return list(result["participants"])

    async def leave(self, participant_id: str, reason: str, *, by: Any = None) -> Any:
        """Out of the room on the worker; nothing to do once the room is closed (the hub
        shutting down, the hearing over, or the worker gone: asking would only wait for
        REQUEST_TIMEOUT, socket after socket, at a restart)."""
        if self._closed:
            return None
        gone = await self.call(
            "leave",
            participant_id=participant_id,
            reason=reason,
            by=by.id if by is not None else None,
        )
        return self._participants.get(participant_id) if gone else None

    async def accept_offer(self, participant: Any, sdp: str) -> str:
        """The worker answers the offer."""
        return str(await self.call("offer", participant_id=participant.id, sdp=sdp))

    async def set_mute(self, participant: Any, audio: bool, video: bool) -> None:
        """Own mute, on the worker."""
        await self.call("mute", participant_id=participant.id, audio=audio, video=video)

    async def admit(self, participant: Any, by: Any) -> None:
        """Admit on the worker."""
        await self.call("admit", participant_id=participant.id, by=by.id)

    async def send_to_waiting(self, participant: Any, by: Any) -> None:
        """Back to the waiting room, on the worker."""
        await self.call("send_to_waiting", participant_id=participant.id, by=by.id)

    async def host_mute(self, participant: Any, audio: bool, by: Any) -> None:
        """Host mute, on the worker."""
        await self.call("host_mute", participant_id=participant.id, audio=audio, by=by.id)

    async def set_spotlight(self, participant_id: str | None) -> None:
        """Spotlight, on the worker (which tells everyone)."""
        await self.call("spotlight", participant_id=participant_id)

    async def set_low_bandwidth(
        self, participant: Any, on: bool, reason: str, *, by: Any = None
    ) -> None:
        """Low-bandwidth mode, on the worker (which tells everyone)."""
        await self.call(
            "low_bandwidth",
            participant_id=participant.id,
            on=on,
            reason=reason,
            by=by.id if by is not None else None,
        )

    async def set_now_hearing(self, heard: dict[str, Any]) -> None:
        """The petition being heard, on the worker."""
        await self.call("now_hearing", heard=heard)

    async def start_recording(
        self, recording_id: int, directory: str, by: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start recording on the worker (it writes to `directory`, shared storage for a
        worker on another machine)."""
        result: dict[str, Any] = await self.call(
            "record_start", recording_id=recording_id, directory=directory, by=by
        )
        return result

    async def stop_recording(
        self, chapters: list[dict[str, Any]] | None = None, by: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Stop it on the worker; waits for its files to be finished (the manifest)."""
        result: dict[str, Any] = await self.call(
            "record_stop", reply_within=RECORDING_STOP_TIMEOUT, chapters=chapters, by=by
        )
        return result

    async def end(self) -> list[Any]:
        """The hearing ended: the worker takes everyone out and closes the room."""
        gone = list(self._participants.values())
        await self.call("end")
        self._closed = True
        return gone

    # -- the worker's events ----------------------------------------------------------------

    def observe(self, event: str, data: dict[str, Any]) -> None:
        """Keep the mirror in step with what the worker broadcasts."""
        if event == "spotlight":
            self.spotlight = data.get("participant_id")
        elif event == "now_hearing":
            self.now_hearing = data if data.get("heard_to") is None else None
        elif event == "recording":
            self.recording = data if data.get("recording") else None

    def apply_state(self, described: dict[str, Any], change: str) -> RemoteParticipant:
        """A state event from the worker: the mirror follows; returns the participant."""
        pid = str(described["participant_id"])
        participant = self._participants.get(pid) or RemoteParticipant(self, described)
        participant.state = str(described.get("state", participant.state))
        if change == "left":
            self._participants.pop(pid, None)
        else:
            self._participants[pid] = participant
        return participant

    def mark_closed(self) -> None:
        """The room is gone (ended, emptied, or its worker died)."""
        self._closed = True


class LocalWorkers:
    """The media worker child processes of one node; a child that exits is started again."""

    def __init__(self, count: int, node_id: str, worker_args: list[str]) -> None:
        self.count = count
        self.node_id = node_id
        self.worker_args = worker_args
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    async def start(self) -> None:
        """Spawn every child (each keeps itself alive through its own task)."""
        loop = asyncio.get_running_loop()
        for index in range(self.count):
            worker_id = f"{self.node_id}-{index}"
            self._tasks.append(loop.create_task(self._keep(worker_id)))

    async def _keep(self, worker_id: str) -> None:
        for attempt in itertools.count():
            if attempt:
                await asyncio.sleep(1.0)
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hub.cli",
                "media-worker",
                "--worker-id",
                worker_id,
                "--parent-pid",
                str(os.getpid()),
                *self.worker_args,
            )
            self.processes[worker_id] = process
            code = await process.wait()
            if self._closing:
                return
            logger.warning("media worker %s exited (%s); starting it again", worker_id, code)

    async def close(self) -> None:
        """Stop the children (terminate, then kill after 5 s)."""
        self._closing = True
        for process in self.processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class WorkerBackend:
    """MediaBackend whose rooms live on media workers reached through a Channel."""

    def __init__(
        self,
        channel: Channel,
        gateway: LiveGateway,
        *,
        on_state: StateHook,
        on_quality: QualityHook,
        emit_to: EmitTo,
        sid_of: Callable[[str], str | None],
        on_moved: MovedHook,
        local: LocalWorkers | None = None,
    ) -> None:
        self.channel = channel
        self.gateway = gateway
        self.on_state = on_state
        self.on_quality = on_quality
        self.emit_to = emit_to
        self._sid_of = sid_of
        self.on_moved = on_moved
        self.local = local
        self._rooms: dict[int, RemoteRoom] = {}
        self._admitted: OrderedDict[int, set[int]] = OrderedDict()
        # hearing id -> the worker that died under it, until the room is placed again.
        self._moved: dict[int, str] = {}
        self._pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._ids = itertools.count()
        self._monitor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._place_lock = asyncio.Lock()
        self._live: dict[str, WorkerLoad] = {}

    # -- MediaBackend -----------------------------------------------------------------------

    def get(self, hearing_id: int) -> RemoteRoom | None:
        """The node's view of the hearing's room, if open."""
        room = self._rooms.get(hearing_id)
        return room if room is not None and not room.closed else None

    async def open_room(self, hearing_id: int, broadcast: Broadcast) -> RemoteRoom:
        """The hearing's room: on the worker it is placed on, else on the least-loaded one."""
        async with self._place_lock:
            room = self.get(hearing_id)
            if room is not None:
                return room
            worker_id = await self._place(hearing_id)
            room = RemoteRoom(self, hearing_id, worker_id, broadcast, self._remember(hearing_id))
            self._rooms[hearing_id] = room
        lost = self._moved.pop(hearing_id, None)
        if lost is not None:
            await self._record(
                hearing_id, {"event": "media_restored", "worker_id": worker_id, "from": lost}
            )
        return room

    async def _place(self, hearing_id: int) -> str:
        deadline = time.monotonic() + WAIT_FOR_WORKER
        while True:
            live = await self.channel.workers()
            if live:
                break
            if time.monotonic() > deadline:
                raise NegotiationError("internal", "no media worker is running; try again")
            await asyncio.sleep(0.2)
        holder = await self.channel.placement(hearing_id)
        if holder is not None and holder in live:
            return holder
        if holder is not None:
            await self.channel.release(hearing_id, holder)
        best = min(live.values(), key=lambda w: (w.share, w.worker_id))
        # SET NX: another node placing the same hearing at the same time wins or loses whole.
        holder = await self.channel.claim(hearing_id, best.worker_id)
        logger.info("hearing %s: room placed on media worker %s", hearing_id, holder)
        return holder

    def _remember(self, hearing_id: int) -> set[int]:
        if is_self_test_room(hearing_id):
            return set()  # a self-test has no admissions to keep (nor to crowd others out)
        offices = self._admitted.get(hearing_id)
        if offices is None:
            offices = self._admitted[hearing_id] = set()
            while len(self._admitted) > MAX_REMEMBERED_HEARINGS:
                self._admitted.popitem(last=False)
        self._admitted.move_to_end(hearing_id)
        return offices

    async def close_room(self, hearing_id: int) -> None:
        """Forget the room (the hearing ended: the worker closed it) and its placement."""
        room = self._rooms.pop(hearing_id, None)
        if room is not None:
            room.mark_closed()
            await self.channel.release(hearing_id, room.worker_id)

    def forget_hearing(self, hearing_id: int) -> None:
        """Nobody is remembered as admitted any more."""
        self._admitted.pop(hearing_id, None)

    async def start(self) -> None:
        """Listen to the workers, start the local children, watch the workers' heartbeats."""
        await self.channel.start(self._on_message)
        if self.local is not None:
            await self.local.start()
        self._monitor = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        """Stop watching, stop the local children, close the channel."""
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for room in self._rooms.values():
            room.mark_closed()
        self._rooms.clear()
        for _worker, future in self._pending.values():
            if not future.done():
                future.set_exception(NegotiationError("internal", "the hub is shutting down"))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.local is not None:
            await self.local.close()
        await self.channel.close()

    def __len__(self) -> int:
        return sum(1 for r in self._rooms.values() if not r.closed)

    @property
    def channel_workers(self) -> dict[str, WorkerLoad]:
        """The workers' last reports as the monitor saw them (diagnostics and tests)."""
        return dict(self._live)

    # -- requests ---------------------------------------------------------------------------

    def sid_of(self, participant_id: str) -> str | None:
        """The socket a participant of this node sits on."""
        return self._sid_of(participant_id)

    async def call(
        self, worker_id: str, op: str, *, reply_within: float = REQUEST_TIMEOUT, **args: Any
    ) -> Any:
        """Send a request to a worker and wait for its reply; worker errors come back as
        NegotiationError (RoomClosed when the worker has no such room)."""
        request_id = f"{self.channel.address}:{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (worker_id, future)
        try:
            await self.channel.send(
                worker_address(worker_id),
                {
                    "type": "request",
                    "id": request_id,
                    "node": self.channel.address,
                    "op": op,
                    "args": args,
                },
            )
            reply: Message = await asyncio.wait_for(future, reply_within)
        except TimeoutError:
            raise NegotiationError(
                "internal", f"media worker {worker_id} did not answer {op}"
            ) from None
        finally:
            self._pending.pop(request_id, None)
        if reply.get("ok"):
            return reply.get("result")
        code, message = str(reply.get("code")), str(reply.get("message"))
        if code == "room_closed":
            raise RoomClosed(message)
        raise NegotiationError(code, message)

    # -- the workers' messages --------------------------------------------------------------

    async def _on_message(self, message: Message) -> None:
        kind = message.get("type")
        try:
            if kind == "reply":
                pending = self._pending.get(str(message.get("id")))
                if pending is not None and not pending[1].done():
                    pending[1].set_result(message)
            elif kind == "emit":
                await self.emit_to(str(message["sid"]), str(message["event"]), message["data"])
            elif kind == "broadcast":
                room = self._rooms.get(int(message["hearing_id"]))
                if room is not None and not room.closed:
                    room.observe(str(message["event"]), message["data"])
                    await room.broadcast(str(message["event"]), message["data"], message["skip"])
            elif kind == "state":
                await self._on_state(message)
            elif kind == "quality":
                room = self._rooms.get(int(message["hearing_id"]))
                participant = room.participants.get(message["participant_id"]) if room else None
                if participant is not None:
                    await self.on_quality(participant, Quality(**message["quality"]))
            elif kind == "record":
                await self.gateway.record(
                    int(message["hearing_id"]),
                    str(message["kind"]),
                    office_id=message.get("office_id"),
                    user_id=message.get("user_id"),
                    detail=message.get("detail"),
                )
        except Exception:
            logger.exception("media: handling %s from a worker failed", kind)

    async def _on_state(self, message: Message) -> None:
        hearing_id = int(message["hearing_id"])
        room = self._rooms.get(hearing_id)
        if room is None or room.closed or room.worker_id != message.get("worker_id"):
            return
        offices = self._remember(hearing_id)
        offices.clear()
        offices.update(int(o) for o in message.get("admitted_offices", ()))
        change = str(message["change"])
        participant = room.apply_state(message["participant"], change)
        await self.on_state(participant, change)
        if change == "left" and not room.participants and self._rooms.get(hearing_id) is room:
            # The worker closes a room its last participant left; so does the node's view.
            del self._rooms[hearing_id]
            room.mark_closed()
            if room.self_test:
                # A hearing keeps its placement for its sites' return; a self-test's id is
                # never used again.
                await self.channel.release(hearing_id, room.worker_id)

    # -- failover ---------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_EVERY)
            try:
                live = await self.channel.workers()
            except Exception:
                logger.exception("media: reading the workers' reports failed")
                continue
            self._live = live
            for room in list(self._rooms.values()):
                if room.worker_id not in live and not room.closed:
                    await self._lost(room, live)

    async def _lost(self, room: RemoteRoom, live: dict[str, WorkerLoad]) -> None:
        """The room's worker is gone: its participants are told to join again, which places
        the room on another worker; their admissions are kept here."""
        hearing_id, worker_id = room.hearing_id, room.worker_id
        logger.warning(
            "hearing %s: media worker %s lost; %s participant(s) move",
            hearing_id,
            worker_id,
            len(room.participants),
        )
        room.mark_closed()
        if self._rooms.get(hearing_id) is room:
            del self._rooms[hearing_id]
        for pending_worker, future in self._pending.values():
            if pending_worker == worker_id and not future.done():
                future.set_exception(
                    NegotiationError("internal", f"media worker {worker_id} went away; join again")
                )
        self._moved[hearing_id] = worker_id
        # If the worker was only late, it still holds the room: have it let go before anyone
        # rejoins (the request goes ahead of their joins on the same channel; no answer awaited).
        with contextlib.suppress(Exception):
            await self.channel.send(
                worker_address(worker_id),
                {
                    "type": "request",
                    "id": f"drop-{hearing_id}-{time.monotonic_ns()}",
                    "node": self.channel.address,
                    "op": "drop_room",
                    "args": {"hearing_id": hearing_id},
                },
            )
        # One node records the outage: the one whose release removed the dead placement.
        if await self.channel.release(hearing_id, worker_id) or isinstance(
            self.channel, LocalChannel
        ):
            await self._record(
                hearing_id,
                {
                    "event": "media_worker_lost",
                    "worker_id": worker_id,
                    "participants": len(room.participants),
                    "workers_left": sorted(live),
                },
            )
        await self.on_moved(room)

    async def _record(self, hearing_id: int, detail: dict[str, Any]) -> None:
        if is_self_test_room(hearing_id):
            return  # no hearing, no session log: the page sees its test fail and says so
        try:
            await self.gateway.record(
                hearing_id, LogKind.CONNECTIVITY, detail={**detail, "at": time.time()}
            )
        except Exception:
            logger.exception("hearing %s: could not record %s", hearing_id, detail.get("event"))


def local_socket_dir() -> str:
    """A private directory for a node's worker socket."""
    return tempfile.mkdtemp(prefix="tcd-media-")


def remove_socket_dir(path: str) -> None:
    """Remove it at shutdown."""
    shutil.rmtree(path, ignore_errors=True)

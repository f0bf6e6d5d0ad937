"""A media worker: owns the rooms placed on it (participants, waiting room, peer connections,
forwarding, active speaker, quality) and talks to hub nodes only through a Channel.

The worker never touches the database: the session log, the operators' board and the sockets
are the nodes' business, so every room event goes back to the node(s) whose participants are in
the room, and each request's reply to the node that asked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Any

from hub.services.live import LiveGateway
from rooms.channel import (
    REPORT_EVERY,
    Channel,
    LocalWorkerChannel,
    Message,
    RedisChannel,
    WorkerLoad,
    worker_address,
)
from rooms.manager import RoomManager
from rooms.participant import MediaOptions, NegotiationError, Participant
from rooms.quality import Quality
from rooms.room import RecordingConflict, Room, RoomClosed
from rooms.sdp_guard import SdpRejected

logger = logging.getLogger(__name__)

# Participants a worker takes by default (placement compares load against it).
DEFAULT_CAPACITY = 200


class RelayGateway(LiveGateway):
    """The rooms' LiveGateway on a worker: session-log entries go to a node, which writes them."""

    def __init__(self, worker: MediaWorker) -> None:
        self.worker = worker

    async def record(
        self,
        hearing_id: int,
        kind: str,
        *,
        office_id: int | None = None,
        user_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Hand the entry to the node of the participant it concerns (one node writes it)."""
        participant_id = (detail or {}).get("participant_id")
        node = self.worker.node_of(hearing_id, participant_id)
        if node is not None:
            await self.worker.channel.send(
                node,
                {
                    "type": "record",
                    "hearing_id": hearing_id,
                    "kind": kind,
                    "office_id": office_id,
                    "user_id": user_id,
                    "detail": detail,
                },
            )


class MediaWorker:
    """Serves room requests from nodes and sends the rooms' events back."""

    def __init__(
        self,
        channel: Channel,
        worker_id: str,
        options: MediaOptions,
        *,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self.channel = channel
        self.worker_id = worker_id
        self.capacity = capacity
        self.rooms = RoomManager(
            RelayGateway(self), options, on_state=self._on_state, on_quality=self._on_quality
        )
        # participant id -> (node address, sid) of the socket it sits on.
        self._where: dict[str, tuple[str, str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._report_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen for requests and start reporting load."""
        await self.channel.start(self._on_message)
        await self._report()
        self._report_task = asyncio.get_running_loop().create_task(self._report_loop())

    # -- routing ----------------------------------------------------------------------------

    def nodes_of(self, hearing_id: int, also: str | None = None) -> set[str]:
        """Every node with a participant in the hearing's room (and `also`'s node)."""
        room = self.rooms.get(hearing_id)
        pids = set(room.participants) if room is not None else set()
        if also is not None:
            pids.add(also)
        return {self._where[p][0] for p in pids if p in self._where}

    def node_of(self, hearing_id: int, participant_id: Any) -> str | None:
        """The node of a participant, else any node of the room."""
        if isinstance(participant_id, str) and participant_id in self._where:
            return self._where[participant_id][0]
        return next(iter(sorted(self.nodes_of(hearing_id))), None)

    async def _to_nodes(self, nodes: set[str], message: Message) -> None:
        for node in sorted(nodes):
            await self.channel.send(node, message)

    async def _on_state(self, participant: Participant, change: str) -> None:
        room = self.rooms.get(participant.hearing_id)
        admitted = sorted(room.admitted_offices) if room is not None else []
        await self._to_nodes(
            self.nodes_of(participant.hearing_id, also=participant.id),
            {
                "type": "state",
                "worker_id": self.worker_id,
                "hearing_id": participant.hearing_id,
                "change": change,
                "participant": {**participant.describe(), "user_id": participant.user_id},
                "admitted_offices": admitted,
            },
        )
        if change == "left":
            self._where.pop(participant.id, None)

    async def _on_quality(self, participant: Participant, quality: Quality) -> None:
        where = self._where.get(participant.id)
        if where is not None:
            await self.channel.send(
                where[0],
                {
                    "type": "quality",
                    "hearing_id": participant.hearing_id,
                    "participant_id": participant.id,
                    "quality": quality.as_dict(),
                },
            )

    # -- requests ---------------------------------------------------------------------------

    async def _on_message(self, message: Message) -> None:
        if message.get("type") != "request":
            return
        # Each request in its own task: a slow offer must not hold up the candidates behind it.
        task = asyncio.get_running_loop().create_task(self._serve(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, message: Message) -> None:
        reply: Message = {"type": "reply", "id": message.get("id")}
        try:
            result = await self._do(str(message["op"]), message["node"], message["args"])
            reply.update(ok=True, result=result)
        except NegotiationError as exc:
            reply.update(ok=False, code=exc.code, message=exc.message)
        except SdpRejected as exc:
            reply.update(ok=False, code="invalid_sdp", message=str(exc))
        except RoomClosed as exc:
            reply.update(ok=False, code="room_closed", message=str(exc))
        except RecordingConflict as exc:
            reply.update(ok=False, code="conflict", message=str(exc))
        except KeyError as exc:
            reply.update(ok=False, code="not_found", message=f"no participant {exc.args[0]}")
        except Exception:
            logger.exception("media worker %s: %s failed", self.worker_id, message.get("op"))
            reply.update(ok=False, code="internal", message=f"{message.get('op')} failed")
        await self.channel.send(message["node"], reply)

    def _room(self, args: dict[str, Any]) -> Room:
        room = self.rooms.get(int(args["hearing_id"]))
        if room is None:
            raise RoomClosed(f"hearing {args['hearing_id']} has no room on this worker")
        return room

    def _participant(self, room: Room, participant_id: Any) -> Participant:
        participant = room.participants.get(str(participant_id))
        if participant is None:
            raise KeyError(participant_id)
        return participant

    async def _do(self, op: str, node: str, args: dict[str, Any]) -> Any:
        if op == "join":
            return await self._join(node, args)
        if op == "stats":
            return self.rooms.stats().as_dict()
        if op == "drop_room":
            # The node gave this room up for lost (we were late, not dead): close it without a
            # word to its sites, which are joining it again, here or on another worker.
            await self.rooms.close_room(int(args["hearing_id"]))
            return None
        room = self._room(args)
        by = room.participants.get(str(args.get("by"))) if args.get("by") else None
        if op == "leave":
            gone = await room.leave(str(args["participant_id"]), str(args["reason"]), by=by)
            return gone is not None
        if op == "end":
            await room.end()
            await self.rooms.close_room(room.hearing_id)
            self.rooms.forget_hearing(room.hearing_id)
            return None
        if op == "spotlight":
            await room.set_spotlight(args["participant_id"])
            return None
        if op == "now_hearing":
            await room.set_now_hearing(args["heard"])
            return None
        if op == "record_start":
            return await room.start_recording(
                int(args["recording_id"]), str(args["directory"]), args.get("by")
            )
        if op == "record_stop":
            return await room.stop_recording(args.get("chapters"), args.get("by"))
        participant = self._participant(room, args["participant_id"])
        if op == "offer":
            return await room.accept_offer(participant, str(args["sdp"]))
        if op == "answer":
            await participant.accept_answer(str(args["sdp"]), int(args["revision"]))
            return None
        if op == "candidate":
            await participant.add_candidate(dict(args["candidate"]))
            return None
        if op == "mute":
            await room.set_mute(participant, bool(args["audio"]), bool(args["video"]))
            return None
        if op == "low_bandwidth":
            # `by` is None when an operator switched it from the board (not in the room).
            await room.set_low_bandwidth(participant, bool(args["on"]), str(args["reason"]), by=by)
            return None
        if by is None:
            raise KeyError(args.get("by"))
        if op == "admit":
            await room.admit(participant, by)
        elif op == "send_to_waiting":
            await room.send_to_waiting(participant, by)
        elif op == "host_mute":
            await room.host_mute(participant, bool(args["audio"]), by)
        else:
            raise ValueError(f"unknown media request {op!r}")
        return None

    async def _join(self, node: str, args: dict[str, Any]) -> dict[str, Any]:
        hearing_id = int(args["hearing_id"])
        sid = str(args["sid"])
        channel = self.channel

        async def broadcast(event: str, data: dict[str, Any], skip: str | None) -> None:
            await self._to_nodes(
                self.nodes_of(hearing_id),
                {
                    "type": "broadcast",
                    "hearing_id": hearing_id,
                    "event": event,
                    "data": data,
                    "skip": skip,
                },
            )

        async def emit(event: str, data: dict[str, Any]) -> None:
            await channel.send(node, {"type": "emit", "sid": sid, "event": event, "data": data})

        room = self.rooms.get_or_create(hearing_id, broadcast)
        # Admissions the nodes remember outlive a worker: a room placed again keeps them.
        room.admitted_offices.update(int(o) for o in args.get("admitted_offices", ()))
        participant = room.new_participant(
            office_id=int(args["office_id"]),
            office_name=str(args["office_name"]),
            display_name=str(args["display_name"]),
            role=str(args["role"]),
            user_id=args.get("user_id"),
            emit=emit,
            participant_id=str(args["participant_id"]),
        )
        participant.state = str(args["state"])
        self._where[participant.id] = (node, sid)
        try:
            participants = await room.join(participant)
        except BaseException:
            self._where.pop(participant.id, None)
            await participant.close()
            raise
        return {
            "participants": participants,
            "spotlight": room.spotlight,
            "now_hearing": room.now_hearing,
            "admitted_offices": sorted(room.admitted_offices),
        }

    # -- load -------------------------------------------------------------------------------

    def load(self) -> WorkerLoad:
        """This worker's load now."""
        stats = self.rooms.stats()
        return WorkerLoad(
            worker_id=self.worker_id,
            participants=stats.participants,
            forwarded=stats.forwarded_tracks,
            capacity=self.capacity,
            rooms=len(stats.rooms),
        )

    async def _report(self) -> None:
        try:
            await self.channel.report(self.load())
        except Exception:
            logger.exception("media worker %s: load report failed", self.worker_id)

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(REPORT_EVERY)
            await self._report()

    async def close(self) -> None:
        """Stop reporting, close every room, stop listening."""
        if self._report_task is not None:
            self._report_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._report_task
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.rooms.close()
        await self.channel.close()


def move_to_nice(target: int) -> bool:
    """Move this thread (and the threads it starts later) to nice value `target`; whether it
    got there. Lowering the value needs CAP_SYS_NICE or an RLIMIT_NICE of at least 20 - target
    (docker: `ulimits: nice: 30` for -10): without either, say so and carry on."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target == 0 or target == current:  # 0: leave it as inherited
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, 0, target)
    except PermissionError:
        logger.warning(
            "media worker: not allowed to move to nice %s (from %s): media competes with the "
            "records side for the CPU as equals (allow it with CAP_SYS_NICE or RLIMIT_NICE %s; "
            "docker: ulimits nice: %s; or set TCD_MEDIA_WORKER_NICE=0)",
            target,
            current,
            20 - target,
            20 - target,
        )
        return False
    return True


async def _parent_gone(parent_pid: int) -> None:
    """Returns once the process that spawned this one is gone (we were re-parented)."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 (no event tells a process this)
        await asyncio.sleep(0.5)


async def run_worker(
    channel: Channel,
    worker_id: str,
    options: MediaOptions,
    *,
    capacity: int = DEFAULT_CAPACITY,
    parent_pid: int | None = None,
    lost: asyncio.Event | None = None,
) -> None:
    """Run a worker until cancelled, its parent dies or its local channel closes."""
    worker = MediaWorker(channel, worker_id, options, capacity=capacity)
    await worker.start()
    logger.info("media worker %s running (capacity %s)", worker_id, capacity)
    waits: list[asyncio.Task[Any]] = []
    loop = asyncio.get_running_loop()
    if parent_pid is not None:
        waits.append(loop.create_task(_parent_gone(parent_pid)))
    if lost is not None:
        waits.append(loop.create_task(lost.wait()))
    try:
        if waits:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.Event().wait()
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        await worker.close()
        logger.info("media worker %s stopped", worker_id)


def add_media_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """`tcd-hub media-worker`: one worker, on this machine's node or on Redis."""
    link = parser.add_mutually_exclusive_group(required=True)
    link.add_argument("--redis-url", help="redis://host:port/db shared with the hub nodes")
    link.add_argument("--local-socket", help="(used by serve) the node's Unix socket")
    parser.add_argument(
        "--announce-ip",
        action="append",
        default=None,
        help="address this worker announces in ICE candidates (repeatable)",
    )
    parser.add_argument("--udp-ports", help="LO-HI: the UDP port range for ICE (firewall)")
    parser.add_argument("--ice-server", action="append", default=None, help="STUN URL")
    parser.add_argument("--worker-id", help="unique name (default: host name and process id)")
    parser.add_argument("--capacity", type=int, default=None, help="participants it takes")
    parser.add_argument("--media-mode", choices=["packet", "frame", "mediarelay"], default=None)
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING... (TCD_LOG_LEVEL)")
    parser.add_argument(
        "--nice",
        type=int,
        default=None,
        help="nice value to move to, -20..19 (TCD_MEDIA_WORKER_NICE; default -10: media before "
        "the records side on a shared machine; needs CAP_SYS_NICE below the current value)",
    )
    parser.add_argument(
        "--low-bandwidth-after",
        type=float,
        default=None,
        help="seconds graded bad before a site goes into low-bandwidth mode "
        "(TCD_LOW_BANDWIDTH_AFTER_SECONDS; 0: never by itself)",
    )
    parser.add_argument(
        "--low-bandwidth-recover",
        type=float,
        default=None,
        help="seconds graded good before it comes back to full video "
        "(TCD_LOW_BANDWIDTH_RECOVER_SECONDS)",
    )
    parser.add_argument("--parent-pid", type=int, help="(used by serve) exit when it dies")
    parser.set_defaults(func=cmd_media_worker)


def cmd_media_worker(args: argparse.Namespace) -> int:
    """Run one media worker until it is stopped (or its parent, for a local one, dies)."""
    from hub.config import SettingsError, parse_port_range, settings_from_env

    settings = settings_from_env()
    changes: dict[str, Any] = {
        "media_mode": args.media_mode,
        "ice_announced_ips": tuple(args.announce_ip) if args.announce_ip else None,
        "ice_servers": tuple(args.ice_server) if args.ice_server else None,
        "media_worker_capacity": args.capacity,
        "log_level": args.log_level,
        "media_worker_nice": args.nice,
        "low_bandwidth_after_seconds": args.low_bandwidth_after,
        "low_bandwidth_recover_seconds": args.low_bandwidth_recover,
    }
    if args.udp_ports:
        try:
            changes["ice_udp_ports"] = parse_port_range(args.udp_ports, "--udp-ports")
        except SettingsError as exc:
            raise SystemExit(str(exc)) from None
    try:
        settings = settings.with_overrides(**changes)
    except SettingsError as exc:
        raise SystemExit(f"error: {exc}") from None
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Before the loop and aiortc start their threads: Linux keeps a nice value per thread and
    # new threads inherit their creator's.
    move_to_nice(settings.media_worker_nice)
    from signaling.server import media_options

    worker_id = args.worker_id or f"{socket.gethostname()}-{os.getpid()}"

    async def main() -> None:
        channel: Channel
        lost: asyncio.Event | None = None
        if args.local_socket:
            local = LocalWorkerChannel(worker_id, args.local_socket)
            channel, lost = local, local.lost
        else:
            channel = RedisChannel(worker_address(worker_id), args.redis_url)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        for signum in (signal.SIGTERM, signal.SIGINT):
            if task is not None:
                loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_worker(
                channel,
                worker_id,
                media_options(settings),
                capacity=settings.media_worker_capacity,
                parent_pid=args.parent_pid,
                lost=lost,
            )

    try:
        asyncio.run(main())
    except (OSError, ConnectionError) as exc:
        # The node's socket is gone (its server stopped) or Redis cannot be reached.
        logging.getLogger(__name__).error(
            "media worker %s: cannot reach its node: %s", worker_id, exc
        )
        return 1
    return 0

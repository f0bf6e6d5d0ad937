"""The channel between hub nodes and media workers: addressed JSON messages, the workers' load
reports (a heartbeat), and the hearing -> worker placement map.

Two real transports behind one interface:
- LocalChannel: one node and the workers it spawned, over a Unix-domain socket with one JSON
  document per line. The node listens; each worker connects and says who it is. A worker whose
  connection closes is dead at once.
- RedisChannel: any number of nodes and workers sharing one Redis. Messages go through pub/sub
  (one channel per address), load reports are keys with a TTL, placement is SET NX.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Handler = Callable[[Message], Awaitable[None]]

# A worker reports every REPORT_EVERY seconds; missing for DEAD_AFTER it is dead. Five reports
# may go missing: a worker or node starved of CPU for a moment (a sign-in storm on a 2-core
# machine) is late, not dead, and moving a live room costs every site a rejoin. A local worker
# that exits is seen at once (its socket closes); a remote one killed outright within DEAD_AFTER.
REPORT_EVERY = 1.0
DEAD_AFTER = 5.0
# One line of the local transport at most (an SDP is capped far below this).
MAX_LINE = 4 << 20


@dataclass(frozen=True)
class WorkerLoad:
    """What a worker reports: how busy it is and how much it takes."""

    worker_id: str
    participants: int
    forwarded: int
    capacity: int
    rooms: int = 0

    @property
    def share(self) -> float:
        """Load against capacity (what placement compares)."""
        return max(self.participants, self.forwarded / 4) / max(self.capacity, 1)


def node_address(node_id: str) -> str:
    """Where a node receives its workers' events and replies."""
    return f"node:{node_id}"


def worker_address(worker_id: str) -> str:
    """Where a worker receives requests."""
    return f"worker:{worker_id}"


class Channel(Protocol):
    """Addressed messages plus the cluster's worker registry and placement map."""

    address: str

    async def start(self, handler: Handler) -> None:
        """Begin delivering messages sent to `address` to `handler`."""

    async def send(self, to: str, message: Message) -> None:
        """Deliver a message to an address (dropped if nobody is there)."""

    async def report(self, load: WorkerLoad) -> None:
        """A worker's heartbeat with its load."""

    async def workers(self) -> dict[str, WorkerLoad]:
        """The live workers and their last reports."""

    async def placement(self, hearing_id: int) -> str | None:
        """The worker a hearing's room is placed on, if any."""

    async def claim(self, hearing_id: int, worker_id: str) -> str:
        """Place the hearing on `worker_id` unless it is placed already; returns the holder."""

    async def release(self, hearing_id: int, worker_id: str) -> bool:
        """Forget the placement if `worker_id` still holds it; True if this call removed it."""

    async def close(self) -> None:
        """Stop delivering and release the transport."""


# -- local -----------------------------------------------------------------------------------


def _encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class LocalChannel:
    """The node's end of the local transport: it listens on a Unix socket; its workers
    connect. Placement lives in this process (one node)."""

    def __init__(self, node_id: str, path: str) -> None:
        self.address = node_address(node_id)
        self.path = path
        self._handler: Handler | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writers: dict[str, asyncio.StreamWriter] = {}
        self._loads: dict[str, tuple[float, WorkerLoad]] = {}
        self._placed: dict[int, str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._server = await asyncio.start_unix_server(self._serve, path=self.path, limit=MAX_LINE)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        worker_id: str | None = None
        try:
            hello = json.loads(await reader.readline() or b"{}")
            worker_id = str(hello.get("worker_id") or "")
            if hello.get("type") != "hello" or not worker_id:
                return
            self._writers[worker_id] = writer
            logger.info("media worker %s connected", worker_id)
            while line := await reader.readline():
                message = json.loads(line)
                if message.get("type") == "_report":
                    load = WorkerLoad(**message["load"])
                    self._loads[load.worker_id] = (time.monotonic(), load)
                elif self._handler is not None:
                    await self._handler(message)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            logger.info("media worker %s: connection broken", worker_id)
        finally:
            if worker_id and self._writers.get(worker_id) is writer:
                del self._writers[worker_id]
                self._loads.pop(worker_id, None)
                logger.info("media worker %s disconnected", worker_id)
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def send(self, to: str, message: Message) -> None:
        if to == self.address:
            if self._handler is not None:
                await self._handler(message)
            return
        writer = self._writers.get(to.removeprefix("worker:"))
        if writer is None:
            return
        with contextlib.suppress(ConnectionError):
            writer.write(_encode(message))
            await writer.drain()

    async def report(self, load: WorkerLoad) -> None:
        self._loads[load.worker_id] = (time.monotonic(), load)

    async def workers(self) -> dict[str, WorkerLoad]:
        now = time.monotonic()
        return {
            wid: load
            for wid, (seen, load) in self._loads.items()
            if now - seen < DEAD_AFTER and wid in self._writers
        }

    async def placement(self, hearing_id: int) -> str | None:
        return self._placed.get(hearing_id)

    async def claim(self, hearing_id: int, worker_id: str) -> str:
        return self._placed.setdefault(hearing_id, worker_id)

    async def release(self, hearing_id: int, worker_id: str) -> bool:
        if self._placed.get(hearing_id) == worker_id:
            del self._placed[hearing_id]
            return True
        return False

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


class LocalWorkerChannel:
    """A worker's end of the local transport: one connection to its node."""

    def __init__(self, worker_id: str, path: str) -> None:
        self.address = worker_address(worker_id)
        self.worker_id = worker_id
        self.path = path
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        # Set when the node's end went away: a local worker has nothing left to do.
        self.lost = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        reader, self._writer = await asyncio.open_unix_connection(self.path, limit=MAX_LINE)
        self._writer.write(_encode({"type": "hello", "worker_id": self.worker_id}))
        await self._writer.drain()
        self._task = asyncio.get_running_loop().create_task(self._read(reader, handler))

    async def _read(self, reader: asyncio.StreamReader, handler: Handler) -> None:
        try:
            while line := await reader.readline():
                await handler(json.loads(line))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self.lost.set()

    async def send(self, to: str, message: Message) -> None:
        # Only the node is at the other end; every address but our own is reached through it.
        if self._writer is None:
            return
        with contextlib.suppress(ConnectionError):
            self._writer.write(_encode(message))
            await self._writer.drain()

    async def report(self, load: WorkerLoad) -> None:
        await self.send("node", {"type": "_report", "load": asdict(load)})

    async def workers(self) -> dict[str, WorkerLoad]:
        raise NotImplementedError("a local worker does not see the cluster")

    async def placement(self, hearing_id: int) -> str | None:
        raise NotImplementedError("a local worker does not place rooms")

    async def claim(self, hearing_id: int, worker_id: str) -> str:
        raise NotImplementedError("a local worker does not place rooms")

    async def release(self, hearing_id: int, worker_id: str) -> bool:
        raise NotImplementedError("a local worker does not place rooms")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()


# -- Redis ------------------------------------------------------------------------------------

PREFIX = "tcd:media:"
# Compare-and-delete: only the holder's own release removes a placement.
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class RedisChannel:
    """Nodes and workers on one Redis: pub/sub per address, TTL'd load keys, SET NX placement."""

    def __init__(self, address: str, redis_url: str) -> None:
        import redis.asyncio as aioredis

        self.address = address
        self._redis = aioredis.Redis.from_url(redis_url)
        self._pubsub = self._redis.pubsub()
        self._task: asyncio.Task[None] | None = None

    async def start(self, handler: Handler) -> None:
        await self._pubsub.subscribe(PREFIX + "ch:" + self.address)
        self._task = asyncio.get_running_loop().create_task(self._listen(handler))

    async def _listen(self, handler: Handler) -> None:
        while True:
            try:
                item = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("media channel %s: Redis read failed", self.address)
                await asyncio.sleep(0.5)
                continue
            if item is None or item.get("type") != "message":
                continue
            try:
                message = json.loads(item["data"])
                await handler(message)
            except Exception:
                logger.exception("media channel %s: handling a message failed", self.address)

    async def send(self, to: str, message: Message) -> None:
        await self._redis.publish(PREFIX + "ch:" + to, json.dumps(message, separators=(",", ":")))

    async def report(self, load: WorkerLoad) -> None:
        await self._redis.set(
            PREFIX + "worker:" + load.worker_id,
            json.dumps(asdict(load)),
            px=int(DEAD_AFTER * 1000),
        )

    async def workers(self) -> dict[str, WorkerLoad]:
        keys = [key async for key in self._redis.scan_iter(match=PREFIX + "worker:*")]
        if not keys:
            return {}
        out: dict[str, WorkerLoad] = {}
        for raw in await self._redis.mget(keys):
            if raw is not None:
                load = WorkerLoad(**json.loads(raw))
                out[load.worker_id] = load
        return out

    async def placement(self, hearing_id: int) -> str | None:
        raw = await self._redis.get(f"{PREFIX}placement:{hearing_id}")
        return raw.decode() if isinstance(raw, bytes) else raw

    async def claim(self, hearing_id: int, worker_id: str) -> str:
        key = f"{PREFIX}placement:{hearing_id}"
        if await self._redis.set(key, worker_id, nx=True):
            return worker_id
        holder = await self._redis.get(key)
        return holder.decode() if isinstance(holder, bytes) else str(holder or worker_id)

    async def release(self, hearing_id: int, worker_id: str) -> bool:
        removed = await self._redis.eval(_RELEASE, 1, f"{PREFIX}placement:{hearing_id}", worker_id)
        return bool(removed)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()

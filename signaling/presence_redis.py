"""Presence shared by the hub nodes through Redis: one operators' board for the whole cluster.

Each node keeps its own SiteBoard (signaling.presence) and writes what it shows of each office
into Redis; the cluster's status of an office is merged from every live node's entry by the
same rule as on one node (the connection furthest in wins: admitted, then waiting, then only
connected; the latest on a tie). Keys, under the prefix `tcd:presence:`:

- `nodes`: sorted set, node id -> the Redis time at which its heartbeat runs out;
- `node:<node id>`: hash, office id -> that node's entry (status, path, rank, stamp) while
  the office is present on that node;
- `status`: hash, office id -> the cluster's status as operators last saw it, with the
  office's path (the snapshot, filtered by scope);
- `updates`: channel carrying each new cluster status, which every node hands to its own
  operator rooms.

One Lua script does every change atomically (write the node's entry, merge the office from
the live nodes, store and publish when it changed), so the channel carries statuses in the
order they were stored whichever nodes made them. A node beats every third of the TTL; a beat
also sweeps the nodes whose heartbeat ran out (killed, cut off): their entries go and their
offices are merged again, so their sites go offline for every operator. A node that finds
itself swept (it was cut off for longer than the TTL) writes its entries again.

The script names keys it builds itself, which a single Redis server (or a replica set)
allows and Redis Cluster does not: the hub's Redis is one server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from typing import Any

import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from hub.clock import local_iso, now
from hub.domain.offices import path_in_scope
from signaling import protocol
from signaling.presence import Deliver, SiteUpdate, rooms_on_path
from signaling.protocol import ProtocolError

logger = logging.getLogger(__name__)

PREFIX = "tcd:presence:"
# Changes sent to Redis in one round trip at most (each is its own atomic script call).
BATCH = 256
MIN_TTL = 1.0

_SCRIPT = """
local prefix, mode, node, now_iso = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local nodes_key, status_key = prefix .. 'nodes', prefix .. 'status'
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local SHOWN = {'online', 'hearing_id', 'participant_id', 'state'}

-- The office's status from every live node's entry; stored and published when it changed
-- (or when `measured_by` is the node whose entry is shown: fresh quality figures).
local function merge(office, measured_by)
  local best, best_node = nil, nil
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', nodes_key, '(' .. now, '+inf')) do
    local raw = redis.call('HGET', prefix .. 'node:' .. other, office)
    if raw then
      local entry = cjson.decode(raw)
      if best == nil or entry.rank > best.rank
          or (entry.rank == best.rank and entry.stamp > best.stamp) then
        best, best_node = entry, other
      end
    end
  end
  local previous_raw = redis.call('HGET', status_key, office)
  local previous = nil
  if previous_raw then previous = cjson.decode(previous_raw) end
  if previous == nil and best == nil then return 0 end
  local status, path
  if best ~= nil then
    status, path = best.status, best.path
  else
    status = {office_id = previous.status.office_id, office_name = previous.status.office_name,
              online = false, hearing_id = cjson.null, participant_id = cjson.null,
              state = cjson.null}
    path = previous.path
  end
  local same = previous ~= nil
  if same then
    for _, key in ipairs(SHOWN) do
      if previous.status[key] ~= status[key] then same = false end
    end
  end
  if same and (measured_by == nil or measured_by ~= best_node) then return 0 end
  if same then status.since = previous.status.since else status.since = now_iso end
  local record = cjson.encode({status = status, path = path})
  redis.call('HSET', status_key, office, record)
  redis.call('PUBLISH', prefix .. 'updates', record)
  return 1
end

local function drop_node(gone)
  local hash = prefix .. 'node:' .. gone
  local offices = redis.call('HKEYS', hash)
  redis.call('DEL', hash)
  redis.call('ZREM', nodes_key, gone)
  for _, office in ipairs(offices) do merge(office, nil) end
  return #offices
end

if mode == 'set' then
  local office, entry, measured = ARGV[5], ARGV[6], ARGV[7] == '1'
  local hash = prefix .. 'node:' .. node
  if entry == '' then
    redis.call('HDEL', hash, office)
  else
    redis.call('HSET', hash, office, entry)
  end
  local beat = redis.call('ZSCORE', nodes_key, node)
  if measured then merge(office, node) else merge(office, nil) end
  if beat and tonumber(beat) > now then return 1 end
  return 0
elseif mode == 'beat' then
  local beat = redis.call('ZSCORE', nodes_key, node)
  local known = 0
  if beat and tonumber(beat) > now then known = 1 end
  local swept = 0
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', nodes_key, '-inf', now)) do
    drop_node(gone)
    swept = swept + 1
  end
  redis.call('ZADD', nodes_key, now + tonumber(ARGV[5]), node)
  return {known, swept}
elseif mode == 'leave' then
  return drop_node(node)
end
return redis.error_reply('unknown presence mode ' .. mode)
"""


def _now_iso() -> str:
    return local_iso(now()) or ""


class RedisPresence:
    """Presence over Redis: this node's changes go in, the cluster's statuses come out to this
    node's operator rooms. Owns a writer, a heartbeat and a listener task; close() ends them
    and takes this node's sites off the board."""

    def __init__(self, url: str, deliver: Deliver, *, ttl: float, prefix: str = PREFIX) -> None:
        if ttl < MIN_TTL:
            raise ValueError(f"presence_ttl_seconds must be at least {MIN_TTL:g}, not {ttl:g}")
        self.node_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.ttl = ttl
        self._prefix = prefix
        self._deliver = deliver
        # Commands time out rather than hang on a Redis that stopped answering; the listener
        # has a client of its own without a read timeout (a quiet channel is not an error).
        self._redis = redis_asyncio.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        self._listener = redis_asyncio.Redis.from_url(
            url, socket_connect_timeout=5.0, health_check_interval=30
        )
        self._script = self._redis.register_script(_SCRIPT)
        # What this node shows of each office (entry JSON): written again after an outage.
        self._entries: dict[int, str] = {}
        self._queue: list[tuple[int, str, bool]] = []
        self._wake = asyncio.Event()
        self._beat_now = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._stale = False  # a write failed: rewrite every entry at the next good beat
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    # -- the Presence port ------------------------------------------------------------------

    async def start(self) -> None:
        """Register this node, then listen, write and beat in tasks of their own. A Redis
        that does not answer yet is logged and retried; the hub still starts."""
        try:
            await self._beat()
        except RedisError:
            logger.warning("presence: Redis does not answer; node %s retries", self.node_id)
            self._stale = True
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name="presence-listen"),
            loop.create_task(self._write_loop(), name="presence-write"),
            loop.create_task(self._beat_loop(), name="presence-beat"),
        ]
        # Operators watching from this node should not miss the first statuses.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5.0)

    async def publish(self, update: SiteUpdate) -> None:
        """Queue this node's new entry for the office (none when it is offline here)."""
        if self._closed:
            return
        office_id = int(update.status["office_id"])
        if update.status["online"]:
            entry = json.dumps(
                {
                    "status": update.status,
                    "path": update.path,
                    "rank": update.rank,
                    "stamp": update.stamp,
                },
                separators=(",", ":"),
            )
            self._entries[office_id] = entry
        else:
            entry = ""
            self._entries.pop(office_id, None)
        self._queue.append((office_id, entry, update.measured))
        self._wake.set()

    async def snapshot(self, scope_path: str) -> list[dict[str, Any]]:
        """The cluster's last status of every office within the scope, by office id."""
        try:
            stored = await self._redis.hgetall(self._prefix + "status")
        except RedisError as exc:
            logger.warning("presence: snapshot failed: %s", exc)
            raise ProtocolError(
                protocol.INTERNAL, "the site board is unavailable (Redis does not answer)"
            ) from None
        sites = []
        for value in stored.values():
            record = json.loads(value)
            if not scope_path or path_in_scope(scope_path, str(record["path"])):
                sites.append(dict(record["status"]))
        return sorted(sites, key=lambda status: int(status["office_id"]))

    async def close(self) -> None:
        """Stop the tasks, take this node's remaining sites off the board, disconnect."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            # Whatever was still queued is moot: leaving merges every office of this node.
            await self._script(args=[self._prefix, "leave", self.node_id, _now_iso()])
        except RedisError as exc:
            logger.warning("presence: node %s could not leave: %s", self.node_id, exc)
        await self._redis.aclose()
        await self._listener.aclose()

    # -- tasks ------------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
                try:
                    await self._write(batch)
                except RedisError as exc:
                    # Every office's latest entry is in self._entries and the next good beat
                    # writes them all again: nothing queued needs keeping (nor piles up while
                    # Redis is away).
                    dropped = len(batch) + len(self._queue)
                    self._queue.clear()
                    logger.warning("presence: %s changes not written: %s", dropped, exc)
                    self._stale = True

    async def _write(self, batch: list[tuple[int, str, bool]]) -> None:
        iso = _now_iso()
        async with self._redis.pipeline(transaction=False) as pipe:
            for office_id, entry, measured in batch:
                await self._script(
                    args=[
                        self._prefix,
                        "set",
                        self.node_id,
                        iso,
                        office_id,
                        entry,
                        "1" if measured else "0",
                    ],
                    client=pipe,
                )
            registered = await pipe.execute()
        if not all(registered):
            # Swept while it was cut off: its entries count again once it has beaten.
            self._beat_now.set()

    async def _beat_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beat_now.wait(), self.ttl / 3)
            self._beat_now.clear()
            try:
                await self._beat()
            except RedisError as exc:
                logger.warning("presence: node %s heartbeat failed: %s", self.node_id, exc)
                self._stale = True

    async def _beat(self) -> None:
        known, swept = await self._script(
            args=[self._prefix, "beat", self.node_id, _now_iso(), self.ttl]
        )
        if swept:
            logger.info("presence: node %s swept %s silent node(s)", self.node_id, swept)
        if not known or self._stale:
            self._stale = False
            await self._resync()

    async def _resync(self) -> None:
        """Queue this node's every entry again, and the removal of any it no longer has."""
        stored = await self._redis.hkeys(self._prefix + "node:" + self.node_id)
        held = {int(key) for key in stored}
        gone = [(office_id, "", False) for office_id in held - set(self._entries)]
        current = [(office_id, entry, False) for office_id, entry in self._entries.items()]
        if gone or current:
            logger.info("presence: node %s writes its %s sites again", self.node_id, len(current))
            # Behind whatever is queued already, so the latest entry is the one that stays.
            self._queue.extend(gone + current)
            self._wake.set()

    async def _listen(self) -> None:
        channel = self._prefix + "updates"
        while True:
            try:
                async with self._listener.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    if self._subscribed.is_set():
                        # Listening again after a break: what was published meanwhile is
                        # lost, so every stored status goes out once more.
                        await self._replay()
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._hand_out(message["data"])
            except RedisError as exc:
                logger.warning("presence: listening on %s failed (%s); again in 1 s", channel, exc)
                await asyncio.sleep(1.0)

    async def _replay(self) -> None:
        stored = await self._redis.hgetall(self._prefix + "status")
        logger.info("presence: node %s listens again; %s statuses sent", self.node_id, len(stored))
        for value in stored.values():
            await self._hand_out(value)

    async def _hand_out(self, data: bytes) -> None:
        try:
            record = json.loads(data)
            status = dict(record["status"])
            rooms = rooms_on_path(str(record["path"]), int(status["office_id"]))
            await self._deliver(status, rooms)
        except Exception:
            logger.exception("presence: could not hand out a site status")

"""The media channel, on both transports (a node and its workers over a Unix socket, and over
a real redis-server): messages both ways, load reports as heartbeats, placement races."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rooms.channel import (
    DEAD_AFTER,
    Channel,
    LocalChannel,
    LocalWorkerChannel,
    Message,
    RedisChannel,
    WorkerLoad,
    node_address,
    worker_address,
)


@dataclass
class Pair:
    """A node's channel, a way to make workers' channels, and what each received."""

    node: Channel
    make_worker: Callable[[str], Awaitable[Channel]]
    inbox: dict[str, asyncio.Queue[Message]]


@pytest.fixture(params=["local", "redis"])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    inbox: dict[str, asyncio.Queue[Message]] = {}
    opened: list[Channel] = []

    def sink(name: str) -> Callable[[Message], Awaitable[None]]:
        queue = inbox.setdefault(name, asyncio.Queue())

        async def handler(message: Message) -> None:
            await queue.put(message)

        return handler

    node_id = uuid.uuid4().hex[:6]
    node: Channel
    if request.param == "local":
        node = LocalChannel(node_id, str(tmp_path / "m.sock"))
    else:
        url = request.getfixturevalue("redis_server")
        node = RedisChannel(node_address(node_id), url)
    await node.start(sink("node"))
    opened.append(node)

    async def make_worker(worker_id: str) -> Channel:
        worker: Channel
        if request.param == "local":
            worker = LocalWorkerChannel(worker_id, str(tmp_path / "m.sock"))
        else:
            worker = RedisChannel(
                worker_address(worker_id), request.getfixturevalue("redis_server")
            )
        await worker.start(sink(worker_id))
        opened.append(worker)
        return worker

    try:
        yield Pair(node, make_worker, inbox)
    finally:
        for channel in reversed(opened):
            await channel.close()


async def next_message(queue: asyncio.Queue[Message]) -> Message:
    return await asyncio.wait_for(queue.get(), 5)


async def wait_workers(node: Channel, expected: set[str], within: float = 6.0) -> float:
    start = time.monotonic()
    while set(await node.workers()) != expected:
        if time.monotonic() - start > within:
            raise AssertionError(f"workers {set(await node.workers())} != {expected}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_messages_go_both_ways(pair: Pair) -> None:
    worker = await pair.make_worker("w1")
    await worker.report(WorkerLoad("w1", participants=0, forwarded=0, capacity=10))
    await wait_workers(pair.node, {"w1"})
    await pair.node.send(worker_address("w1"), {"type": "request", "n": 1, "sdp": "v=0\r\n" * 50})
    got = await next_message(pair.inbox["w1"])
    assert got["n"] == 1 and got["sdp"].count("v=0") == 50
    await worker.send(pair.node.address, {"type": "reply", "n": 2, "text": "Hưng Yên"})
    assert (await next_message(pair.inbox["node"]))["text"] == "Hưng Yên"


async def test_reports_are_heartbeats(pair: Pair) -> None:
    busy, idle = await pair.make_worker("busy"), await pair.make_worker("idle")
    await busy.report(WorkerLoad("busy", participants=8, forwarded=40, capacity=10))
    await idle.report(WorkerLoad("idle", participants=1, forwarded=0, capacity=10))
    await wait_workers(pair.node, {"busy", "idle"})
    loads = await pair.node.workers()
    assert min(loads.values(), key=lambda w: w.share).worker_id == "idle"
    assert loads["busy"].participants == 8 and loads["busy"].capacity == 10
    # "idle" keeps reporting, "busy" falls silent: it is dead after DEAD_AFTER.
    start = time.monotonic()
    while time.monotonic() - start < DEAD_AFTER + 2 and "busy" in await pair.node.workers():
        await idle.report(WorkerLoad("idle", participants=1, forwarded=0, capacity=10))
        await asyncio.sleep(0.2)
    assert set(await pair.node.workers()) == {"idle"}
    assert time.monotonic() - start <= DEAD_AFTER + 1


async def test_placement_is_claimed_once_and_released_by_its_holder(pair: Pair) -> None:
    hearing = int(uuid.uuid4().int % 1_000_000)
    assert await pair.node.placement(hearing) is None
    first, second = await asyncio.gather(
        pair.node.claim(hearing, "w1"), pair.node.claim(hearing, "w2")
    )
    assert first == second == await pair.node.placement(hearing)
    loser = "w2" if first == "w1" else "w1"
    assert await pair.node.release(hearing, loser) is False
    assert await pair.node.release(hearing, first) is True
    assert await pair.node.placement(hearing) is None

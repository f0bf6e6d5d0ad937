"""The python-socketio internals signaling relies on are still there, and behave as used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from aiohttp import web

from signaling import socketio_internals
from signaling.socketio_internals import AckAwareServer, ack_requested, check_internals

pytestmark = pytest.mark.timeout(30)


def test_internals_match_the_pinned_python_socketio() -> None:
    check_internals()


def test_an_unpinned_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socketio_internals, "SOCKETIO_VERSION", "0.0.1")
    with pytest.raises(socketio_internals.InternalsChanged, match="python-socketio is"):
        check_internals()


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[tuple[str, bool | None]]]]:
    seen: list[tuple[str, bool | None]] = []
    sio = AckAwareServer(async_mode="aiohttp")

    async def on_any(event: str, sid: str, *args: Any) -> dict[str, Any]:
        # A yield in between: each handler keeps its own answer while others run.
        await asyncio.sleep(0.01)
        seen.append((event, ack_requested()))
        return {"ok": True}

    sio.on("*", on_any)
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await sio.shutdown()
        await runner.cleanup()


async def test_handlers_know_whether_the_client_asked_for_an_ack(
    server: tuple[str, list[tuple[str, bool | None]]],
) -> None:
    url, seen = server
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, transports=["websocket"], wait_timeout=5)
    try:
        await client.emit("fire_and_forget", {})
        assert await client.call("with_ack", {}, timeout=5) == {"ok": True}
        await client.emit("fire_and_forget_again", {})
        for _ in range(100):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.02)
        assert sorted(seen) == [
            ("fire_and_forget", False),
            ("fire_and_forget_again", False),
            ("with_ack", True),
        ]
    finally:
        await client.disconnect()
    assert ack_requested() is None  # outside any handler


async def test_the_redis_listener_starts_at_once_and_stops(redis_server: str) -> None:
    sio = AckAwareServer(
        async_mode="aiohttp", client_manager=socketio.AsyncRedisManager(redis_server)
    )
    socketio_internals.start_listener(sio)
    listener = sio.manager.thread
    assert isinstance(listener, asyncio.Task) and not listener.done()
    socketio_internals.start_listener(sio)  # idempotent: still the one listener
    assert sio.manager.thread is listener
    await asyncio.sleep(0.2)
    await socketio_internals.stop_listener(sio)
    assert listener.done()

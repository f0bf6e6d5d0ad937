"""The one module that touches python-socketio 5.18 private internals (acks, the Redis listener).

python-socketio has no public way for a handler to know whether the client asked for an ack,
and no public way to start or stop AsyncRedisManager's listener: everything below relies on
names private to python-socketio 5.18.1 and python-engineio 4.15.1 (pinned exactly in
pyproject.toml). `check_internals()` verifies each of them and
tests/signaling/test_socketio_internals.py calls it, so an upgrade fails loudly there instead of
answering errors twice or leaking the listener on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
from importlib import metadata
from typing import Any

import engineio
import engineio.async_socket
import socketio
from socketio import async_pubsub_manager, async_redis_manager

SOCKETIO_VERSION = "5.18.1"
ENGINEIO_VERSION = "4.15.1"

# Whether the event being handled asked for an ack (set per handler task, see AckAwareServer).
_ack_requested: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "tcd_ack_requested", default=None
)


class InternalsChanged(RuntimeError):
    """python-socketio's private internals differ from what this module was written against."""


class AckAwareServer(socketio.AsyncServer):  # type: ignore[misc]
    """AsyncServer that lets handlers know whether the client asked for an ack.

    The protocol answers failures in the ack when there is one and with an `error` event
    otherwise; python-socketio does not tell a handler which case it is in. Every event,
    catch-all ("*") handlers included, goes through `_handle_event_internal` with the packet id
    (None: no ack wanted), in the handler's own task (async_handlers is on by default), so a
    context variable set there is seen by that handler only.
    """

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
    ) -> None:
        _ack_requested.set(id is not None)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)


def ack_requested() -> bool | None:
    """Whether the event being handled asked for an ack (None outside an event handler)."""
    return _ack_requested.get()


def start_listener(sio: socketio.AsyncServer) -> None:
    """Start the client manager's message-queue listener now rather than on the first
    connection (python-socketio starts it lazily), so that this process hears the other
    processes' broadcasts from the start. Does nothing without a message queue."""
    manager = sio.manager
    if isinstance(manager, async_pubsub_manager.AsyncPubSubManager) and not sio.manager_initialized:
        sio.manager_initialized = True
        manager.initialize()


async def stop_listener(sio: socketio.AsyncServer) -> None:
    """Cancel the message-queue listener task and close its Redis connection (python-socketio
    offers no way to stop them; AsyncServer.shutdown() only stops Engine.IO's service task)."""
    manager = sio.manager
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task):
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    redis = getattr(manager, "redis", None)
    if redis is not None:
        with contextlib.suppress(Exception):
            await redis.aclose()


async def close_transport(sio: socketio.AsyncServer, sid: str) -> None:
    """Close a client's connection as a network would, without a disconnect packet: the client
    sees its transport close and reconnects by itself (after a Socket.IO disconnect, or an
    Engine.IO close packet, python-socketio clients stay disconnected; so do browsers after the
    former). For a hub that stops to start again: its sites come back on their own. The
    server's disconnect handler runs as for a dropped client."""
    eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
    socket = sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
    if socket is None:
        return
    if getattr(socket, "upgraded", False):
        # An empty packet list tells its WebSocket writer to close the WebSocket; the reader
        # then sees it closed and ends the socket (TRANSPORT_CLOSE).
        await socket.queue.put(None)
    else:
        # Long-polling has no connection to drop: the close packet it is, which browsers
        # take as a transport close too. Queued, not waited for: Engine.IO's own disconnect
        # waits until the client polls it away, which a page already gone never does (a hub
        # stopping then hung for good).
        await socket.close(wait=False, reason=sio.eio.reason.SERVER_DISCONNECT)
        sio.eio.sockets.pop(eio_sid, None)


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise InternalsChanged(f"python-socketio internals changed: {what}")


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        raise InternalsChanged(f"cannot read the source of {obj!r}: {exc}") from exc


def check_internals() -> None:
    """Raise InternalsChanged if anything this module relies on differs from the pinned
    python-socketio and python-engineio."""
    for package, pinned in (
        ("python-socketio", SOCKETIO_VERSION),
        ("python-engineio", ENGINEIO_VERSION),
    ):
        installed = metadata.version(package)
        _require(installed == pinned, f"{package} is {installed}, written for {pinned}")
    server = socketio.AsyncServer
    _require(
        list(inspect.signature(server._handle_event_internal).parameters)
        == ["self", "server", "sid", "eio_sid", "data", "namespace", "id"],
        "_handle_event_internal signature",
    )
    handle_event = _source(server._handle_event)
    _require(
        "self._handle_event_internal" in handle_event and "start_background_task" in handle_event,
        "_handle_event no longer runs _handle_event_internal in a task of its own",
    )
    _require(
        "_trigger_event(data[0]" in _source(server._handle_event_internal),
        "_handle_event_internal no longer dispatches the event to its handler",
    )
    _require(
        "self.manager_initialized = True" in _source(server._handle_eio_connect),
        "AsyncServer.manager_initialized (the lazy start of the client manager)",
    )
    initialize = _source(async_pubsub_manager.AsyncPubSubManager.initialize)
    _require("self.thread = " in initialize, "AsyncPubSubManager.thread (the listener task)")
    _require(
        "self.redis = " in _source(async_redis_manager.AsyncRedisManager._redis_connect),
        "AsyncRedisManager.redis (the Redis connection)",
    )
    _require(
        callable(getattr(socketio.AsyncManager, "eio_sid_from_sid", None))
        and "socket.close(" in _source(engineio.AsyncServer.disconnect),
        "AsyncManager.eio_sid_from_sid / AsyncServer.eio.disconnect (closing one transport)",
    )
    close = engineio.async_socket.AsyncSocket.close
    _require(
        {"wait", "reason"} <= set(inspect.signature(close).parameters)
        and "if wait:" in _source(close)
        and hasattr(engineio.AsyncServer.reason, "SERVER_DISCONNECT"),
        "AsyncSocket.close(wait=False, reason=...) (closing a long-polling client unwaited)",
    )
    websocket = _source(engineio.async_socket.AsyncSocket._websocket_handler)
    _require(
        "if not packets:" in websocket
        and "await ws.close()" in websocket
        and "self.upgraded = True" in websocket,
        "AsyncSocket's WebSocket writer no longer closes the WebSocket on an empty packet list",
    )
    _require(
        callable(getattr(server, "shutdown", None))
        and "service_task_event" in _source(engineio.AsyncServer.shutdown),
        "AsyncServer.shutdown() no longer stops Engine.IO's service task",
    )

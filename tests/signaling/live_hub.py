"""Helpers for signaling tests against the real hub: demo users over REST, bare Socket.IO
clients, and a scheduled hearing hosted by the central office."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import socketio

from signaling.site_agent import EncodedClip, SiteAgent, encode_clip

PASSWORD = "demo"
VN = timezone(timedelta(hours=7))

_CLIP: EncodedClip | None = None


def clip() -> EncodedClip:
    """One short pre-encoded clip shared by every agent of the test session."""
    global _CLIP
    if _CLIP is None:
        _CLIP = encode_clip(seconds=1.0)
    return _CLIP


async def wait_for(predicate: Callable[[], bool], within: float = 10.0, what: str = "") -> None:
    """Poll until predicate() holds; AssertionError naming `what` otherwise."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {within} s: {what or 'condition'}")
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class User:
    """A signed-in demo user: bearer token and the user as the API describes it."""

    username: str
    token: str
    info: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def office_id(self) -> int:
        return int(self.info["office_id"])


class Rest:
    """The hub's JSON API with bearer tokens (no cookies, so no CSRF)."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session

    async def login(self, username: str) -> User:
        body = await self.call(
            None, "POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD}
        )
        return User(username, str(body["token"]), dict(body["user"]))

    async def call(self, user: User | None, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {user.token}"} if user is not None else {}
        async with self.session.request(
            method, self.base_url + path, json=body, headers=headers
        ) as response:
            payload = await response.json()
            assert response.status < 300, f"{method} {path}: {response.status} {payload}"
            return payload

    async def offices(self, user: User) -> dict[str, int]:
        """Office code -> id."""
        body = await self.call(user, "GET", "/api/v1/offices")
        return {o["code"]: int(o["id"]) for o in body["items"]}

    async def schedule(
        self, staff: User, *, sites: list[int], chair: User | None = None, title: str = "Phiên thử"
    ) -> int:
        """An ad hoc hearing hosted by the staff member's office, starting now (not started)."""
        starts = datetime.now(VN).replace(microsecond=0)
        hearing = await self.call(
            staff,
            "POST",
            "/api/v1/hearings",
            {
                "title": title,
                "kind": "adhoc",
                "host_office_id": staff.office_id,
                "site_office_ids": sites,
                "chair_user_id": chair.id if chair is not None else None,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
            },
        )
        return int(hearing["id"])

    async def join_token(self, user: User, hearing_id: int, office_id: int | None = None) -> str:
        body = await self.call(
            user, "POST", f"/api/v1/hearings/{hearing_id}/join-token", {"office_id": office_id}
        )
        return str(body["token"])

    async def log(self, user: User, hearing_id: int) -> list[dict[str, Any]]:
        body = await self.call(user, "GET", f"/api/v1/hearings/{hearing_id}/log")
        items = body["items"] if isinstance(body, dict) else body
        return list(items)


class Client:
    """A bare Socket.IO client (no media) that records every server event."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.sio.on("*", self._record)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    async def connect(self, url: str, token: str) -> Client:
        await self.sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
        return self

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data if data is not None else {}, timeout=10)

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


def agent(url: str, token: str, hearing_id: int, *, audio: bool = True) -> SiteAgent:
    """A site agent replaying the shared clip."""
    return SiteAgent(url, token, hearing_id, clip=clip(), audio=audio)


def error_code(ack: Any) -> str:
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    return str(ack["error"]["code"])

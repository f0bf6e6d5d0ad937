"""Helpers for the hub's tests: a seeded hub served from a thread of its own, a JSON client,
request bodies, and the checks every error response must pass."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
from multidict import CIMultiDictProxy

from hub.api.keys import DATABASE
from hub.config import Settings
from tests.fixtures_hub import HubServer, start_hub

T = TypeVar("T")
VN = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "demo"
# Demo accounts (hub/seed.py) and the office each one belongs to.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "admin": ("admin", "TW"),
    "leader": ("leader", "TW"),
    "staff": ("staff", "TW"),
    "operator": ("operator", "TW"),
    "staff.hungyen": ("staff", "HY"),
    "leader.hungyen": ("leader", "HY"),
    "operator.hungyen": ("operator", "HY"),
    "staff.bacgiang": ("staff", "BG"),
}
# Tables whose row counts show whether a refused request wrote anything.
RECORD_TABLES = (
    "offices",
    "users",
    "hearings",
    "hearing_sites",
    "hearing_series",
    "petitions",
    "petition_history",
    "hearing_petitions",
    "log_events",
    "log_chains",
    "sequences",
    "reception_register",
)
_unique = itertools.count(1)


def unique(prefix: str = "t") -> str:
    """A short word no other test uses (searchable: letters then digits)."""
    return f"{prefix}{next(_unique):04d}x{threading.get_ident() % 9973}"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, parsed JSON (None when the body is not JSON), raw text."""

    status: int
    body: Any
    text: str
    headers: CIMultiDictProxy[str]
    # The body's bytes (a download's file; for JSON, the encoded text).
    content: bytes = b""

    @property
    def json(self) -> dict[str, Any]:
        """The JSON object body (fails the test when there is none)."""
        assert isinstance(self.body, dict), f"{self.status}: not a JSON object: {self.text[:300]}"
        return self.body


def assert_error(
    reply: Reply,
    status: int,
    *,
    field: str | None = None,
    says: str | None = None,
) -> dict[str, Any]:
    """The reply is the API's one error shape with this status, naming `field` when given."""
    assert reply.status == status, f"expected {status}, got {reply.status}: {reply.text[:500]}"
    assert reply.headers.get("Content-Type", "").startswith("application/json"), reply.headers
    assert "Traceback" not in reply.text and 'File "' not in reply.text, reply.text
    body = reply.json
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert isinstance(error["fields"], dict), error
    if field is not None:
        # A field inside a union or a list is named with a suffix: heard_from.datetime, ids.0.
        named = [k for k in error["fields"] if k == field or k.startswith(f"{field}.")]
        assert named, f"{field!r} not named in {error}"
        assert all(error["fields"][k] for k in named), error
    if says is not None:
        assert says.lower() in json.dumps(error, ensure_ascii=False).lower(), error
    return dict(error)


def assert_list(reply: Reply) -> list[dict[str, Any]]:
    """The reply is a 200 list {"items": [...], "total": N}; returns the items."""
    assert reply.status == 200, reply.text[:500]
    body = reply.json
    assert set(body) >= {"items", "total"}, body.keys()
    assert isinstance(body["items"], list) and isinstance(body["total"], int)
    assert body["total"] >= len(body["items"])
    return list(body["items"])


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A time in Vietnam."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


def today_vn() -> date:
    """Today's date in Vietnam."""
    return datetime.now(VN).date()


def hearing_body(
    host: int,
    sites: tuple[int, ...] | list[int] = (),
    *,
    kind: str = "adhoc",
    days_ahead: int = 20,
    hour: int = 8,
    hours: int = 2,
    title: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid POST /api/v1/hearings body."""
    start = local(today_vn() + timedelta(days=days_ahead), hour)
    body: dict[str, Any] = {
        "title": title or f"Phiên tiếp công dân {unique('h')}",
        "kind": kind,
        "host_office_id": host,
        "site_office_ids": list(sites),
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=hours)).isoformat(),
    }
    body.update(extra)
    return body


def petition_body(office: int, **extra: Any) -> dict[str, Any]:
    """A valid POST /api/v1/petitions body (a single complainant)."""
    body: dict[str, Any] = {
        "type": "complaint",
        "office_id": office,
        "petitioner_name": "Nguyễn Thị Hoa",
        "petitioner_address": "Thôn Đông, xã Lạc Hồng, huyện Văn Lâm",
        "petitioner_id_number": "033180004321",
        "content": "Khiếu nại việc thu hồi đất nông nghiệp không đúng quy định.",
        "crowd": False,
        "people_count": 1,
        "subject_field": "Đất đai",
        "source": "in_person",
        "received_on": (today_vn() - timedelta(days=1)).isoformat(),
    }
    body.update(extra)
    return body


class Api:
    """A JSON client of one hub, signed in per call as any demo user (bearer tokens)."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession, tokens: TokenSource) -> None:
        self.base_url = base_url
        self.session = session
        self.tokens = tokens

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
    ) -> Reply:
        """Send a request (as `user` when given) and read the answer whatever its status."""
        sent: dict[str, str] = {}
        if user is not None:
            sent["Authorization"] = f"Bearer {self.tokens.token(user)}"
        sent.update(headers or {})
        async with self.session.request(
            method, self.base_url + path, json=json, data=data, headers=sent, params=params
        ) as response:
            content = await response.read()
            # A download is no text: decoded leniently, never parsed as JSON.
            text = content.decode("utf-8", errors="replace")
            try:
                body = await response.json(content_type=None) if text else None
            except ValueError:
                body = None
            return Reply(response.status, body, text, response.headers, content)

    async def get(self, path: str, user: str | None = None, **kw: Any) -> Reply:
        """GET path."""
        return await self.call("GET", path, user=user, **kw)

    async def post(self, path: str, user: str | None = None, **kw: Any) -> Reply:
        """POST path."""
        return await self.call("POST", path, user=user, **kw)

    async def put(self, path: str, user: str | None = None, **kw: Any) -> Reply:
        """PUT path."""
        return await self.call("PUT", path, user=user, **kw)

    async def patch(self, path: str, user: str | None = None, **kw: Any) -> Reply:
        """PATCH path."""
        return await self.call("PATCH", path, user=user, **kw)

    async def delete(self, path: str, user: str | None = None, **kw: Any) -> Reply:
        """DELETE path."""
        return await self.call("DELETE", path, user=user, **kw)


class TokenSource:
    """Signs each demo user in once and remembers the token (argon2 makes sign-in slow)."""

    def __init__(self, hub: ThreadedHub) -> None:
        self.hub = hub
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def token(self, username: str) -> str:
        """The bearer token of `username` (password "demo")."""
        with self._lock:
            if username not in self._tokens:
                reply = self.hub.call(
                    "POST",
                    "/api/v1/auth/login",
                    json={"username": username, "password": PASSWORD},
                )
                assert reply.status == 200, reply.text
                self._tokens[username] = reply.json["token"]
            return self._tokens[username]


class ThreadedHub:
    """The hub (create_app, migrated and seeded like the `hub_server` fixture) served on
    127.0.0.1:0 from its own thread and event loop, so one server can outlive a test's loop and
    serve a whole module or package of tests."""

    def __init__(
        self,
        server: HubServer,
        runner: Any,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
    ) -> None:
        self.server = server
        self.url = server.url
        self.settings = server.settings
        self._runner = runner
        self._loop = loop
        self._thread = thread
        self._client: aiohttp.ClientSession | None = None
        self.tokens = TokenSource(self)
        self._offices: dict[str, int] = {}
        self._users: dict[str, int] = {}

    @classmethod
    def start(
        cls, data_dir: Path, *, prepare_db: bool = True, attendance: bool = False, **overrides: Any
    ) -> ThreadedHub:
        """Start a hub on a fresh SQLite database in data_dir (or the given database_url).

        Without `attendance`, a hearing going live starts no attendance checks: 30 s later they
        would log its absent sites into whatever test runs then, whose "nothing written"
        counts would see rows it never wrote (tests/signaling covers the checks)."""
        settings = Settings(
            data_dir=data_dir, secret_key="tcd-hub-test-secret", ice_announced_ips=("127.0.0.1",)
        ).with_overrides(**overrides)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="tcd-hub-test", daemon=True)
        thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(
                start_hub(settings, prepare_db=prepare_db), loop
            )
            server, runner = future.result(timeout=180)
            if not attendance:
                from signaling.server import SIGNALING_KEY

                server.app[SIGNALING_KEY].attendance_checks = ()
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            raise
        return cls(server, runner, loop, thread)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on the hub's own loop (e.g. to read its database directly)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout)

    def call(self, method: str, path: str, *, user: str | None = None, json: Any = None) -> Reply:
        """A request from the hub's own loop: for fixtures that set records up."""
        # Signed in here, in the caller's thread: signing in itself goes through this method.
        headers = {"Authorization": f"Bearer {self.tokens.token(user)}"} if user else {}

        async def go() -> Reply:
            if self._client is None:
                self._client = aiohttp.ClientSession()
            api = Api(self.url, self._client, self.tokens)
            return await api.call(method, path, json=json, headers=headers)

        return self.run(go())

    def office(self, code: str) -> int:
        """The id of a demo office by its code (TW, HY, HY.VANLAM, BG, ...)."""
        if not self._offices:
            reply = self.call("GET", "/api/v1/offices", user="admin")
            self._offices = {o["code"]: o["id"] for o in assert_list(reply)}
        return self._offices[code]

    def user(self, username: str) -> int:
        """The id of a demo user."""
        if not self._users:
            reply = self.call("GET", "/api/v1/users", user="admin")
            self._users = {u["username"]: u["id"] for u in assert_list(reply)}
        return self._users[username]

    def counts(self) -> dict[str, int]:
        """Row counts of the record tables, read straight from the hub's database."""
        from sqlalchemy import text

        async def go() -> dict[str, int]:
            async with self.server.app[DATABASE].transaction() as session:
                return {
                    t: int((await session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one())
                    for t in RECORD_TABLES
                }

        return self.run(go())

    def close(self) -> None:
        """Stop serving and end the thread."""

        async def stop() -> None:
            if self._client is not None:
                await self._client.close()
            await self._runner.cleanup()

        try:
            self.run(stop(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

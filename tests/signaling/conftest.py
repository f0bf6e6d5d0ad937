"""Fixtures for signaling tests: a real aiohttp server with setup_signaling and a fake gateway
(fast protocol tests), plus helpers for tests against the real hub (`hub_server`)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from hub.config import Settings
from hub.domain.errors import Conflict, NotFound, Unauthorized
from hub.domain.sessionlog import SITE_PRESENCE_KINDS, restoration
from hub.services.live import HearingAccess, LiveGateway, Principal
from signaling.server import setup_signaling
from tests.fixtures_teardown import bounded


class FakeGateway(LiveGateway):
    """In-memory LiveGateway: the seam until hub.services.live_impl exists."""

    def __init__(self) -> None:
        self.tokens: dict[str, Principal] = {}
        self.hearings: dict[int, HearingAccess] = {}
        self.records: list[dict[str, Any]] = []
        # kind -> event: record() of that kind waits until the test sets it (a slow database
        # at exactly that step, to line up a race).
        self.gates: dict[str, asyncio.Event] = {}
        self.held: set[str] = set()  # kinds whose record() is waiting at its gate now

    def add_site(
        self, token: str, office_id: int, *, hearing_id: int | None = None, role: str = "staff"
    ) -> None:
        # Office 1 is the root; the others sit below it.
        path = "/1/" if office_id == 1 else f"/1/{office_id}/"
        self.tokens[token] = Principal(
            user_id=100 + office_id,
            username=f"user{office_id}",
            display_name=f"User {office_id}",
            role=role,
            office_id=office_id,
            office_name=f"Office {office_id}",
            hearing_id=hearing_id,
            office_path=path,
        )

    async def authenticate(self, token: str) -> Principal:
        if token == "expired":
            raise Unauthorized("token expired")
        principal = self.tokens.get(token)
        if principal is None:
            raise Unauthorized("invalid token")
        return principal

    async def admit(self, principal: Principal, hearing_id: int) -> HearingAccess:
        if principal.hearing_id is not None and principal.hearing_id != hearing_id:
            raise NotFound("hearing not found")
        access = self.hearings.get(hearing_id)
        if access is None:
            raise NotFound("hearing not found")
        if access.status in ("ended", "cancelled"):
            raise Conflict(f"hearing is {access.status}")
        return dataclasses.replace(access, host_side=principal.office_id == access.host_office_id)

    async def record(
        self,
        hearing_id: int,
        kind: str,
        *,
        office_id: int | None = None,
        user_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        gate = self.gates.get(kind)
        if gate is not None:
            self.held.add(kind)
            await gate.wait()
            self.held.discard(kind)
        previous = next(
            (
                r
                for r in reversed(self.records)
                if r["hearing_id"] == hearing_id
                and r["office_id"] == office_id
                and r["kind"] in SITE_PRESENCE_KINDS
            ),
            None,
        )
        at = time.time()
        self.records.append(
            {
                "hearing_id": hearing_id,
                "kind": kind,
                "office_id": office_id,
                "user_id": user_id,
                "detail": detail or {},
                "at": at,
            }
        )
        # As the database gateway does (hub.services.sessionlog.append_site_entry).
        returned = restoration(kind, previous and previous["kind"], previous and previous["at"], at)
        if returned is not None:
            self.records.append(
                {
                    "hearing_id": hearing_id,
                    "kind": "connectivity",
                    "office_id": office_id,
                    "user_id": None,
                    "detail": {**returned, "participant_id": (detail or {}).get("participant_id")},
                    "at": at,
                }
            )

    def kinds(self) -> list[str]:
        return [r["kind"] for r in self.records]


@dataclass
class Hub:
    url: str
    gateway: FakeGateway
    app: web.Application
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def gateway() -> FakeGateway:
    gw = FakeGateway()
    gw.hearings[1] = HearingAccess(
        hearing_id=1,
        title="Joint hearing",
        status="live",
        host_office_id=1,
        site_offices={1: "Office 1", 2: "Office 2", 3: "Office 3", 4: "Office 4"},
    )
    gw.hearings[2] = HearingAccess(hearing_id=2, title="Other", status="live", host_office_id=1)
    gw.hearings[3] = HearingAccess(hearing_id=3, title="Done", status="ended", host_office_id=1)
    # site1: a leader of the host office (a moderator); site2-4: staff at the other sites, who
    # wait to be admitted.
    gw.add_site("site1", 1, role="leader")
    for office in (2, 3, 4):
        gw.add_site(f"site{office}", office)
    gw.add_site("join-h2", 2, hearing_id=2)
    return gw


@pytest.fixture
def settings() -> Settings:
    return Settings(ice_announced_ips=("127.0.0.1",), max_signaling_message_bytes=64 * 1024)


@pytest.fixture
async def hub(gateway: FakeGateway, settings: Settings) -> AsyncIterator[Hub]:
    app = web.Application()
    setup_signaling(app, settings, gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Hub(f"http://127.0.0.1:{port}", gateway, app, settings)
    finally:
        await bounded(runner.cleanup(), 60, "the hub's shutdown")


@pytest.fixture(scope="session", autouse=True)
def _clips_encoded() -> None:
    """Encode the site agents' test clips once, before any test's loop runs: encoding one on
    first use inside a test holds that loop for seconds on a busy machine, past the Engine.IO
    heartbeat, and drops the sockets of clients already connected (an operator, a chair)."""
    from tests.signaling import live_hub, test_media_exchange

    live_hub.clip()
    test_media_exchange.clip()

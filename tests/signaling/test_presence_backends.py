"""Presence, the port behind the operators' board: the same tests on both implementations
(in-process, and Redis on the session's own redis-server), then what only a cluster does:
several nodes merged into one board, a silent node swept and a swept node coming back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as redis_asyncio

from hub.services.live import Principal
from rooms.quality import Quality
from signaling.presence import LocalPresence, Presence, SiteBoard
from signaling.presence_redis import PREFIX, RedisPresence

pytestmark = pytest.mark.timeout(60)

ROOT, PROVINCE, SITE, OTHER = 1, 5, 7, 9
PATHS = {ROOT: "/1/", PROVINCE: "/1/5/", SITE: "/1/5/7/", OTHER: "/1/9/"}


def principal(role: str, office: int) -> Principal:
    return Principal(1, "u", "U", role, office, f"Office {office}", office_path=PATHS[office])


@dataclass
class Node:
    """One hub process's board and presence, and what presence delivered to its rooms."""

    board: SiteBoard
    presence: Presence
    delivered: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)

    async def change(self, update: Any) -> None:
        """What the signaling server does with a board change."""
        if update is not None:
            await self.presence.publish(update)

    def of(self, office_id: int) -> list[dict[str, Any]]:
        return [status for status, _ in self.delivered if status["office_id"] == office_id]

    def last(self, office_id: int) -> dict[str, Any]:
        found = self.of(office_id)
        return found[-1] if found else {}


NewNode = Callable[..., Awaitable[Node]]


async def eventually(check: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what or 'condition'}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _nodes(url: str) -> AsyncIterator[NewNode]:
    """Starts nodes on RedisPresence at url, or on LocalPresence when url is empty; closes
    them all at the end."""
    nodes: list[Node] = []

    async def start(ttl: float = 15.0) -> Node:
        board = SiteBoard()
        delivered: list[tuple[dict[str, Any], list[str]]] = []

        async def deliver(status: dict[str, Any], rooms: list[str]) -> None:
            delivered.append((status, rooms))

        presence: Presence = (
            RedisPresence(url, deliver, ttl=ttl) if url else LocalPresence(board, deliver)
        )
        await presence.start()
        node = Node(board, presence, delivered)
        nodes.append(node)
        return node

    try:
        yield start
    finally:
        for node in nodes:
            await node.presence.close()


@pytest.fixture(params=["local", "redis"])
async def new_node(request: pytest.FixtureRequest) -> AsyncIterator[NewNode]:
    """Nodes on each implementation in turn."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    async with _nodes(url) as start:
        yield start


@pytest.fixture
async def redis_node(redis_url: str) -> AsyncIterator[NewNode]:
    """Nodes of one cluster sharing the session's redis-server."""
    async with _nodes(redis_url) as start:
        yield start


# -- the same behaviour on both ------------------------------------------------------------------


async def test_a_site_coming_and_going_reaches_the_operators_above_it(new_node: NewNode) -> None:
    node = await new_node()
    # An operator's own connection makes nothing appear.
    await node.change(node.board.connect("op", principal("operator", ROOT)))
    await node.change(node.board.connect("kiosk", principal("staff", SITE)))
    await eventually(lambda: bool(node.of(SITE)), what="the site's status")
    status, rooms = node.delivered[-1]
    assert rooms == ["operators:1", "operators:5", "operators:7"]
    assert status["online"] is True and status["hearing_id"] is None and status["since"]
    assert [s["office_id"] for s in await node.presence.snapshot("/1/")] == [SITE]
    assert [s["office_id"] for s in await node.presence.snapshot("")] == [SITE]
    # Scope: a sibling subtree does not see it.
    assert await node.presence.snapshot("/1/9/") == []

    await node.change(node.board.disconnect("kiosk"))
    await eventually(lambda: node.last(SITE).get("online") is False, what="offline")
    (offline,) = await node.presence.snapshot("/1/5/")
    assert offline["online"] is False and offline["office_name"] == "Office 7"
    assert len(node.of(SITE)) == 2 and not node.of(ROOT)


async def test_hearing_states_and_quality_keep_their_since(new_node: NewNode) -> None:
    node = await new_node()
    await node.change(node.board.connect("kiosk", principal("staff", SITE)))
    await node.change(node.board.in_hearing("kiosk", 3, "p1", "waiting", "Xã Tân Lập"))
    await eventually(lambda: node.last(SITE).get("state") == "waiting", what="waiting")
    waiting = node.last(SITE)
    assert waiting["hearing_id"] == 3 and waiting["participant_id"] == "p1"
    assert waiting["office_name"] == "Xã Tân Lập"
    quality = Quality(rtt_ms=12.5, loss_pct=0.25, bitrate_kbps=880.0)
    # The site's own figures ride along (an empty `inbound` must stay an object through Redis).
    client = {"sent_width": 640, "sent_height": 480, "candidate_type": "srflx", "inbound": {}}
    assert node.board.client_measured("kiosk", "p1", client)
    await node.change(node.board.measured("kiosk", "p1", quality))
    await eventually(lambda: node.last(SITE).get("bitrate_kbps") == 880.0, what="quality")
    measured = node.last(SITE)
    assert measured["since"] == waiting["since"]
    assert (measured["rtt_ms"], measured["loss_pct"]) == (12.5, 0.25)
    assert measured["client"] == client
    await node.change(node.board.in_hearing("kiosk", 3, "p1", "admitted"))
    await eventually(lambda: node.last(SITE).get("state") == "admitted", what="admitted")
    (shown,) = await node.presence.snapshot("/1/")
    assert shown["state"] == "admitted" and shown["bitrate_kbps"] == 880.0
    assert [s["state"] for s in node.of(SITE)] == [None, "waiting", "waiting", "admitted"]


# -- what only a cluster does ---------------------------------------------------------------------


async def test_two_nodes_show_one_board_the_connection_furthest_in_wins(
    redis_node: NewNode,
) -> None:
    a, b = await redis_node(), await redis_node()
    await a.change(a.board.connect("kiosk", principal("staff", SITE)))
    await a.change(a.board.in_hearing("kiosk", 3, "p1", "waiting"))
    await eventually(lambda: b.last(SITE).get("state") == "waiting", what="A's site on B")
    # A laptop of the same office on B, only connected: the kiosk in the hearing still shows.
    await b.change(b.board.connect("laptop", principal("leader", SITE)))
    await b.change(b.board.connect("other", principal("staff", OTHER)))
    await eventually(lambda: bool(a.of(OTHER)), what="B's site on A")
    assert b.last(SITE)["state"] == "waiting" and len(b.of(SITE)) == 2
    for node in (a, b):
        sites = await node.presence.snapshot("")
        assert [(s["office_id"], s["state"]) for s in sites] == [(SITE, "waiting"), (OTHER, None)]
    assert [s["office_id"] for s in await b.presence.snapshot("/1/5/")] == [SITE]
    # The kiosk goes: the office stays online through B's laptop, in no hearing.
    await a.change(a.board.disconnect("kiosk"))
    await eventually(lambda: b.last(SITE).get("state") is None, what="laptop shown")
    assert b.last(SITE)["online"] is True and a.last(SITE) == b.last(SITE)
    await b.change(b.board.disconnect("laptop"))
    await eventually(lambda: a.last(SITE).get("online") is False, what="offline on A")


async def test_a_silent_node_is_swept_and_comes_back_when_it_beats_again(
    redis_node: NewNode, redis_url: str
) -> None:
    a, b = await redis_node(ttl=1.0), await redis_node(ttl=1.0)
    await a.change(a.board.connect("kiosk", principal("staff", SITE)))
    await eventually(lambda: b.last(SITE).get("online") is True, what="online on B")
    assert isinstance(a.presence, RedisPresence)
    # A's heartbeat ran out as if it had been cut off: B's next beat sweeps it, and A, finding
    # itself swept at its own next beat, writes its sites again.
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        await client.zadd(PREFIX + "nodes", {a.presence.node_id: 0})
    finally:
        await client.aclose()
    # (Whichever beats first sweeps it: A's own beat may bring it back within milliseconds.)
    await eventually(
        lambda: [s["online"] for s in b.of(SITE)] == [True, False, True], what="swept, back"
    )
    assert [s["online"] for s in a.of(SITE)] == [True, False, True]
    (back,) = await b.presence.snapshot("")
    assert back["online"] is True


async def test_after_redis_restarts_empty_the_nodes_put_the_board_back(own_redis: Any) -> None:
    async with _nodes(own_redis.url) as start:
        a, b = await start(ttl=1.0), await start(ttl=1.0)
        await a.change(a.board.connect("kiosk", principal("staff", SITE)))
        await b.change(b.board.connect("other", principal("staff", OTHER)))
        await eventually(lambda: bool(b.of(SITE)) and bool(a.of(OTHER)), what="both boards")
        own_redis.restart()  # nodes, node entries, statuses: all gone
        # Each node finds itself unknown at its next beat and writes its sites again; each
        # listener, subscribed again, hands out the stored statuses once more.
        await eventually(lambda: len(b.of(SITE)) >= 2 and len(a.of(OTHER)) >= 2, within=10)
        assert b.last(SITE)["online"] is True and a.last(OTHER)["online"] is True
        for node in (a, b):
            sites = await node.presence.snapshot("")
            assert [(s["office_id"], s["online"]) for s in sites] == [(SITE, True), (OTHER, True)]
        # And changes flow again.
        await a.change(a.board.disconnect("kiosk"))
        await eventually(lambda: b.last(SITE).get("online") is False, what="offline after")

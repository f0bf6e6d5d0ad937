"""The link monitor on a real migrated database: samples graded and kept, a site poor for longer
than the setting opens site_degraded (logged in its hearing), its first good grade closes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.config import Settings
from hub.domain.hearings import HearingDraft, HearingKind
from hub.domain.link_grade import Grade, LinkSample
from hub.services import alerts, hearings, sessionlog
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from signaling.link_history import LinkHistory, MemoryLinkHistory, RedisLinkHistory
from signaling.link_monitor import LinkMonitor
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree, build_tree

T0 = 1_830_000_000.0


@pytest.fixture
async def db(tmp_path: object) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path}/monitor.sqlite3"
    await upgrade(Settings(database_url=url))
    database = Database(url)
    try:
        yield database
    finally:
        await database.close()


async def a_hearing(db: Database, tree: Tree) -> int:
    start = datetime(2027, 3, 1, 8, 0, tzinfo=VN)
    draft = HearingDraft(
        title="Phiên thử",
        kind=HearingKind.ADHOC,
        host_office_id=tree.office["TW"].id,
        site_office_ids=(tree.office["HY"].id,),
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )
    async with db.transaction() as session:
        (row,) = await hearings.create(session, tree.admin, draft)
        return row.id


def lossy(loss: float) -> LinkSample:
    return LinkSample.from_fields({"rtt_ms": 40.0, "loss_pct": loss, "bitrate_kbps": 800.0})


@pytest.fixture(params=["memory", "redis"])
async def history(request: pytest.FixtureRequest) -> AsyncIterator[LinkHistory]:
    store: LinkHistory = (
        MemoryLinkHistory()
        if request.param == "memory"
        else RedisLinkHistory(request.getfixturevalue("redis_url"))
    )
    try:
        yield store
    finally:
        await store.close()


async def test_twelve_percent_loss_grades_poor_opens_degraded_and_recovery_closes_it(
    db: Database, history: LinkHistory
) -> None:
    tree = await build_tree(db)
    hearing_id = await a_hearing(db, tree)
    hy = tree.office["HY"].id
    monitor = LinkMonitor.from_settings(Settings(alert_degraded_seconds=9), history, db)
    told: list[dict[str, Any]] = []

    async def announce(view: dict[str, Any]) -> None:
        told.append(view)

    monitor.on_alert = announce
    graded = [await monitor.measured(hy, lossy(0.0), hearing_id=hearing_id, at=T0)]
    for i, loss in enumerate([12.4, 9.1, 13.8, 11.5, 14.2, 12.0], start=1):
        graded.append(await monitor.measured(hy, lossy(loss), hearing_id=hearing_id, at=T0 + 3 * i))
    # Poor once two of the last three samples are 10 % or more.
    assert [g.grade for g in graded] == [*[Grade.GOOD] * 3, *[Grade.POOR] * 4]
    assert monitor.grade_of(hy) == graded[-1]
    assert graded[-1].reasons[0].code == "loss"
    async with db.transaction() as session:
        (alert,) = await alerts.open_alerts_of(session, hy)
    assert alert.kind == "site_degraded" and alert.hearing_id == hearing_id
    assert alert.detail["grade"] == "poor" and alert.detail["seconds"] >= 9
    assert "recent packet loss" in alert.detail["reasons"][0]

    assert [(v["kind"], v["open"], v["office_name"]) for v in told] == [
        ("site_degraded", True, tree.office["HY"].name)
    ]
    for i in range(7, 10):  # the loss goes away: good after two clean samples
        await monitor.measured(hy, lossy(0.0), hearing_id=hearing_id, at=T0 + 3 * i)
    async with db.transaction() as session:
        assert await alerts.open_alerts_of(session, hy) == []
        log = await sessionlog.events(session, hearing_id)
    assert [e["detail"]["event"] for e in log if e["kind"] == "connectivity"] == [
        "alert_opened",
        "alert_closed",
    ]
    assert [v["open"] for v in told] == [True, False]
    kept = await monitor.history.since(hy, 0)
    assert [s.loss_pct for _, s in kept][:3] == [0.0, 12.4, 9.1]


async def test_the_browsers_figures_ride_on_the_next_hub_sample_while_fresh(
    db: Database,
) -> None:
    tree = await build_tree(db)
    hy = tree.office["HY"].id
    monitor = LinkMonitor.from_settings(Settings(), MemoryLinkHistory(), db)
    monitor.client_reported(hy, LinkSample(candidate_type="relay", sent_width=640), at=T0)
    await monitor.measured(hy, lossy(1.0), at=T0 + 3)
    await monitor.measured(hy, lossy(1.0), at=T0 + 30)  # the report is stale by now
    (_, first), (_, second) = await monitor.history.since(hy, 0)
    assert (first.candidate_type, first.sent_width, first.loss_pct) == ("relay", 640, 1.0)
    assert second.candidate_type is None


async def test_a_site_leaving_closes_its_degraded_alert(db: Database) -> None:
    tree = await build_tree(db)
    bg = tree.office["BG"].id
    monitor = LinkMonitor.from_settings(Settings(alert_degraded_seconds=5), MemoryLinkHistory(), db)
    for i in range(5):
        await monitor.measured(bg, LinkSample(rtt_ms=950.0), at=T0 + 3 * i)
    async with db.transaction() as session:
        (alert,) = await alerts.open_alerts_of(session, bg)
    assert alert.detail["worst"] == "bad"
    await monitor.left(bg)
    assert monitor.grade_of(bg) is None
    async with db.transaction() as session:
        assert await alerts.open_alerts_of(session, bg) == []

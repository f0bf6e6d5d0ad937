"""Alerts stored on both back ends: opened and closed idempotently, one open per kind, office and
hearing even when opened at once, listed by scope, acknowledged by operators, and written to the
hearing's session log as connectivity incidents."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from hub.domain.alerts import AlertDraft, AlertKind
from hub.domain.errors import Forbidden, NotFound, ValidationFailed
from hub.domain.hearings import HearingDraft, HearingKind
from hub.services import alerts, hearings, sessionlog
from hub.storage.db import Database
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

START = datetime(2027, 3, 1, 8, 0, tzinfo=VN)


async def a_hearing(db: Database, tree: Tree) -> int:
    draft = HearingDraft(
        title="Tiếp công dân trực tuyến",
        kind=HearingKind.ADHOC,
        host_office_id=tree.office["TW"].id,
        site_office_ids=(tree.office["HY"].id, tree.office["BG"].id),
        starts_at=START,
        ends_at=START + timedelta(hours=2),
    )
    async with db.transaction() as session:
        (row,) = await hearings.create(session, tree.admin, draft)
        return row.id


async def test_opening_twice_gives_the_one_open_alert_and_closing_clears_it(
    db: Database, tree: Tree
) -> None:
    hy = tree.office["HY"].id
    async with db.transaction() as session:
        first, new = await alerts.open_alert(
            session, AlertDraft(AlertKind.SITE_OFFLINE, hy, detail={"last_seen": "08:01"})
        )
        assert new
        again, new_again = await alerts.open_alert(session, AlertDraft(AlertKind.SITE_OFFLINE, hy))
        assert (again.id, new_again) == (first.id, False)
        # Another kind, or the same kind in a hearing, is an alert of its own.
        other, _ = await alerts.open_alert(session, AlertDraft(AlertKind.SELF_TEST_FAILED, hy))
        assert other.id != first.id
    async with db.transaction() as session:
        closed = await alerts.close_alert(
            session, AlertKind.SITE_OFFLINE, hy, detail={"back": True}
        )
        assert closed is not None and closed.id == first.id
        assert closed.closed_at is not None
        assert closed.detail == {"last_seen": "08:01", "back": True}
        assert await alerts.close_alert(session, AlertKind.SITE_OFFLINE, hy) is None
        # Once closed, the condition coming back is a new alert.
        third, new = await alerts.open_alert(session, AlertDraft(AlertKind.SITE_OFFLINE, hy))
        assert new and third.id not in (first.id, other.id)
        assert [r.kind for r in await alerts.open_alerts_of(session, hy)] == [
            "self_test_failed",
            "site_offline",
        ]
        assert await alerts.count_open(session) == {"self_test_failed": 1, "site_offline": 1}


async def test_two_nodes_opening_the_same_alert_at_once_make_one(db: Database, tree: Tree) -> None:
    bg = tree.office["BG"].id

    async def open_one() -> int:
        async with db.transaction() as session:
            row, _ = await alerts.open_alert(session, AlertDraft(AlertKind.SITE_OFFLINE, bg))
            return row.id

    ids = await asyncio.gather(*(open_one() for _ in range(6)))
    assert len(set(ids)) == 1
    async with db.transaction() as session:
        assert len(await alerts.open_alerts_of(session, bg)) == 1


async def test_an_alert_of_a_missing_office_is_refused(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed, match="office 9999"):
            await alerts.open_alert(session, AlertDraft(AlertKind.SITE_OFFLINE, 9999))


async def test_alerts_during_a_hearing_are_connectivity_incidents_in_its_log(
    db: Database, tree: Tree
) -> None:
    hearing_id = await a_hearing(db, tree)
    hy = tree.office["HY"].id
    async with db.transaction() as session:
        row, _ = await alerts.open_alert(
            session,
            AlertDraft(AlertKind.SITE_DEGRADED, hy, hearing_id, {"grade": "poor", "loss": 12.5}),
        )
        await alerts.open_alert(session, AlertDraft(AlertKind.SITE_DEGRADED, hy, hearing_id))
        await alerts.open_alert(session, AlertDraft(AlertKind.SITE_OFFLINE, hy))  # no hearing
    async with db.transaction() as session:
        await alerts.close_alert(session, AlertKind.SITE_DEGRADED, hy, hearing_id)
    async with db.transaction() as session:
        log = await sessionlog.events(session, hearing_id)
    incidents = [e for e in log if e["kind"] == "connectivity"]
    assert [e["detail"]["event"] for e in incidents] == ["alert_opened", "alert_closed"]
    opened, closed = incidents
    assert opened["office_id"] == hy and opened["office_name"] == tree.office["HY"].name
    assert opened["detail"] == {
        "event": "alert_opened",
        "alert_id": row.id,
        "alert": "site_degraded",
        "grade": "poor",
        "loss": 12.5,
    }
    assert closed["detail"]["alert_id"] == row.id
    assert closed["detail"]["lasted_seconds"] >= 0


async def test_the_list_shows_the_callers_subtree_newest_first(db: Database, tree: Tree) -> None:
    hearing_id = await a_hearing(db, tree)
    async with db.transaction() as session:
        for code in ("TW", "HY", "HY.VANLAM", "BG"):
            draft = AlertDraft(AlertKind.SITE_OFFLINE, tree.office[code].id)
            await alerts.open_alert(session, draft)
        await alerts.open_alert(
            session,
            AlertDraft(AlertKind.SITE_NOT_CONNECTED_AT_START, tree.office["HY"].id, hearing_id),
        )
        await alerts.close_alert(session, AlertKind.SITE_OFFLINE, tree.office["BG"].id)

    async def names(actor: object, **filters: object) -> list[str]:
        async with db.transaction() as session:
            items, total = await alerts.list_(session, actor, **filters)  # type: ignore[arg-type]
        assert total == len(items)
        return [f"{i['kind']}@{i['office_name']}" for i in items]

    hy, vanlam = tree.office["HY"].name, tree.office["HY.VANLAM"].name
    assert await names(tree.operator_hy) == [
        f"site_not_connected_at_start@{hy}",
        f"site_offline@{vanlam}",
        f"site_offline@{hy}",
    ]
    assert await names(tree.leader_hy, kind="site_offline") == [
        f"site_offline@{vanlam}",
        f"site_offline@{hy}",
    ]
    assert await names(tree.staff_bg, open_only=True) == []
    bg = tree.office["BG"].name
    assert await names(tree.staff_bg, closed_only=True) == [f"site_offline@{bg}"]
    assert len(await names(tree.admin)) == 5
    assert len(await names(tree.admin, open_only=True)) == 4
    assert await names(tree.admin, hearing_id=hearing_id) == [f"site_not_connected_at_start@{hy}"]
    assert await names(tree.admin, office_id=tree.office["HY.VANLAM"].id) == [
        f"site_offline@{vanlam}"
    ]
    with pytest.raises(ValidationFailed) as caught:
        await names(tree.operator_hy, office_id=tree.office["BG"].id)
    assert "office" in caught.value.fields


async def test_an_operator_acknowledges_once_and_who_and_when_are_kept(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        row, _ = await alerts.open_alert(
            session, AlertDraft(AlertKind.MEDIA_DEVICE_MISSING, tree.office["HY.VANLAM"].id)
        )
        bg_row, _ = await alerts.open_alert(
            session, AlertDraft(AlertKind.SITE_OFFLINE, tree.office["BG"].id)
        )
    async with db.transaction() as session:
        seen = await alerts.acknowledge(session, tree.operator_hy, row.id)
    assert seen["acknowledged_by"] == tree.operator_hy.user_id
    assert seen["acknowledged_by_name"] == tree.operator_hy.display_name
    assert seen["acknowledged_at"] is not None and seen["open"] is True
    async with db.transaction() as session:
        again = await alerts.acknowledge(session, tree.admin, row.id)
    assert again["acknowledged_by"] == tree.operator_hy.user_id
    assert again["acknowledged_at"] == seen["acknowledged_at"]
    async with db.transaction() as session:
        with pytest.raises(NotFound):  # outside the operator's scope: as if it did not exist
            await alerts.acknowledge(session, tree.operator_hy, bg_row.id)
        with pytest.raises(NotFound):
            await alerts.acknowledge(session, tree.admin, 999_999)
        with pytest.raises(Forbidden, match="leader"):
            await alerts.acknowledge(session, tree.leader_hy, row.id)


async def test_invited_sites_not_connected_at_the_start_are_alerted_until_they_connect(
    db: Database, tree: Tree
) -> None:
    hearing_id = await a_hearing(db, tree)  # hosted by TW, inviting HY and BG
    tw, hy, bg = (tree.office[c].id for c in ("TW", "HY", "BG"))
    async with db.transaction() as session:
        opened, closed = await alerts.check_attendance(
            session, hearing_id, [tw, tree.office["HY.VANLAM"].id], detail={"check": "start"}
        )
    assert sorted(r.office_id for r in opened) == sorted([hy, bg]) and closed == []
    assert all(r.detail == {"check": "start"} for r in opened)
    async with db.transaction() as session:  # a few minutes in: HY came, BG still missing
        opened, closed = await alerts.check_attendance(session, hearing_id, [tw, hy])
    assert opened == [] and [r.office_id for r in closed] == [hy]
    async with db.transaction() as session:
        assert [r.kind for r in await alerts.open_alerts_of(session, bg)] == [
            "site_not_connected_at_start"
        ]
        assert await alerts.open_alerts_of(session, hy) == []
        with pytest.raises(NotFound):
            await alerts.check_attendance(session, 999_999, [])

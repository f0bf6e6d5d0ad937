"""Deadlines kept on both back ends, against the seeded holiday table and dates worked out by
hand: a suspension's days not counted, an override inherited down the tree, the deadlines of
petitions registered before they were kept filled in, the register's due views, and the alert
the working day before raised once per petition and deadline, by the app's own daily task."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import func, select, update

from hub.domain.deadlines import CalendarDay, CalendarDayKind, Due, Override, RuleKey
from hub.domain.petitions import PetitionDraft, PetitionType
from hub.services import deadline_alerts, deadlines, petition_search, petitions
from hub.services.deadline_alerts import DeadlineTask
from hub.storage.db import Database
from hub.storage.tables import DeadlineAlertRow, PetitionHistoryRow, PetitionRow
from tests.hub.storage.conftest import Tree


def draft(office_id: int, received: date, **extra: object) -> PetitionDraft:
    fields: dict[str, object] = {
        "type": PetitionType.COMPLAINT,
        "office_id": office_id,
        "petitioner_name": "Trần Văn An",
        "content": "Khiếu nại quyết định thu hồi đất.",
        "received_on": received,
    }
    fields.update(extra)
    return PetitionDraft.from_fields(fields)


async def test_a_suspension_does_not_count_and_resuming_moves_the_deadline(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        row = await petitions.create(
            session,
            tree.staff_hy,
            draft(tree.office["HY"].id, date(2026, 7, 30), type=PetitionType.DENUNCIATION),
        )
        await petitions.update(
            session, tree.staff_hy, row.id, {}, status="accepted", status_on=date(2026, 8, 3)
        )
        assert row.handling_deadline == date(2026, 9, 3)  # Mon 3/8 + 30: 2/9 off, so 3/9
        await petitions.update(session, tree.staff_hy, row.id, {}, status="suspended")
        # Suspended on Mon 10/8/2026 (08:00 in Hà Nội), resumed on Mon 24/8: 14 days paused.
        await session.execute(
            update(PetitionHistoryRow)
            .where(PetitionHistoryRow.petition_id == row.id)
            .where(PetitionHistoryRow.to_status == "suspended")
            .values(at=datetime(2026, 8, 10, 1, 0, tzinfo=UTC))
        )  # fmt: skip
        await petitions.update(
            session, tree.staff_hy, row.id, {}, status="accepted", status_on=date(2026, 8, 24)
        )
        # The start moves to 17/8; 30 days: Wed 16/9/2026, a working day.
        assert row.deadline_started_on == date(2026, 8, 17)
        assert row.handling_deadline == date(2026, 9, 16)


async def test_an_override_of_a_province_reaches_its_communes_unless_they_set_their_own(
    db: Database, tree: Tree
) -> None:
    hy, commune = tree.office["HY"].id, tree.office["HY.VANLAM.LACHONG"].id
    async with db.transaction() as session:
        await deadlines.set_override(session, tree.admin, hy, Override(RuleKey.INTAKE, days=5))
        rules = await deadlines.office_rules(session, tree.staff_hy, commune)
        intake = next(r for r in rules["rules"] if r["rule"] == "intake")
        assert (intake["days"], intake["override_office_id"]) == (5, hy)
        # Fri 13/2/2026 before Tết: five working days are 23-27 Feb.
        row = await petitions.create(session, tree.staff_hy, draft(commune, date(2026, 2, 13)))
        assert row.handling_deadline == date(2026, 2, 27)
        await deadlines.set_override(session, tree.admin, commune, Override(RuleKey.INTAKE, days=3))
        await session.refresh(row)
        assert row.handling_deadline == date(2026, 2, 25)  # 23, 24, 25 Feb
        bg = await petitions.create(
            session, tree.staff_bg, draft(tree.office["BG"].id, date(2026, 2, 13))
        )
        assert bg.handling_deadline == date(2026, 3, 6)  # the law's ten days


async def test_petitions_registered_before_deadlines_were_kept_get_theirs(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        row = await petitions.create(
            session, tree.staff_hy, draft(tree.office["HY"].id, date(2026, 2, 13))
        )
        # As migration 0014 leaves a petition registered before it, with no deadline typed in.
        await session.execute(
            update(PetitionRow)
            .where(PetitionRow.id == row.id)
            .values(deadline_rule=None, handling_deadline=None, deadline_started_on=None)
        )
    task = DeadlineTask(db, today=lambda: date(2026, 2, 14))
    await task.run_once()
    async with db.transaction() as session:
        filled = await session.get(PetitionRow, row.id)
        assert filled is not None
        assert (filled.deadline_rule, filled.handling_deadline) == ("intake", date(2026, 3, 6))


async def test_the_register_lists_overdue_and_this_weeks_deadlines_in_scope(
    db: Database, tree: Tree
) -> None:
    hy, bg = tree.office["HY"].id, tree.office["BG"].id
    async with db.transaction() as session:
        late = await petitions.create(
            session,
            tree.staff_hy,
            draft(hy, date(2026, 9, 21), handling_deadline=date(2026, 10, 6)),
        )
        soon = await petitions.create(
            session,
            tree.staff_hy,
            draft(hy, date(2026, 9, 21), handling_deadline=date(2026, 10, 13)),
        )
        await petitions.create(
            session,
            tree.staff_hy,
            draft(hy, date(2026, 9, 21), handling_deadline=date(2026, 10, 14)),
        )
        other = await petitions.create(
            session,
            tree.staff_bg,
            draft(bg, date(2026, 9, 21), handling_deadline=date(2026, 10, 1)),
        )
    today = date(2026, 10, 7)
    for actor, due, expected in [
        (tree.staff_hy, Due.OVERDUE, {late.id}),
        (tree.staff_hy, Due.WEEK, {soon.id}),
        (tree.staff_bg, Due.OVERDUE, {other.id}),
        (tree.staff_bg, Due.WEEK, set()),
        (tree.admin, Due.OVERDUE, {late.id, other.id}),
    ]:
        async with db.transaction() as session:
            page = await petition_search.search(
                session,
                actor,
                petition_search.PetitionQuery(due=str(due), today=today),
                is_sqlite=db.is_sqlite,
            )
            texted = await petition_search.search(
                session,
                actor,
                petition_search.PetitionQuery(due=str(due), today=today, text="thu hồi"),
                is_sqlite=db.is_sqlite,
            )
            counts = await deadlines.due_counts(session, actor, today=today)
        assert {i["id"] for i in page.items} == expected, (actor.username, due)
        assert {i["id"] for i in texted.items} == expected, (actor.username, due)
        assert page.total == len(expected)
        assert (counts.overdue if due is Due.OVERDUE else counts.due_within) == len(expected)


async def alert_count(db: Database, petition_id: int) -> int:
    async with db.transaction() as session:
        query = select(func.count()).where(DeadlineAlertRow.petition_id == petition_id)
        return int((await session.execute(query)).scalar_one())


async def test_the_alert_fires_on_the_working_day_before_and_only_once(
    db: Database, tree: Tree
) -> None:
    hy = tree.office["HY"].id
    async with db.transaction() as session:
        # Received Fri 2/10/2026: ten working days end Fri 16/10.
        row = await petitions.create(session, tree.staff_hy, draft(hy, date(2026, 10, 2)))
        assert row.handling_deadline == date(2026, 10, 16)
        # Due Mon 19/10 (typed in): its working day before is Friday 16/10.
        monday = await petitions.create(
            session,
            tree.staff_hy,
            draft(hy, date(2026, 10, 2), handling_deadline=date(2026, 10, 19)),
        )
    async with db.transaction() as session:
        assert await deadline_alerts.raise_due(session, date(2026, 10, 14)) == 0  # Wednesday
    async with db.transaction() as session:
        assert await deadline_alerts.raise_due(session, date(2026, 10, 15)) == 1  # Thursday
    assert (await alert_count(db, row.id), await alert_count(db, monday.id)) == (1, 0)
    # Friday: Monday's deadline; Friday's own is alerted already and stays one.
    for _ in range(2):
        async with db.transaction() as session:
            await deadline_alerts.raise_due(session, date(2026, 10, 16))
    assert (await alert_count(db, row.id), await alert_count(db, monday.id)) == (1, 1)
    async with db.transaction() as session:
        shown = await deadline_alerts.alerts_for(session, tree.staff_hy, today=date(2026, 10, 16))
        assert [a["petition_id"] for a in shown] == [row.id, monday.id]
        assert (
            await deadline_alerts.alerts_for(session, tree.staff_bg, today=date(2026, 10, 16)) == []
        )
        # Once the petition leaves its stage the alert is no longer shown.
        await petitions.update(session, tree.staff_hy, row.id, {}, status="filed")
        shown = await deadline_alerts.alerts_for(session, tree.staff_hy, today=date(2026, 10, 16))
        assert [a["petition_id"] for a in shown] == [monday.id]


async def test_two_runs_at_once_raise_one_alert(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        row = await petitions.create(
            session,
            tree.staff_hy,
            draft(tree.office["HY"].id, date(2026, 10, 2), handling_deadline=date(2026, 10, 16)),
        )
    tasks = [DeadlineTask(db, today=lambda: date(2026, 10, 15)) for _ in range(3)]
    await asyncio.gather(*(t.run_once() for t in tasks))
    assert await alert_count(db, row.id) == 1


async def test_the_daily_task_runs_at_start_and_is_cancelled_on_close(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        row = await petitions.create(
            session,
            tree.staff_hy,
            draft(tree.office["HY"].id, date(2026, 10, 2), handling_deadline=date(2026, 10, 16)),
        )
    task = DeadlineTask(db, today=lambda: date(2026, 10, 15))
    task.start()
    await asyncio.wait_for(task.ran.wait(), 10)
    assert task.runs == 1 and await alert_count(db, row.id) == 1
    await task.close()
    await task.close()  # a second close is harmless


async def test_a_day_added_to_the_holiday_table_moves_the_deadlines_it_spans(
    db: Database, tree: Tree
) -> None:
    hy = tree.office["HY"].id
    async with db.transaction() as session:
        # Mon 5/10/2026: ten working days end Mon 19/10; one received after the new day off
        # (Mon 12/10) and one already filed do not move.
        spanning = await petitions.create(session, tree.staff_hy, draft(hy, date(2026, 10, 5)))
        after = await petitions.create(session, tree.staff_hy, draft(hy, date(2026, 10, 12)))
        filed = await petitions.create(session, tree.staff_hy, draft(hy, date(2026, 10, 5)))
        await petitions.update(session, tree.staff_hy, filed.id, {}, status="filed")
        assert (spanning.handling_deadline, after.handling_deadline) == (
            date(2026, 10, 19),
            date(2026, 10, 26),
        )
    day_off = CalendarDay(date(2026, 10, 12), CalendarDayKind.HOLIDAY, "Nghỉ đột xuất")
    async with db.transaction() as session:
        await deadlines.put_day(session, tree.admin, day_off)

    async def due(pid: int) -> date | None:
        async with db.transaction() as session:
            row = await session.get(PetitionRow, pid)
            assert row is not None
            return row.handling_deadline

    assert (await due(spanning.id), await due(after.id), await due(filed.id)) == (
        date(2026, 10, 20),
        date(2026, 10, 26),
        date(2026, 10, 19),
    )
    async with db.transaction() as session:
        await deadlines.delete_day(session, tree.admin, date(2026, 10, 12))
    assert await due(spanning.id) == date(2026, 10, 19)

"""Deadline alerts: on the working day before a petition's handling deadline its office's staff
are told, once per petition and deadline (a unique pair, so a second run, a restart or a second
hub node adds nothing). The daily task that raises them is owned by the app (DeadlineTask)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import LOCAL_TZ, local_iso, now, now_local
from hub.domain.deadlines import OPEN_STATUSES, alert_window
from hub.domain.users import Action
from hub.services import deadlines
from hub.services.access import Actor
from hub.services.scope import in_subtree
from hub.storage.db import Database
from hub.storage.tables import DeadlineAlertRow, OfficeRow, PetitionRow

log = logging.getLogger(__name__)

_OPEN = [str(s) for s in OPEN_STATUSES]


async def raise_due(session: AsyncSession, today: date) -> int:
    """Raise the alerts of the running deadlines that fall between today and the next working
    day (deadlines.alert_window); how many were new. Idempotent."""
    calendar = await deadlines.work_calendar(session)
    first, last = alert_window(today, calendar)
    due = (
        await session.execute(
            select(
                PetitionRow.id,
                PetitionRow.office_id,
                PetitionRow.handling_deadline,
                PetitionRow.deadline_rule,
            ).where(
                PetitionRow.status.in_(_OPEN),
                PetitionRow.handling_deadline >= first,
                PetitionRow.handling_deadline <= last,
            )
        )
    ).all()
    new = await _insert(session, due)
    if new:
        log.info("deadline alerts: %s raised for deadlines %s..%s", new, first, last)
    return new


async def raise_for(session: AsyncSession, row: PetitionRow, today: date) -> int:
    """raise_due for one petition just registered or edited, read from the row in hand: a
    deadline already in the window cannot wait for the next daily run (which, for a deadline
    tomorrow, would come on the day itself). 1 if its alert is new."""
    if row.status not in _OPEN or row.handling_deadline is None or row.handling_deadline < today:
        return 0
    first, last = alert_window(today, await deadlines.work_calendar(session))
    if not first <= row.handling_deadline <= last:
        return 0
    return await _insert(session, [row])


async def _insert(session: AsyncSession, due: Sequence[Any]) -> int:
    """One alert per petition (id, office_id, handling_deadline, deadline_rule) and deadline;
    how many were new."""
    if not due:
        return 0
    stamp = now()
    values = [
        {
            "petition_id": r.id,
            "office_id": r.office_id,
            "due_on": r.handling_deadline,
            "rule": r.deadline_rule or deadlines.MANUAL,
            "raised_at": stamp,
        }
        for r in due
    ]
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # One per petition and deadline even when two nodes run at once: the pair is unique.
    statement = (
        insert(DeadlineAlertRow)
        .on_conflict_do_nothing(index_elements=["petition_id", "due_on"])
        .returning(DeadlineAlertRow.id)
    )
    new = 0
    for value in values:
        new += len((await session.execute(statement, value)).all())
    return new


async def alerts_for(
    session: AsyncSession, actor: Actor, *, today: date | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The alerts staff see: petitions in scope still in the stage the alert was raised for
    (the deadline unchanged, not past), soonest first."""
    actor.require(Action.READ_PETITIONS)
    today = today or deadlines.today_local()
    rows = await session.execute(
        select(
            DeadlineAlertRow.id,
            DeadlineAlertRow.due_on,
            DeadlineAlertRow.raised_at,
            PetitionRow.id.label("petition_id"),
            PetitionRow.case_code,
            PetitionRow.type,
            PetitionRow.status,
            OfficeRow.name.label("office_name"),
        )
        .join(PetitionRow, PetitionRow.id == DeadlineAlertRow.petition_id)
        .join(OfficeRow, OfficeRow.id == PetitionRow.office_id)
        .where(
            in_subtree(OfficeRow.path, actor.office_path),
            PetitionRow.status.in_(_OPEN),
            and_(
                PetitionRow.handling_deadline == DeadlineAlertRow.due_on,
                DeadlineAlertRow.due_on >= today,
            ),
        )
        .order_by(DeadlineAlertRow.due_on, DeadlineAlertRow.id)
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "petition_id": r.petition_id,
            "case_code": r.case_code,
            "type": r.type,
            "status": r.status,
            "office_name": r.office_name,
            "due_on": r.due_on.isoformat(),
            "raised_at": local_iso(r.raised_at),
        }
        for r in rows
    ]


def _next_run(after: datetime) -> datetime:
    """The next 00:05 in Vietnam after `after`: the day's run, once the date has turned."""
    local = after.astimezone(LOCAL_TZ)
    run = datetime.combine(local.date(), time(0, 5), LOCAL_TZ)
    return run if run > local else run + timedelta(days=1)


class DeadlineTask:
    """The daily deadline run: fills in the deadlines of petitions registered before they were
    kept, then raises the alerts of the deadlines due by the next working day. Runs once at
    start (a hub started mid-day catches up) and then every day at 00:05 Vietnam time; `close`
    cancels and awaits it."""

    def __init__(self, database: Database, today: Callable[[], date] | None = None) -> None:
        self.database = database
        self._today = today or (lambda: now_local().date())
        self._task: asyncio.Task[None] | None = None
        # Set after each run: what tests and the start page wait for.
        self.runs = 0
        self.ran = asyncio.Event()

    async def run_once(self) -> int:
        """One run; how many alerts were new."""
        async with self.database.transaction() as session:
            while await deadlines.fill_missing(session):
                pass
        async with self.database.transaction() as session:
            new = await raise_due(session, self._today())
        self.runs += 1
        self.ran.set()
        return new

    def start(self) -> None:
        """Start the daily loop (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="deadline-alerts")

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A failed run (the database away) is retried at the next one, not fatal.
                log.exception("deadline run failed")
            delay = (_next_run(now()) - now()).total_seconds()
            await asyncio.sleep(max(1.0, delay))

    async def close(self) -> None:
        """Cancel the loop and wait for it to end."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

"""Exact totals of the register's list on PostgreSQL, from the `petition_counts` rollup.

Migration 0005 keeps, per office, month received, type, status and crowd flag, how many
petitions there are. A total under filters without text is the sum over the months its dates
take whole, plus the part-months at either end counted from the covering indexes: a few days
of entries instead of every petition in scope (0.3-1 s for a central user on two million).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Boolean, Date, Integer, String, column, false, func, select, table, true
from sqlalchemy.ext.asyncio import AsyncSession

from hub.storage.tables import PetitionRow

# PostgreSQL only (migration 0005), so not among the ORM tables both back ends share.
COUNTS = table(
    "petition_counts",
    column("office_id", Integer),
    column("received_month", Date),
    column("type", String),
    column("status", String),
    column("crowd", Boolean),
    column("n", Integer),
)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def whole_months(first: date | None, last: date | None) -> tuple[date | None, date | None]:
    """[from, to) of the first days of the months that lie wholly within first..last (None:
    unbounded on that side); from >= to when there is none."""
    low = None if first is None else first if first.day == 1 else _next_month(first)
    high = None if last is None else _month_start(last + timedelta(days=1))
    return low, high


async def rollup_total(
    session: AsyncSession,
    *,
    offices: Sequence[int] | None,
    type_: str | None,
    status: str | None,
    crowd: bool | None,
    received_from: date | None,
    received_to: date | None,
    count_days: Callable[[date | None, date | None], Any],
) -> int:
    """The exact number of petitions under these filters. `count_days(start, end)` is the
    caller's count statement of the petitions received start..end (inclusive) under the same
    filters, for the part-months the rollup cannot answer."""
    conditions: list[Any] = []
    if offices is not None:
        conditions.append(COUNTS.c.office_id.in_(offices))
    if type_:
        conditions.append(COUNTS.c.type == type_)
    if status:
        conditions.append(COUNTS.c.status == status)
    if crowd is not None:
        conditions.append(COUNTS.c.crowd == (true() if crowd else false()))
    low, high = whole_months(received_from, received_to)
    if low is not None and high is not None and low >= high:
        # No month lies wholly inside the dates: count them all from the index.
        return int((await session.execute(count_days(received_from, received_to))).scalar_one())
    if low is not None:
        conditions.append(COUNTS.c.received_month >= low)
    if high is not None:
        conditions.append(COUNTS.c.received_month < high)
    total = int(
        (
            await session.execute(select(func.coalesce(func.sum(COUNTS.c.n), 0)).where(*conditions))
        ).scalar_one()
    )
    if received_from is not None and low is not None and received_from < low:
        part = count_days(received_from, low - timedelta(days=1))
        total += int((await session.execute(part)).scalar_one())
    if received_to is not None and high is not None and high <= received_to:
        part = count_days(high, received_to)
        total += int((await session.execute(part)).scalar_one())
    return total


def count_days_statement(
    conditions: list[Any],
) -> Callable[[date | None, date | None], Any]:
    """count_days for rollup_total: the petitions under `conditions` (the filters without the
    dates) received start..end, counted from a covering index."""

    def count_days(start: date | None, end: date | None) -> Any:
        where = list(conditions)
        if start is not None:
            where.append(PetitionRow.received_on >= start)
        if end is not None:
            where.append(PetitionRow.received_on <= end)
        return select(func.count()).select_from(PetitionRow).where(*where)

    return count_days

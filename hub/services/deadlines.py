"""Handling deadlines kept: each petition's deadline set from the rules (hub.domain.deadlines),
the offices' overrides and the holiday table; set again when any of those change; and the
overdue and due-this-week views that pages, the API and reports count."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import LOCAL_TZ, now, now_local
from hub.domain.deadlines import (
    OPEN_STATUSES,
    RULES,
    CalendarDay,
    CalendarDayKind,
    Due,
    Override,
    RuleKey,
    WorkCalendar,
    due_date,
    due_range,
    effective_rule,
    rule_for,
)
from hub.domain.errors import Forbidden, NotFound, ValidationFailed
from hub.domain.petitions import PetitionStatus
from hub.domain.users import Action
from hub.services.access import Actor
from hub.services.scope import in_subtree
from hub.storage.tables import (
    CalendarDayRow,
    DeadlineOverrideRow,
    OfficeRow,
    PetitionHistoryRow,
    PetitionRow,
)

log = logging.getLogger(__name__)

# deadline_rule values besides the rule keys: typed in by staff, or no rule for the stage.
MANUAL = "manual"
NO_RULE = "none"
RULE_VALUES = frozenset(str(k) for k in RuleKey)
_OPEN = [str(s) for s in OPEN_STATUSES]


def today_local() -> date:
    """Today in Vietnam: deadlines are days at the offices."""
    return now_local().date()


# --- the holiday table -------------------------------------------------------------------------


async def work_calendar(session: AsyncSession) -> WorkCalendar:
    """The offices' work calendar from the holiday table (a few dozen rows a year)."""
    rows = (await session.execute(select(CalendarDayRow))).scalars()
    return WorkCalendar.of(CalendarDay(r.day, CalendarDayKind(r.kind), r.name) for r in rows)


def _day_view(row: CalendarDayRow) -> dict[str, Any]:
    return {"day": row.day.isoformat(), "kind": row.kind, "name": row.name}


async def list_days(session: AsyncSession, year: int | None = None) -> list[dict[str, Any]]:
    """The holiday table's entries (of one year), in date order. Everyone may read it."""
    query = select(CalendarDayRow).order_by(CalendarDayRow.day)
    if year is not None:
        query = query.where(
            CalendarDayRow.day >= date(year, 1, 1), CalendarDayRow.day <= date(year, 12, 31)
        )
    return [_day_view(r) for r in (await session.execute(query)).scalars()]


def _require_calendar_keeper(actor: Actor) -> None:
    """The holiday table is national: kept by an admin of a root (central) office."""
    actor.require(Action.MANAGE_DEADLINES)
    if actor.office_path.count("/") > 2:
        raise Forbidden("the holiday table is kept by the central office's admins")


async def put_day(session: AsyncSession, actor: Actor, entry: CalendarDay) -> dict[str, Any]:
    """Add or change a day of the holiday table; deadlines it moves are set again."""
    _require_calendar_keeper(actor)
    row = await session.get(CalendarDayRow, entry.day)
    if row is None:
        row = CalendarDayRow(day=entry.day, kind=str(entry.kind), name=entry.name.strip())
        session.add(row)
    else:
        row.kind, row.name = str(entry.kind), entry.name.strip()
    await session.flush()
    moved = await recompute(session, _spanning(entry.day))
    log.info("calendar day %s set (%s) by user %s; %s deadlines moved", entry.day, entry.kind,
             actor.user_id, moved)  # fmt: skip
    return _day_view(row)


async def delete_day(session: AsyncSession, actor: Actor, day: date) -> None:
    """Remove a day from the holiday table; deadlines it moved are set again."""
    _require_calendar_keeper(actor)
    row = await session.get(CalendarDayRow, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} is not in the holiday table")
    await session.delete(row)
    await session.flush()
    moved = await recompute(session, _spanning(day))
    log.info("calendar day %s removed by user %s; %s deadlines moved", day, actor.user_id, moved)


def _spanning(day: date) -> ColumnElement[bool]:
    """Running deadlines a change of `day` can move: counted from before it, due on or after it
    (a calendar-day period that ended on the day, or rolled past it, included)."""
    return and_(PetitionRow.deadline_started_on < day, PetitionRow.handling_deadline >= day)


# --- offices' overrides ------------------------------------------------------------------------


async def _overrides(session: AsyncSession) -> dict[tuple[int, str], Override]:
    rows = (await session.execute(select(DeadlineOverrideRow))).scalars()
    return {
        (r.office_id, r.rule): Override(RuleKey(r.rule), r.days, r.extension_days) for r in rows
    }


def _nearest(
    overrides: dict[tuple[int, str], Override], office_path: str, key: RuleKey
) -> tuple[int, Override] | None:
    """The override of the office or, failing that, of its nearest office above."""
    for office_id in reversed([int(p) for p in office_path.strip("/").split("/") if p]):
        found = overrides.get((office_id, str(key)))
        if found is not None:
            return office_id, found
    return None


async def _office_in_scope(session: AsyncSession, actor: Actor, office_id: int) -> OfficeRow:
    office = await session.get(OfficeRow, office_id)
    if office is None or not actor.sees(office.path):
        raise NotFound(f"office {office_id} not found")
    return office


async def office_rules(session: AsyncSession, actor: Actor, office_id: int) -> dict[str, Any]:
    """The rules as an office applies them: the law's days, the override in force (its own or
    inherited from an office above) and the effective rule."""
    actor.require(Action.READ_PETITIONS)
    office = await _office_in_scope(session, actor, office_id)
    overrides = await _overrides(session)
    items = []
    for key, law in RULES.items():
        found = _nearest(overrides, office.path, key)
        rule = effective_rule(key, found[1] if found else None)
        items.append(
            {
                "rule": str(key),
                "law": law.law,
                "count": str(law.count),
                "law_days": law.days,
                "law_extension_days": law.extension_days,
                "max_extensions": law.max_extensions,
                "days": rule.days,
                "extension_days": rule.extension_days,
                "override_office_id": found[0] if found else None,
            }
        )
    return {"office_id": office.id, "office_name": office.name, "rules": items}


async def set_override(
    session: AsyncSession, actor: Actor, office_id: int, override: Override
) -> dict[str, Any]:
    """An office's own days for a rule (an admin of it or above); running deadlines of the
    office and of those under it that take it are set again."""
    actor.require(Action.MANAGE_DEADLINES)
    office = await _office_in_scope(session, actor, office_id)
    row = await session.get(DeadlineOverrideRow, (office.id, str(override.rule)))
    if row is None:
        row = DeadlineOverrideRow(office_id=office.id, rule=str(override.rule))
        session.add(row)
    row.days, row.extension_days = override.days, override.extension_days
    row.updated_by, row.updated_at = actor.user_id, now()
    await session.flush()
    await _recompute_under(session, office, override.rule)
    return await office_rules(session, actor, office.id)


async def delete_override(
    session: AsyncSession, actor: Actor, office_id: int, key: RuleKey
) -> dict[str, Any]:
    """Back to the law's days (or an office above's override) for one rule."""
    actor.require(Action.MANAGE_DEADLINES)
    office = await _office_in_scope(session, actor, office_id)
    row = await session.get(DeadlineOverrideRow, (office.id, str(key)))
    if row is None:
        raise NotFound(f"office {office_id} has no override of {key}")
    await session.delete(row)
    await session.flush()
    await _recompute_under(session, office, key)
    return await office_rules(session, actor, office.id)


async def _recompute_under(session: AsyncSession, office: OfficeRow, key: RuleKey) -> None:
    under = select(OfficeRow.id).where(in_subtree(OfficeRow.path, office.path))
    moved = await recompute(
        session, and_(PetitionRow.office_id.in_(under), PetitionRow.deadline_rule == str(key))
    )
    log.info("deadline override %s of office %s changed; %s deadlines moved", key, office.id, moved)


# --- setting a petition's deadline -------------------------------------------------------------


@dataclass
class _Context:
    """What computing deadlines reads, read once per operation."""

    calendar: WorkCalendar
    overrides: dict[tuple[int, str], Override]
    paths: dict[int, str]

    @classmethod
    async def load(cls, session: AsyncSession) -> _Context:
        return cls(await work_calendar(session), await _overrides(session), {})

    async def path(self, session: AsyncSession, office_id: int) -> str:
        if office_id not in self.paths:
            office = await session.get(OfficeRow, office_id)
            self.paths[office_id] = office.path if office is not None else "/"
        return self.paths[office_id]

    async def due(
        self, session: AsyncSession, office_id: int, key: RuleKey, start: date, extensions: int
    ) -> date:
        found = _nearest(self.overrides, await self.path(session, office_id), key)
        rule = effective_rule(key, found[1] if found else None)
        return due_date(rule, start, self.calendar, extensions)


async def set_for_stage(
    session: AsyncSession, row: PetitionRow, start: date, ctx: _Context | None = None
) -> None:
    """The petition entered a stage on `start`: its deadline from that stage's rule (none when
    no rule governs it), extensions back to none."""
    ctx = ctx or await _Context.load(session)
    key = rule_for(row.type, row.status)
    row.deadline_started_on = start
    row.deadline_extensions = 0
    if key is None:
        row.deadline_rule = NO_RULE
        row.handling_deadline = None
        return
    row.deadline_rule = str(key)
    row.handling_deadline = await ctx.due(session, row.office_id, key, start, 0)


async def on_created(session: AsyncSession, row: PetitionRow, *, manual: bool) -> None:
    """A new petition: a deadline typed in is kept; otherwise intake's from received_on."""
    if manual:
        row.deadline_rule = MANUAL
        row.deadline_started_on = row.received_on
        row.deadline_extensions = 0
        return
    await set_for_stage(session, row, row.received_on)


async def on_edit(session: AsyncSession, row: PetitionRow, changes: dict[str, Any]) -> None:
    """Fields changed (before any status change): a deadline typed in is kept as manual, one
    cleared goes back to the rule; a new type may bring the stage under another rule."""
    if "handling_deadline" in changes:
        if changes["handling_deadline"] is not None:
            row.deadline_rule = MANUAL
            return
        await set_for_stage(session, row, row.deadline_started_on or row.received_on)
        return
    if "type" in changes and row.deadline_rule != MANUAL:
        key = str(rule_for(row.type, row.status) or NO_RULE)
        if key != row.deadline_rule and PetitionStatus(row.status) in OPEN_STATUSES:
            await set_for_stage(session, row, row.deadline_started_on or row.received_on)


async def on_status(
    session: AsyncSession,
    row: PetitionRow,
    before: PetitionStatus,
    after: PetitionStatus,
    on: date,
    *,
    typed: bool = False,
) -> None:
    """The petition moved from `before` to `after` on day `on` (already set on the row);
    `typed`: a deadline was typed in with the move, and is kept.

    Accepted: resolution's rule counts from that day. Resumed after a suspension: the days
    suspended do not count (Luật Tố cáo 2018, Điều 36), so the start (and a manual deadline)
    moves by them. Any other move ends the stage; its deadline stays on the record.
    """
    if before is PetitionStatus.RECEIVED and after is PetitionStatus.ACCEPTED:
        if typed:
            row.deadline_rule, row.deadline_started_on, row.deadline_extensions = MANUAL, on, 0
            return
        await set_for_stage(session, row, on)
    elif before is PetitionStatus.SUSPENDED and after is PetitionStatus.ACCEPTED:
        suspended_on = await _suspended_on(session, row.id)
        paused = timedelta(days=max(0, (on - suspended_on).days)) if suspended_on else timedelta()
        if row.deadline_started_on is not None:
            row.deadline_started_on += paused
        if row.deadline_rule == MANUAL and row.handling_deadline is not None:
            row.handling_deadline += paused
        elif row.deadline_rule in RULE_VALUES and row.deadline_started_on is not None:
            ctx = await _Context.load(session)
            row.handling_deadline = await ctx.due(
                session, row.office_id, RuleKey(row.deadline_rule), row.deadline_started_on,
                row.deadline_extensions,
            )  # fmt: skip


async def _suspended_on(session: AsyncSession, petition_id: int) -> date | None:
    at = (
        await session.execute(
            select(func.max(PetitionHistoryRow.at)).where(
                PetitionHistoryRow.petition_id == petition_id,
                PetitionHistoryRow.to_status == str(PetitionStatus.SUSPENDED),
            )
        )
    ).scalar_one_or_none()
    return _local_day(at)


def _local_day(at: datetime | str | None) -> date | None:
    """The Vietnam day of a history time read through an aggregate, which skips the column's
    type: SQLite hands back the stored text, naive UTC."""
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL_TZ).date()


async def extend(session: AsyncSession, row: PetitionRow) -> int:
    """One more extension of the running rule (checked against its maximum); the number of
    extensions now. The caller records why in the petition's history."""
    if PetitionStatus(row.status) not in OPEN_STATUSES or row.deadline_rule not in RULE_VALUES:
        raise ValidationFailed(
            "this petition has no deadline under a rule to extend",
            {"status": f"{row.status} with deadline rule {row.deadline_rule}"},
        )
    if row.deadline_started_on is None:
        raise ValidationFailed("the deadline's start is unknown", {"deadline_started_on": "unset"})
    ctx = await _Context.load(session)
    extensions = row.deadline_extensions + 1
    # Raises Conflict past the rule's maximum (as the office applies it).
    row.handling_deadline = await ctx.due(
        session, row.office_id, RuleKey(row.deadline_rule), row.deadline_started_on, extensions
    )
    row.deadline_extensions = extensions
    await session.flush()
    return extensions


async def recompute(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """Set again the running, rule-set deadlines matching `where`; how many moved."""
    ctx = await _Context.load(session)
    rows = (
        await session.execute(
            select(
                PetitionRow.id,
                PetitionRow.office_id,
                PetitionRow.deadline_rule,
                PetitionRow.deadline_started_on,
                PetitionRow.deadline_extensions,
                PetitionRow.handling_deadline,
            ).where(
                PetitionRow.status.in_(_OPEN),
                PetitionRow.deadline_rule.in_(sorted(RULE_VALUES)),
                PetitionRow.deadline_started_on.is_not(None),
                where,
            )
        )
    ).all()
    changed: list[dict[str, Any]] = []
    for r in rows:
        key = RuleKey(r.deadline_rule)
        extensions = min(r.deadline_extensions, RULES[key].max_extensions)
        due = await ctx.due(session, r.office_id, key, r.deadline_started_on, extensions)
        if due != r.handling_deadline:
            changed.append({"pid": r.id, "due": due})
    for item in changed:
        await session.execute(
            update(PetitionRow).where(PetitionRow.id == item["pid"])
            .values(handling_deadline=item["due"])
        )  # fmt: skip
    return len(changed)


async def fill_missing(session: AsyncSession, limit: int = 1000) -> int:
    """Petitions registered before deadlines were kept (deadline_rule NULL) in a running stage
    get theirs: intake from received_on, resolution from the day they were accepted."""
    rows = list(
        (
            await session.execute(
                select(PetitionRow)
                .where(PetitionRow.deadline_rule.is_(None), PetitionRow.status.in_(_OPEN))
                .order_by(PetitionRow.id)
                .limit(limit)
            )
        ).scalars()
    )
    if not rows:
        return 0
    ctx = await _Context.load(session)
    for row in rows:
        start = row.received_on
        if row.status == str(PetitionStatus.ACCEPTED):
            start = await _accepted_on(session, row.id) or row.received_on
        await set_for_stage(session, row, start, ctx)
    await session.flush()
    return len(rows)


async def _accepted_on(session: AsyncSession, petition_id: int) -> date | None:
    at = (
        await session.execute(
            select(func.min(PetitionHistoryRow.at)).where(
                PetitionHistoryRow.petition_id == petition_id,
                PetitionHistoryRow.to_status == str(PetitionStatus.ACCEPTED),
            )
        )
    ).scalar_one_or_none()
    return _local_day(at)


def deadline_view(row: Any) -> dict[str, Any] | None:
    """What set a petition's deadline, for its full view (None before it was ever set)."""
    if row.deadline_rule is None:
        return None
    law = RULES.get(RuleKey(row.deadline_rule)) if row.deadline_rule in RULE_VALUES else None
    return {
        "rule": row.deadline_rule,
        "started_on": row.deadline_started_on.isoformat() if row.deadline_started_on else None,
        "extensions": row.deadline_extensions,
        "max_extensions": law.max_extensions if law else 0,
        "count": str(law.count) if law else None,
        "law": law.law if law else None,
    }


# --- the views: overdue, due this week ---------------------------------------------------------


def due_condition(due: Due | str, today: date | None = None) -> ColumnElement[bool]:
    """A WHERE clause on petitions: a running stage whose deadline is past (overdue) or falls
    within today and the six days after (week). For the register and for reports."""
    low, high = due_range(Due(due), today or today_local())
    terms: list[ColumnElement[bool]] = [
        PetitionRow.status.in_(_OPEN),
        PetitionRow.handling_deadline.is_not(None),
    ]
    if low is not None:
        terms.append(PetitionRow.handling_deadline >= low)
    if high is not None:
        terms.append(PetitionRow.handling_deadline <= high)
    return and_(*terms)


@dataclass(frozen=True)
class DueCounts:
    """How many petitions in scope are overdue, and how many fall due within the window."""

    overdue: int
    due_within: int


async def due_counts(
    session: AsyncSession,
    actor: Actor,
    *,
    office_id: int | None = None,
    today: date | None = None,
    within_days: int = 7,
) -> DueCounts:
    """Overdue and due within `within_days` (today included) in the actor's scope, or under one
    office of it: the figures reports count."""
    actor.require(Action.READ_PETITIONS)
    if not 1 <= within_days <= 366:
        raise ValidationFailed("invalid window", {"within_days": "must be 1-366"})
    path = actor.office_path
    if office_id is not None:
        office = await session.get(OfficeRow, office_id)
        if office is None or not actor.sees(office.path):
            raise ValidationFailed("invalid filter", {"office": "no such office in your scope"})
        path = office.path
    today = today or today_local()
    scope = PetitionRow.office_id.in_(select(OfficeRow.id).where(in_subtree(OfficeRow.path, path)))
    running = and_(PetitionRow.status.in_(_OPEN), scope)
    overdue = select(func.count()).where(running, PetitionRow.handling_deadline < today)
    soon = select(func.count()).where(
        running,
        PetitionRow.handling_deadline >= today,
        PetitionRow.handling_deadline < today + timedelta(days=within_days),
    )
    return DueCounts(
        int((await session.execute(overdue)).scalar_one()),
        int((await session.execute(soon)).scalar_one()),
    )


async def due_list(
    session: AsyncSession, actor: Actor, due: Due, *, today: date | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The petitions of a view in the actor's scope, soonest deadline first (the start page),
    without personal data: case code, type, status, office, deadline."""
    actor.require(Action.READ_PETITIONS)
    today = today or today_local()
    rows = await session.execute(
        select(
            PetitionRow.id,
            PetitionRow.case_code,
            PetitionRow.type,
            PetitionRow.status,
            PetitionRow.subject_field,
            PetitionRow.received_on,
            PetitionRow.handling_deadline,
            PetitionRow.deadline_rule,
            OfficeRow.name.label("office_name"),
        )
        .join(OfficeRow, OfficeRow.id == PetitionRow.office_id)
        .where(due_condition(due, today), in_subtree(OfficeRow.path, actor.office_path))
        .order_by(PetitionRow.handling_deadline, PetitionRow.id)
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "case_code": r.case_code,
            "type": r.type,
            "status": r.status,
            "subject_field": r.subject_field,
            "office_name": r.office_name,
            "received_on": r.received_on.isoformat(),
            "handling_deadline": r.handling_deadline.isoformat(),
            "deadline_rule": r.deadline_rule,
            "days_left": (r.handling_deadline - today).days,
        }
        for r in rows
    ]

"""The periodic report's figures for an office and its subtree: hearings held, sites connected,
connection incidents, citizens received, crowd delegations, petitions by type, subject field and
outcome, overdue petitions and those due within the week after. Every figure is one SQL
aggregate; nothing walks records in Python.

Definitions (where the forms leave the hub's records to interpret):
- A hearing is *held* in the period when it started (or, never marked started but live or
  ended, was scheduled to start) within it, hosted by an office of the subtree. It is *online*
  when it invited at least one site besides its host, *in person* otherwise. *Sites connected*:
  distinct (hearing, office) pairs that joined, from the session log; *site drops* the log's
  participant_dropped entries.
- A *visit* (lượt tiếp) is a petition brought in person (source in_person) received in the
  period at an office of the subtree, or a petition heard (heard_from set) in a hearing held in
  the period. In-person petitions and regular hearings make the regular reception row (tiếp
  thường xuyên), periodic and ad hoc hearings the leaders' row (định kỳ, đột xuất).
- A *case* (vụ việc) is a matter: the national database's code when the petition has one,
  else the petition itself. It is *new* (mới phát sinh) when its first petition anywhere was
  received within the period or later, *repeated* (cũ) when one was received before it.
- *Petitions* by type, outcome and subject field: those received in the period, outcome being
  their status now.
- *Overdue* as of the period's end (or now, for the current period): a handling deadline passed
  (the day after it has begun) without a final outcome (hub.domain.reports.FINAL_OUTCOMES)
  reached before that moment, read from the petitions' history. *Due within the week*: open
  at that same moment with the deadline on its day or one of the six after (the register's
  `?due=week` view, seen from the period's end).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    String,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from hub.clock import LOCAL_TZ, local_iso
from hub.domain.deadlines import Due, due_range
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.hearings import HearingKind, HearingStatus
from hub.domain.petitions import PetitionStatus, Source
from hub.domain.reports import (
    ALERT_KINDS,
    FINAL_OUTCOMES,
    HEARING_KINDS,
    RECEPTION_ROWS,
    STATUSES,
    TYPES,
    Period,
)
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action
from hub.services.access import Actor
from hub.services.petition_counts import COUNTS
from hub.services.scope import in_subtree
from hub.storage.tables import (
    AlertRow,
    HearingPetitionRow,
    HearingRow,
    HearingSiteRow,
    LogEventRow,
    OfficeRow,
    PetitionHistoryRow,
    PetitionRow,
)

_HELD = (str(HearingStatus.LIVE), str(HearingStatus.ENDED))
_FINALS = sorted(str(s) for s in FINAL_OUTCOMES)
_OPEN = sorted(str(s) for s in PetitionStatus if s not in FINAL_OUTCOMES)


class _Scope:
    """The report's office subtree as a subquery of office ids (a central office's subtree
    is thousands of offices: the ids stay in the database)."""

    def __init__(self, office: OfficeRow) -> None:
        self.office = office
        self.ids = select(OfficeRow.id).where(in_subtree(OfficeRow.path, office.path))


async def report(
    session: AsyncSession, actor: Actor, office_id: int | None, period: Period, now: datetime
) -> dict[str, Any]:
    """The report of an office (the actor's own when None) and its subtree for `period`.
    NotFound for an office outside the actor's scope, as for a missing one."""
    actor.require(Action.READ_PETITIONS)
    office = await session.get(OfficeRow, office_id or actor.office_id)
    if office is None or not actor.sees(office.path):
        raise NotFound(f"office {office_id} not found")
    if period.start > now:
        raise ValidationFailed(
            f"invalid period: {period} has not begun", {"period": "has not begun yet"}
        )
    scope = _Scope(office)
    as_of = min(period.end, now)
    held = _held_hearings(scope, period)
    reception = await citizens_received(session, scope, held, period, crowd_only=False)
    return {
        "office_id": office.id,
        "office_name": office.name,
        "period": str(period),
        "period_kind": str(period.kind),
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
        "as_of": local_iso(as_of),
        "generated_at": local_iso(now),
        "hearings": await _hearings(session, held),
        "connection_incidents": await _incidents(session, scope, period),
        "reception": reception,
        "crowd_delegations": await crowd_delegations(session, scope, held, period),
        "petitions": await _petitions(session, scope, period),
        "overdue": await overdue_petitions(session, scope, as_of),
        "due_week": await due_within_week(session, scope, as_of),
    }


# --- hearings ------------------------------------------------------------------------------


def _held_hearings(scope: _Scope, period: Period) -> Any:
    """Hearings held in the period by an office of the subtree: id, kind, online."""
    began = func.coalesce(HearingRow.started_at, HearingRow.starts_at)
    invited = exists().where(HearingSiteRow.hearing_id == HearingRow.id)
    return (
        select(
            HearingRow.id.label("id"),
            HearingRow.kind.label("kind"),
            case((invited, 1), else_=0).label("online"),
        )
        .where(
            HearingRow.host_office_id.in_(scope.ids),
            HearingRow.status.in_(_HELD),
            began >= period.start,
            began < period.end,
        )
        .subquery("held")
    )


async def _hearings(session: AsyncSession, held: Any) -> dict[str, Any]:
    counts = await session.execute(
        select(held.c.kind, func.count(), func.coalesce(func.sum(held.c.online), 0)).group_by(
            held.c.kind
        )
    )
    joined = (
        select(LogEventRow.hearing_id, LogEventRow.office_id)
        .where(
            LogEventRow.hearing_id.in_(select(held.c.id)),
            LogEventRow.kind == str(LogKind.PARTICIPANT_JOINED),
            LogEventRow.office_id.is_not(None),
        )
        .distinct()
        .subquery()
    )
    sites = await session.execute(
        select(held.c.kind, func.count())
        .select_from(joined)
        .join(held, held.c.id == joined.c.hearing_id)
        .group_by(held.c.kind)
    )
    drops = await session.execute(
        select(held.c.kind, func.count())
        .select_from(LogEventRow)
        .join(held, held.c.id == LogEventRow.hearing_id)
        .where(LogEventRow.kind == str(LogKind.PARTICIPANT_DROPPED))
        .group_by(held.c.kind)
    )
    by_kind = {
        k: {"held": 0, "online": 0, "in_person": 0, "sites_connected": 0, "site_drops": 0}
        for k in HEARING_KINDS
    }
    for kind, n, online in counts.all():
        by_kind[kind].update(held=int(n), online=int(online), in_person=int(n) - int(online))
    for kind, n in sites.all():
        by_kind[kind]["sites_connected"] = int(n)
    for kind, n in drops.all():
        by_kind[kind]["site_drops"] = int(n)
    totals = {key: sum(v[key] for v in by_kind.values()) for key in by_kind[HEARING_KINDS[0]]}
    return {**totals, "by_kind": by_kind}


async def _incidents(session: AsyncSession, scope: _Scope, period: Period) -> dict[str, Any]:
    """Connectivity alerts opened in the period at offices of the subtree, by kind, and how
    many of them during a hearing (the link history itself is kept for 24 hours only)."""
    rows = await session.execute(
        select(
            AlertRow.kind,
            func.count(),
            func.count(AlertRow.hearing_id),
        )
        .where(
            AlertRow.office_id.in_(scope.ids),
            AlertRow.opened_at >= period.start,
            AlertRow.opened_at < period.end,
        )
        .group_by(AlertRow.kind)
    )
    by_kind = {k: {"total": 0, "during_hearings": 0} for k in ALERT_KINDS}
    for kind, n, during in rows.all():
        if kind in by_kind:
            by_kind[kind] = {"total": int(n), "during_hearings": int(during)}
    return {
        "total": sum(v["total"] for v in by_kind.values()),
        "during_hearings": sum(v["during_hearings"] for v in by_kind.values()),
        "by_kind": by_kind,
    }


# --- citizens received ---------------------------------------------------------------------


def _visits(scope: _Scope, held: Any, period: Period, *, crowd_only: bool) -> Select[Any]:
    """Every visit of the period: (row, petition id, people, matter key, the matter's first
    day received). See the module's definitions."""
    other = aliased(PetitionRow)
    first_received = case(
        (PetitionRow.national_code.is_(None), PetitionRow.received_on),
        else_=select(func.min(other.received_on))
        .where(other.national_code == PetitionRow.national_code)
        .scalar_subquery(),
    )
    matter = func.coalesce(PetitionRow.national_code, literal("#") + cast(PetitionRow.id, String))
    crowd = [PetitionRow.crowd == true()] if crowd_only else []
    in_person = select(
        literal("regular").label("row"),
        PetitionRow.people_count.label("people"),
        matter.label("matter"),
        first_received.label("first_received"),
    ).where(
        PetitionRow.office_id.in_(scope.ids),
        PetitionRow.received_on >= period.first_day,
        PetitionRow.received_on < period.next_day,
        # A literal, not a parameter: the partial index ix_petitions_in_person (migration
        # 0016) is chosen only for the predicate it was made with.
        PetitionRow.source == literal_column(f"'{Source.IN_PERSON}'"),
        *crowd,
    )
    heard = (
        select(
            case((held.c.kind == str(HearingKind.REGULAR), "regular"), else_="leaders").label(
                "row"
            ),
            PetitionRow.people_count.label("people"),
            matter.label("matter"),
            first_received.label("first_received"),
        )
        .select_from(HearingPetitionRow)
        .join(held, held.c.id == HearingPetitionRow.hearing_id)
        .join(PetitionRow, PetitionRow.id == HearingPetitionRow.petition_id)
        .where(HearingPetitionRow.heard_from.is_not(None), *crowd)
    )
    return union_all(in_person, heard).subquery("visits")  # type: ignore[return-value]


async def citizens_received(
    session: AsyncSession, scope: _Scope, held: Any, period: Period, *, crowd_only: bool
) -> dict[str, dict[str, int]]:
    """Visits, people and cases (new, repeated) per reception row; crowd_only: only crowd
    petitions' visits."""
    visits: Any = _visits(scope, held, period, crowd_only=crowd_only)
    new = visits.c.first_received >= period.first_day
    rows = await session.execute(
        select(
            visits.c.row,
            func.count(),
            func.coalesce(func.sum(visits.c.people), 0),
            func.count(func.distinct(case((new, visits.c.matter), else_=null()))),
            func.count(func.distinct(case((new, null()), else_=visits.c.matter))),
        ).group_by(visits.c.row)
    )
    out = {
        r: {"visits": 0, "people": 0, "cases_new": 0, "cases_repeated": 0} for r in RECEPTION_ROWS
    }
    for row, n, people, cases_new, cases_repeated in rows.all():
        out[row] = {
            "visits": int(n),
            "people": int(people),
            "cases_new": int(cases_new),
            "cases_repeated": int(cases_repeated),
        }
    return out


async def crowd_delegations(
    session: AsyncSession, scope: _Scope, held: Any, period: Period
) -> dict[str, dict[str, int]]:
    """Crowd delegations (đoàn đông người) received, per reception row: delegations, people,
    cases new and repeated. Counted for now from crowd petitions' visits (each a delegation);
    the one place to switch to delegation records when they exist."""
    received = await citizens_received(session, scope, held, period, crowd_only=True)
    return {
        row: {
            "delegations": figures["visits"],
            "people": figures["people"],
            "cases_new": figures["cases_new"],
            "cases_repeated": figures["cases_repeated"],
        }
        for row, figures in received.items()
    }


# --- petitions -----------------------------------------------------------------------------


async def _petitions(session: AsyncSession, scope: _Scope, period: Period) -> dict[str, Any]:
    """Petitions received in the period: by type and outcome, by subject field and type,
    crowd petitions and their people."""
    by_type_status = {t: dict.fromkeys(STATUSES, 0) for t in TYPES}
    crowd = 0
    for type_, status, is_crowd, n in await _received_groups(session, scope, period):
        if type_ in by_type_status and status in by_type_status[type_]:
            by_type_status[type_][status] += n
        if is_crowd:
            crowd += n
    in_period = [
        PetitionRow.office_id.in_(scope.ids),
        PetitionRow.received_on >= period.first_day,
        PetitionRow.received_on < period.next_day,
    ]
    subjects: dict[str, dict[str, int]] = {}
    for subject, type_, n in (
        await session.execute(
            select(PetitionRow.subject_field, PetitionRow.type, func.count())
            .where(*in_period)
            .group_by(PetitionRow.subject_field, PetitionRow.type)
        )
    ).all():
        key = (subject or "").strip()
        counts = subjects.setdefault(key, dict.fromkeys(TYPES, 0))
        if type_ in counts:
            counts[type_] += int(n)
    crowd_people = (
        await session.execute(
            select(func.coalesce(func.sum(PetitionRow.people_count), 0)).where(
                *in_period, PetitionRow.crowd == true()
            )
        )
    ).scalar_one()
    by_type = {t: sum(by_type_status[t].values()) for t in TYPES}
    by_status = {s: sum(by_type_status[t][s] for t in TYPES) for s in STATUSES}
    # The forms list subject fields by weight; an empty one (not recorded) goes last.
    ordered = sorted(subjects.items(), key=lambda kv: (kv[0] == "", -sum(kv[1].values()), kv[0]))
    return {
        "received": sum(by_type.values()),
        "by_type": by_type,
        "by_status": by_status,
        "by_type_status": by_type_status,
        "by_subject": [
            {"subject_field": name, "total": sum(counts.values()), "by_type": counts}
            for name, counts in ordered
        ],
        "crowd": crowd,
        "crowd_people": int(crowd_people),
    }


async def _received_groups(
    session: AsyncSession, scope: _Scope, period: Period
) -> list[tuple[str, str, bool, int]]:
    """(type, status, crowd, how many) of the petitions received in the period. A period is
    whole months, so on PostgreSQL the petition_counts rollup (migration 0005) answers it
    exactly without touching the petitions; on SQLite a covering index
    (ix_petitions_office_received) does."""
    if session.bind.dialect.name == "postgresql":
        query = (
            select(COUNTS.c.type, COUNTS.c.status, COUNTS.c.crowd, func.sum(COUNTS.c.n))
            .where(
                COUNTS.c.office_id.in_(scope.ids),
                COUNTS.c.received_month.in_(period.month_starts()),
            )
            .group_by(COUNTS.c.type, COUNTS.c.status, COUNTS.c.crowd)
        )
    else:
        query = (
            select(PetitionRow.type, PetitionRow.status, PetitionRow.crowd, func.count())
            .where(
                PetitionRow.office_id.in_(scope.ids),
                PetitionRow.received_on >= period.first_day,
                PetitionRow.received_on < period.next_day,
            )
            .group_by(PetitionRow.type, PetitionRow.status, PetitionRow.crowd)
        )
    return [(t, s, bool(c), int(n)) for t, s, c, n in (await session.execute(query)).all()]


async def overdue_petitions(
    session: AsyncSession, scope: _Scope, as_of: datetime
) -> dict[str, Any]:
    """Petitions of the subtree whose handling deadline had passed at `as_of` (the day after
    it had begun) without a final outcome reached before then, by type. The one place that
    says what overdue is (a table of deadlines by type and stage may replace the column)."""
    low, high = due_range(Due.OVERDUE, as_of.astimezone(LOCAL_TZ).date())
    by_type = await _open_with_deadline(session, scope, as_of, low, high)
    return {"total": sum(by_type.values()), "by_type": by_type, "as_of": local_iso(as_of)}


async def due_within_week(session: AsyncSession, scope: _Scope, as_of: datetime) -> dict[str, Any]:
    """Petitions of the subtree open at `as_of` whose handling deadline falls on its day or one
    of the six after, by type: what the register's `?due=week` view showed at that moment."""
    low, high = due_range(Due.WEEK, as_of.astimezone(LOCAL_TZ).date())
    assert low is not None and high is not None
    by_type = await _open_with_deadline(session, scope, as_of, low, high)
    return {
        "total": sum(by_type.values()),
        "by_type": by_type,
        "first_day": low.isoformat(),
        "last_day": high.isoformat(),
    }


async def _open_with_deadline(
    session: AsyncSession, scope: _Scope, as_of: datetime, low: date | None, high: date | None
) -> dict[str, int]:
    """Petitions of the subtree with a handling deadline in [low, high] (None: open-ended) and
    no final outcome reached before `as_of`, by type.

    A final outcome is for good (no transition leaves one), so a petition open now was open
    at `as_of`, and a final one was open then only if its final entry in the history came at
    or after `as_of`: two index scans (migration 0016), no walk of every petition's history."""
    in_scope: list[ColumnElement[bool]] = [
        PetitionRow.office_id.in_(scope.ids),
        PetitionRow.handling_deadline.is_not(None),
    ]
    if low is not None:
        in_scope.append(PetitionRow.handling_deadline >= low)
    if high is not None:
        in_scope.append(PetitionRow.handling_deadline <= high)
    still_open = select(PetitionRow.type).where(PetitionRow.status.in_(_OPEN), *in_scope)
    # Read first from its own index, then probed: otherwise the planner may walk every final
    # petition past its deadline and look each one up in the history.
    since = (
        select(PetitionHistoryRow.petition_id)
        .where(PetitionHistoryRow.to_status.in_(_FINALS), PetitionHistoryRow.at >= as_of)
        .cte("handled_since")
        .prefix_with("MATERIALIZED")
    )
    closed_since = select(PetitionRow.type).where(
        PetitionRow.status.in_(_FINALS),
        PetitionRow.id.in_(select(since.c.petition_id)),
        *in_scope,
    )
    both: Any = union_all(still_open, closed_since).subquery("open_then")
    rows = await session.execute(select(both.c.type, func.count()).group_by(both.c.type))
    by_type = dict.fromkeys(TYPES, 0)
    for type_, n in rows.all():
        if type_ in by_type:
            by_type[type_] = int(n)
    return by_type

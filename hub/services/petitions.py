"""Petitions: the register, search, the handling workflow with history, and the audit of reads."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.clock import LOCAL_TZ, local_iso, now
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.petitions import (
    DRAFT_FIELDS,
    EDITABLE_FIELDS,
    PetitionDraft,
    PetitionStatus,
    allowed_next,
    check_transition,
    fold,
)
from hub.domain.users import Action
from hub.services import deadline_alerts, deadlines
from hub.services.access import Actor
from hub.services.scope import in_subtree
from hub.storage import sequences
from hub.storage.paging import page_of
from hub.storage.tables import (
    AuditRow,
    DelegationPetitionRow,
    DelegationRow,
    HearingPetitionRow,
    HearingRow,
    OfficeRow,
    PetitionHistoryRow,
    PetitionRow,
    UserRow,
)


def search_parts(draft: PetitionDraft | PetitionRow, case_code: str) -> list[str]:
    """What every search matches, in order: codes, subject, respondent, content. No personal
    data: a search of that must say so (personal_parts) and is audited."""
    return [
        case_code,
        draft.national_code or "",
        draft.subject_field,
        draft.respondent,
        draft.content,
    ]


def personal_parts(draft: PetitionDraft | PetitionRow) -> list[str]:
    """What only a personal-data search matches by word: the petitioner's name and address.
    (The ID number is matched whole, from its own column, never by prefix.)"""
    return [draft.petitioner_name, draft.petitioner_address]


def _folded(parts: list[str]) -> str:
    folded = fold(" ".join(p for p in parts if p))
    # Punctuation becomes spaces: PostgreSQL's parser would read 'hy-2026-000001' as 'hy' and
    # two signed numbers, so a search for the case code would miss it.
    return "".join(c if c.isalnum() else " " for c in folded)


def search_text(draft: PetitionDraft | PetitionRow, case_code: str) -> str:
    """The folded text every search matches (search_parts, without diacritics or punctuation)."""
    return _folded(search_parts(draft, case_code))


def personal_text(draft: PetitionDraft | PetitionRow) -> str:
    """The folded text a personal-data search matches besides search_text (personal_parts)."""
    return _folded(personal_parts(draft))


async def _next_case_code(session: AsyncSession, office: OfficeRow, year: int) -> str:
    value = await sequences.next_value(session, f"{office.code}-{year}")
    return f"{office.code}-{year}-{value:06d}"


async def next_case_code(session: AsyncSession, office: OfficeRow, year: int) -> str:
    """The office-year's next case code (an import of a petition without one takes it too)."""
    return await _next_case_code(session, office, year)


async def _office_in_scope(session: AsyncSession, actor: Actor, office_id: int) -> OfficeRow:
    office = await session.get(OfficeRow, office_id)
    if office is None or not actor.sees(office.path):
        raise ValidationFailed("invalid petition", {"office_id": "no such office in your scope"})
    return office


async def create(session: AsyncSession, actor: Actor, draft: PetitionDraft) -> PetitionRow:
    """Register a received petition; its history starts with 'received'."""
    actor.require(Action.EDIT_PETITIONS)
    office = await _office_in_scope(session, actor, draft.office_id)
    code = await _next_case_code(session, office, draft.received_on.year)
    stamp = now()
    row = PetitionRow(
        **draft.record(),
        case_code=code,
        status=str(PetitionStatus.RECEIVED),
        search_text=search_text(draft, code),
        personal_text=personal_text(draft),
        created_by=actor.user_id,
        created_at=stamp,
        updated_at=stamp,
    )
    await deadlines.on_created(session, row, manual=draft.handling_deadline is not None)
    session.add(row)
    await session.flush()
    session.add(
        PetitionHistoryRow(
            petition_id=row.id,
            at=stamp,
            from_status=None,
            to_status=row.status,
            user_id=actor.user_id,
            note="",
        )
    )
    await session.flush()
    await _alert_if_due(session, row)
    return row


async def _alert_if_due(session: AsyncSession, row: PetitionRow) -> None:
    """A deadline set or moved to the alert window (today to the next working day) is alerted
    now, in the same transaction, rather than at the next daily run."""
    await deadline_alerts.raise_for(session, row, deadlines.today_local())


def summary_view(row: PetitionRow | Row[Any], office_name: str | None = None) -> dict[str, Any]:
    """A petition's register line (the list view): includes the petitioner's name."""
    return {
        "id": row.id,
        "case_code": row.case_code,
        "national_code": row.national_code,
        "type": row.type,
        "status": row.status,
        "office_id": row.office_id,
        "office_name": office_name,
        "petitioner_name": row.petitioner_name,
        "crowd": row.crowd,
        "people_count": row.people_count,
        "subject_field": row.subject_field,
        "source": row.source,
        "received_on": row.received_on.isoformat(),
        "handling_deadline": row.handling_deadline.isoformat() if row.handling_deadline else None,
    }


async def in_scope(session: AsyncSession, actor: Actor, petition_id: int) -> PetitionRow:
    """A petition of an office in the actor's scope, or NotFound (the same for missing)."""
    row = (
        await session.execute(
            select(PetitionRow)
            .join(OfficeRow, OfficeRow.id == PetitionRow.office_id)
            .where(PetitionRow.id == petition_id, in_subtree(OfficeRow.path, actor.office_path))
        )
    ).scalar_one_or_none()
    if row is None:
        # Same answer whether it does not exist or belongs to another office: nothing leaks.
        raise NotFound(f"petition {petition_id} not found")
    return row


_AUDIT = cast(Table, AuditRow.__table__)
# PostgreSQL: a page's reads in one statement, the ids as one array. An executemany runs the
# insert once per row on the server (50 executions for a list page, 3-4 ms of a request).
_AUDIT_MANY = insert(_AUDIT).from_select(
    ["at", "user_id", "petition_id", "action"],
    select(
        bindparam("at", type_=AuditRow.__table__.c.at.type),
        bindparam("user_id", type_=Integer),
        func.unnest(bindparam("ids", type_=postgresql.ARRAY(Integer))),
        bindparam("action", type_=String),
    ),
)


async def audit_reads(session: AsyncSession, actor: Actor, ids: list[int], action: str) -> None:
    """One audit row per petition read, in the order shown, all with the same time."""
    if not ids:
        return
    stamp = now()
    if session.bind.dialect.name == "postgresql":
        await session.execute(
            _AUDIT_MANY, {"at": stamp, "user_id": actor.user_id, "ids": ids, "action": action}
        )
        return
    # A Core insert of the table: one executemany, without the ORM's per-row bulk machinery.
    await session.execute(
        insert(_AUDIT),
        [{"at": stamp, "user_id": actor.user_id, "petition_id": i, "action": action} for i in ids],
    )


# What the full view reads: every column but the folded search texts (and, on PostgreSQL,
# their tsvectors), with the office's name; Core rows, one statement.
_DETAIL = select(
    *(c for c in PetitionRow.__table__.c if c.name not in ("search_text", "personal_text")),
    OfficeRow.name.label("office_name"),
).join(OfficeRow, OfficeRow.id == PetitionRow.office_id)


async def get(session: AsyncSession, actor: Actor, petition_id: int) -> dict[str, Any]:
    """The full petition with its history and every hearing that heard it; the read is audited."""
    actor.require(Action.READ_PETITIONS)
    row = (
        await session.execute(
            _DETAIL.where(
                PetitionRow.id == petition_id, in_subtree(OfficeRow.path, actor.office_path)
            )
        )
    ).one_or_none()
    if row is None:
        # Same answer whether it does not exist or belongs to another office: nothing leaks.
        raise NotFound(f"petition {petition_id} not found")
    out = summary_view(row, row.office_name)
    out.update(
        {
            "petitioner_address": row.petitioner_address,
            "petitioner_id_number": row.petitioner_id_number,
            "representatives": row.representatives,
            "respondent": row.respondent,
            "content": row.content,
            "request": row.request,
            "competent_body": row.competent_body,
            "allowed_next_status": [str(s) for s in allowed_next(PetitionStatus(row.status))],
            "deadline": deadlines.deadline_view(row),
            "created_at": local_iso(row.created_at),
            "updated_at": local_iso(row.updated_at),
        }
    )
    history = await session.execute(
        select(
            PetitionHistoryRow.at,
            PetitionHistoryRow.from_status,
            PetitionHistoryRow.to_status,
            UserRow.display_name,
            PetitionHistoryRow.note,
        )
        .outerjoin(UserRow, UserRow.id == PetitionHistoryRow.user_id)
        .where(PetitionHistoryRow.petition_id == row.id)
        .order_by(PetitionHistoryRow.id)
    )
    out["history"] = [
        {
            "at": local_iso(h.at),
            "from_status": h.from_status,
            "to_status": h.to_status,
            "user_name": h.display_name,
            "note": h.note,
        }
        for h in history
    ]
    heard = await session.execute(
        select(
            HearingRow.id,
            HearingRow.title,
            HearingRow.status,
            HearingRow.starts_at,
            HearingPetitionRow.heard_from,
            HearingPetitionRow.heard_to,
        )
        .join(HearingRow, HearingRow.id == HearingPetitionRow.hearing_id)
        .where(HearingPetitionRow.petition_id == row.id)
        .order_by(HearingRow.starts_at)
    )
    # Every hearing that heard it, even hearings hosted outside the reader's scope: a
    # province reads that the centre heard its citizen.
    out["hearings"] = [
        {
            "hearing_id": h.id,
            "title": h.title,
            "status": h.status,
            "starts_at": local_iso(h.starts_at),
            "heard_from": local_iso(h.heard_from),
            "heard_to": local_iso(h.heard_to),
        }
        for h in heard
    ]
    out["delegations"] = await delegations_of(session, row.id)
    await audit_reads(session, actor, [row.id], "read")
    return out


async def delegations_of(session: AsyncSession, petition_id: int) -> list[dict[str, Any]]:
    """The crowd delegations that brought a petition (PetitionDelegation), oldest first: shown
    with the petition to whoever reads it, as the hearings that heard it are."""
    receiving, home = aliased(OfficeRow), aliased(OfficeRow)
    rows = await session.execute(
        select(DelegationRow, receiving.name, home.name)
        .join(DelegationPetitionRow, DelegationPetitionRow.delegation_id == DelegationRow.id)
        .join(receiving, receiving.id == DelegationRow.receiving_office_id)
        .join(home, home.id == DelegationRow.home_office_id)
        .where(DelegationPetitionRow.petition_id == petition_id)
        .order_by(DelegationRow.received_on, DelegationRow.id)
    )
    return [
        {
            "delegation_id": d.id,
            "received_on": d.received_on.isoformat(),
            "receiving_office_name": receiving_name,
            "home_office_name": home_name,
            "visit_number": d.visit_number,
            "status": d.status,
        }
        for d, receiving_name, home_name in rows.all()
    ]


async def update(
    session: AsyncSession,
    actor: Actor,
    petition_id: int,
    changes: dict[str, Any],
    *,
    status: str | None = None,
    note: str = "",
    status_on: date | None = None,
) -> PetitionRow:
    """Edit a petition's fields and/or move it along the workflow (recorded in its history).
    `status_on`: the day the move was decided when not today (an acceptance's deadline counts
    from it); between the day received and today."""
    actor.require(Action.EDIT_PETITIONS)
    row = await in_scope(session, actor, petition_id)
    fixed = sorted(set(changes) - set(EDITABLE_FIELDS))
    if fixed:
        raise ValidationFailed(
            f"invalid {fixed[0]}: cannot be changed", dict.fromkeys(fixed, "cannot be changed")
        )
    merged = {name: getattr(row, name) for name in DRAFT_FIELDS}
    merged.update(changes)
    # Re-check the whole record so an edit cannot break a rule the draft enforces.
    draft = PetitionDraft.from_fields(merged)
    record = draft.record()
    for name in changes:
        setattr(row, name, record[name])
    stamp = now()
    today = stamp.astimezone(LOCAL_TZ).date()
    if status_on is not None and status is None:
        raise ValidationFailed("invalid status_on", {"status_on": "only with a status change"})
    if status_on is not None and not row.received_on <= status_on <= today:
        raise ValidationFailed(
            "invalid status_on",
            {"status_on": "must lie between the day the petition was received and today"},
        )
    await deadlines.on_edit(session, row, changes)
    if status is not None:
        target = PetitionStatus(status)
        current = PetitionStatus(row.status)
        check_transition(current, target)
        if target is PetitionStatus.TRANSFERRED and not draft.competent_body.strip():
            raise ValidationFailed(
                "invalid petition", {"competent_body": "name the body the petition goes to"}
            )
        row.status = str(target)
        typed = changes.get("handling_deadline") is not None
        await deadlines.on_status(session, row, current, target, status_on or today, typed=typed)
        session.add(
            PetitionHistoryRow(
                petition_id=row.id,
                at=stamp,
                from_status=str(current),
                to_status=str(target),
                user_id=actor.user_id,
                note=note,
            )
        )
    row.search_text = search_text(draft, row.case_code)
    row.personal_text = personal_text(draft)
    row.updated_at = stamp
    await session.flush()
    await _alert_if_due(session, row)
    return row


async def extend_deadline(
    session: AsyncSession, actor: Actor, petition_id: int, reason: str
) -> PetitionRow:
    """Grant the running deadline one more extension (a complex case: a complaint's 45 days, a
    denunciation's second or third 30), kept in the petition's history with why."""
    actor.require(Action.EDIT_PETITIONS)
    if not reason.strip():
        raise ValidationFailed("invalid reason", {"reason": "say why the deadline is extended"})
    row = await in_scope(session, actor, petition_id)
    extensions = await deadlines.extend(session, row)
    due = row.handling_deadline.strftime("%d/%m/%Y") if row.handling_deadline else "—"
    stamp = now()
    row.updated_at = stamp
    session.add(
        PetitionHistoryRow(
            petition_id=row.id,
            at=stamp,
            from_status=row.status,
            to_status=row.status,
            user_id=actor.user_id,
            # In the register's language, like the notes staff type.
            note=f"Gia hạn lần {extensions}, hạn mới {due}: {reason.strip()}",
        )
    )
    await session.flush()
    await _alert_if_due(session, row)
    return row


async def audit_entries(
    session: AsyncSession,
    actor: Actor,
    *,
    petition_id: int | None = None,
    user_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Who read which petition's personal data, newest first (admins only)."""
    actor.require(Action.READ_AUDIT)
    conditions: list[Any] = [in_subtree(OfficeRow.path, actor.office_path)]
    if petition_id is not None:
        conditions.append(AuditRow.petition_id == petition_id)
    if user_id is not None:
        conditions.append(AuditRow.user_id == user_id)
    base = (
        select(AuditRow, UserRow.username, PetitionRow.case_code)
        .join(UserRow, UserRow.id == AuditRow.user_id)
        .join(PetitionRow, PetitionRow.id == AuditRow.petition_id)
        .join(OfficeRow, OfficeRow.id == PetitionRow.office_id)
        .where(*conditions)
    )
    rows, total = await page_of(session, base, [AuditRow.id.desc()], limit, offset)
    return [
        {
            "id": a.id,
            "at": local_iso(a.at),
            "user_id": a.user_id,
            "username": username,
            "petition_id": a.petition_id,
            "case_code": code,
            "action": a.action,
        }
        for a, username, code in rows
    ], total

"""Crowd delegations: register one (its visit number counted), list and read them in scope,
move them along (open, being handled, closed), the board by province, the home office
suggested from the petitioners' addresses, and the joint hearing opened from one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.clock import local_iso, now
from hub.domain.delegations import (
    REPEAT_WINDOW,
    DelegationDraft,
    DelegationStatus,
    EarlierVisit,
    PlaceOffice,
    check_transition,
    matter_key,
    path_ids,
    province_path,
    skipped_level,
    suggest_home,
    visit_number,
)
from hub.domain.errors import Conflict, NotFound, ValidationFailed
from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action, Role
from hub.services import hearings, petitions, sessionlog
from hub.services.access import Actor
from hub.services.scope import in_subtree
from hub.storage.paging import page_of
from hub.storage.tables import (
    DelegationHearingRow,
    DelegationPetitionRow,
    DelegationRow,
    HearingPetitionRow,
    HearingRow,
    OfficeRow,
    PetitionRow,
)

# A joint hearing opened from a delegation runs this long unless its opener says otherwise.
JOINT_HEARING_LENGTH = timedelta(hours=2)


class DelegationNotifier(Protocol):
    """Port through which the records side tells the live pages of a delegation registered or
    changed (signaling pushes it to the staff and leaders of its home and receiving offices)."""

    async def delegation_changed(
        self, view: dict[str, Any], home_path: str, receiving_path: str
    ) -> None:
        """Announce the delegation's view to the offices on both paths (and those above)."""


def _receiving() -> Any:
    return aliased(OfficeRow, name="receiving")


def _visible(actor: Actor, receiving: Any, home: Any) -> Any:
    """A delegation is the business of the office that received it and of its home office
    (and of the offices above either)."""
    return or_(
        in_subtree(receiving.path, actor.office_path), in_subtree(home.path, actor.office_path)
    )


async def _offices(session: AsyncSession, ids: set[int]) -> dict[int, OfficeRow]:
    rows = await session.execute(select(OfficeRow).where(OfficeRow.id.in_(ids)))
    return {o.id: o for o in rows.scalars()}


async def create(session: AsyncSession, actor: Actor, draft: DelegationDraft) -> DelegationRow:
    """Register a delegation received at an office in the actor's scope, from any home office
    of the tree, with petitions of the actor's scope; its visit number is counted from the home
    office's earlier visits."""
    actor.require(Action.EDIT_PETITIONS)
    offices = await _offices(session, {draft.receiving_office_id, draft.home_office_id})
    receiving = offices.get(draft.receiving_office_id)
    if receiving is None or not actor.sees(receiving.path):
        raise ValidationFailed(
            "invalid delegation", {"receiving_office_id": "no such office in your scope"}
        )
    home = offices.get(draft.home_office_id)
    if home is None:
        raise ValidationFailed("invalid delegation", {"home_office_id": "no such office"})
    for petition_id in draft.petition_ids:
        try:
            await petitions.in_scope(session, actor, petition_id)
        except NotFound:
            raise ValidationFailed(
                f"invalid petition_ids: no petition {petition_id} in your scope",
                {"petition_ids": f"no petition {petition_id} in your scope"},
            ) from None
    key = matter_key(draft.matter)
    earlier = await _earlier_visits(session, draft.home_office_id, draft.received_on)
    stamp = now()
    row = DelegationRow(
        receiving_office_id=receiving.id,
        home_office_id=home.id,
        received_on=draft.received_on,
        people_count=draft.people_count,
        representatives=[name.strip() for name in draft.representatives],
        matter=draft.matter.strip(),
        matter_key=key,
        subject_field=draft.subject_field.strip(),
        note=draft.note,
        status=str(DelegationStatus.OPEN),
        visit_number=visit_number(draft.received_on, key, draft.petition_ids, earlier),
        created_by=actor.user_id,
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(row)
    await session.flush()
    for petition_id in draft.petition_ids:
        session.add(DelegationPetitionRow(delegation_id=row.id, petition_id=petition_id))
    await session.flush()
    return row


async def _earlier_visits(
    session: AsyncSession, home_office_id: int, received_on: date
) -> list[EarlierVisit]:
    """The home office's delegations in the repeat window before `received_on` (that day too),
    with the petitions each brought."""
    rows = (
        await session.execute(
            select(
                DelegationRow.id,
                DelegationRow.received_on,
                DelegationRow.matter_key,
                DelegationRow.visit_number,
            ).where(
                DelegationRow.home_office_id == home_office_id,
                DelegationRow.received_on >= received_on - REPEAT_WINDOW,
                DelegationRow.received_on <= received_on,
            )
        )
    ).all()
    brought: dict[int, set[int]] = {r.id: set() for r in rows}
    if brought:
        links = await session.execute(
            select(DelegationPetitionRow.delegation_id, DelegationPetitionRow.petition_id).where(
                DelegationPetitionRow.delegation_id.in_(brought)
            )
        )
        for delegation_id, petition_id in links.all():
            brought[delegation_id].add(petition_id)
    return [
        EarlierVisit(r.received_on, r.matter_key, frozenset(brought[r.id]), r.visit_number)
        for r in rows
    ]


async def _row_in_scope(
    session: AsyncSession, actor: Actor, delegation_id: int
) -> tuple[DelegationRow, OfficeRow, OfficeRow]:
    receiving, home = _receiving(), aliased(OfficeRow, name="home")
    found = (
        await session.execute(
            select(DelegationRow, receiving, home)
            .join(receiving, receiving.id == DelegationRow.receiving_office_id)
            .join(home, home.id == DelegationRow.home_office_id)
            .where(DelegationRow.id == delegation_id, _visible(actor, receiving, home))
        )
    ).first()
    if found is None:
        # The same answer whether it does not exist or is another office's business.
        raise NotFound(f"delegation {delegation_id} not found")
    return found[0], found[1], found[2]


async def _province(session: AsyncSession, home: OfficeRow) -> OfficeRow:
    ids = path_ids(province_path(home.path))
    province = await session.get(OfficeRow, ids[-1]) if ids else None
    return province or home


async def _latest_hearing(session: AsyncSession, delegation_id: int) -> int | None:
    return (
        await session.execute(
            select(func.max(DelegationHearingRow.hearing_id)).where(
                DelegationHearingRow.delegation_id == delegation_id
            )
        )
    ).scalar_one_or_none()


async def summary(
    session: AsyncSession, row: DelegationRow, receiving: OfficeRow, home: OfficeRow
) -> dict[str, Any]:
    """A delegation's list line (DelegationSummary): no personal data, so the same view goes
    to the home office's live pages."""
    province = await _province(session, home)
    return {
        "id": row.id,
        "receiving_office_id": receiving.id,
        "receiving_office_name": receiving.name,
        "home_office_id": home.id,
        "home_office_name": home.name,
        "province_office_id": province.id,
        "province_name": province.name,
        "received_on": row.received_on.isoformat(),
        "people_count": row.people_count,
        "representatives_count": len(row.representatives),
        "matter": row.matter,
        "subject_field": row.subject_field,
        "status": row.status,
        "visit_number": row.visit_number,
        "skipped_level": skipped_level(receiving.path, home.path),
        "from_elsewhere": receiving.id != home.id,
        "hearing_id": await _latest_hearing(session, row.id),
        "created_at": local_iso(row.created_at),
        "closed_at": local_iso(row.closed_at),
    }


async def get(session: AsyncSession, actor: Actor, delegation_id: int) -> dict[str, Any]:
    """A delegation in scope with its representatives, petitions (key fields) and hearings."""
    actor.require(Action.READ_PETITIONS)
    row, receiving, home = await _row_in_scope(session, actor, delegation_id)
    return await detail(session, row, receiving, home)


async def receiving_side(session: AsyncSession, actor: Actor, delegation_id: int) -> bool:
    """Whether the actor is on the side that received the delegation (who hosts its hearing)."""
    _row, receiving, _home = await _row_in_scope(session, actor, delegation_id)
    return actor.sees(receiving.path)


async def detail(
    session: AsyncSession, row: DelegationRow, receiving: OfficeRow, home: OfficeRow
) -> dict[str, Any]:
    """The full view of a delegation (Delegation)."""
    out = await summary(session, row, receiving, home)
    brought = await session.execute(
        select(PetitionRow)
        .join(DelegationPetitionRow, DelegationPetitionRow.petition_id == PetitionRow.id)
        .where(DelegationPetitionRow.delegation_id == row.id)
        .order_by(PetitionRow.id)
    )
    heard = await session.execute(
        select(HearingRow)
        .join(DelegationHearingRow, DelegationHearingRow.hearing_id == HearingRow.id)
        .where(DelegationHearingRow.delegation_id == row.id)
        .order_by(HearingRow.id)
    )
    out.update(
        representatives=list(row.representatives),
        note=row.note,
        petitions=[
            {
                "petition_id": p.id,
                "case_code": p.case_code,
                "type": p.type,
                "status": p.status,
                "subject_field": p.subject_field,
                "people_count": p.people_count,
                "office_id": p.office_id,
            }
            for p in brought.scalars()
        ],
        hearings=[
            {
                "hearing_id": h.id,
                "title": h.title,
                "status": h.status,
                "host_office_id": h.host_office_id,
                "starts_at": local_iso(h.starts_at),
            }
            for h in heard.scalars()
        ],
    )
    return out


async def view_of(session: AsyncSession, row: DelegationRow) -> dict[str, Any]:
    """The full view of a delegation just written (its offices read)."""
    offices = await _offices(session, {row.receiving_office_id, row.home_office_id})
    return await detail(session, row, offices[row.receiving_office_id], offices[row.home_office_id])


async def paths_of(session: AsyncSession, row: DelegationRow) -> tuple[str, str]:
    """(home path, receiving path): whose live pages hear of it."""
    offices = await _offices(session, {row.receiving_office_id, row.home_office_id})
    return offices[row.home_office_id].path, offices[row.receiving_office_id].path


async def list_(
    session: AsyncSession,
    actor: Actor,
    *,
    statuses: tuple[str, ...] = (),
    home_office_id: int | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Delegations in scope (received in it or coming from it), newest first; `home_office_id`
    keeps those from that office's area (it and the offices under it)."""
    actor.require(Action.READ_PETITIONS)
    receiving, home = _receiving(), aliased(OfficeRow, name="home")
    query = (
        select(DelegationRow, receiving, home)
        .join(receiving, receiving.id == DelegationRow.receiving_office_id)
        .join(home, home.id == DelegationRow.home_office_id)
        .where(_visible(actor, receiving, home))
    )
    if statuses:
        query = query.where(DelegationRow.status.in_(statuses))
    if home_office_id is not None:
        area = await session.get(OfficeRow, home_office_id)
        if area is None:
            raise ValidationFailed("invalid filter", {"home_office": "no such office"})
        query = query.where(in_subtree(home.path, area.path))
    if received_from is not None:
        query = query.where(DelegationRow.received_on >= received_from)
    if received_to is not None:
        query = query.where(DelegationRow.received_on <= received_to)
    rows, total = await page_of(
        session,
        query,
        [DelegationRow.received_on.desc(), DelegationRow.id.desc()],
        limit,
        offset,
    )
    return [await summary(session, r, rec, h) for r, rec, h in rows], total


async def set_status(
    session: AsyncSession, actor: Actor, delegation_id: int, target: DelegationStatus
) -> DelegationRow:
    """Move a delegation along: being handled, closed. Either side may (the receiving office
    and the home office both work the case)."""
    if not (actor.can(Action.EDIT_PETITIONS) or actor.can(Action.RUN_HEARINGS)):
        actor.require(Action.EDIT_PETITIONS)
    row, _receiving_office, _home = await _row_in_scope(session, actor, delegation_id)
    check_transition(DelegationStatus(row.status), target)
    row.status = str(target)
    row.updated_at = now()
    if target is DelegationStatus.CLOSED:
        row.closed_at = row.updated_at
    await session.flush()
    return row


async def board(
    session: AsyncSession, actor: Actor, *, received_from: date | None = None
) -> dict[str, Any]:
    """The delegations in scope by the province they came from: open, being handled, closed,
    and how many of them went past their own level (vượt cấp)."""
    actor.require(Action.READ_PETITIONS)
    receiving, home = _receiving(), aliased(OfficeRow, name="home")
    query = (
        select(DelegationRow.status, receiving.path, home.path)
        .join(receiving, receiving.id == DelegationRow.receiving_office_id)
        .join(home, home.id == DelegationRow.home_office_id)
        .where(_visible(actor, receiving, home))
    )
    if received_from is not None:
        query = query.where(DelegationRow.received_on >= received_from)
    counts: dict[int, dict[str, int]] = {}
    for status, receiving_path, home_path in (await session.execute(query)).all():
        ids = path_ids(province_path(home_path))
        entry = counts.setdefault(
            ids[-1], {"open": 0, "handling": 0, "closed": 0, "skipped_level": 0, "total": 0}
        )
        entry[status] += 1
        entry["total"] += 1
        entry["skipped_level"] += skipped_level(receiving_path, home_path)
    names = await _offices(session, set(counts))
    order = sorted(counts, key=lambda i: (-counts[i]["total"], names[i].path))
    provinces: list[dict[str, Any]] = [
        {"province_office_id": i, "province_name": names[i].name, **counts[i]} for i in order
    ]
    totals = {"province_office_id": 0, "province_name": "", **_sum(provinces)}
    return {"provinces": provinces, "totals": totals}


def _sum(provinces: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("open", "handling", "closed", "skipped_level", "total")
    return {k: sum(int(p[k]) for p in provinces) for k in keys}


@dataclass(frozen=True)
class Suggestion:
    """A home suggestion with the chosen office's name."""

    office_id: int | None
    office_name: str | None
    candidates: list[dict[str, Any]]
    matched: int
    addresses: int


async def suggest(
    session: AsyncSession,
    actor: Actor,
    *,
    petition_ids: tuple[int, ...] = (),
    addresses: tuple[str, ...] = (),
) -> Suggestion:
    """The home office suggested from the addresses of petitions in scope (each read is
    audited, as every read of a petitioner's personal data is) and from addresses typed in."""
    actor.require(Action.READ_PETITIONS)
    read: list[str] = list(addresses)
    for petition_id in petition_ids:
        try:
            row = await petitions.in_scope(session, actor, petition_id)
        except NotFound:
            raise ValidationFailed(
                f"invalid petitions: no petition {petition_id} in your scope",
                {"petitions": f"no petition {petition_id} in your scope"},
            ) from None
        read.append(row.petitioner_address)
    await petitions.audit_reads(session, actor, list(petition_ids), "suggest_home")
    offices = [
        PlaceOffice(o.id, o.name, o.path, o.level)
        for o in (await session.execute(select(OfficeRow))).scalars()
    ]
    found = suggest_home(read, offices)
    names = {o.id: o.name for o in offices}
    return Suggestion(
        office_id=found.office_id,
        office_name=names.get(found.office_id) if found.office_id is not None else None,
        candidates=[
            {"office_id": c.office_id, "name": c.name, "addresses": c.addresses}
            for c in found.candidates[:10]
        ],
        matched=found.matched,
        addresses=found.addresses,
    )


async def open_hearing(
    session: AsyncSession,
    actor: Actor,
    delegation_id: int,
    *,
    title: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    chair_user_id: int | None = None,
    start: bool = True,
) -> HearingRow:
    """The ad hoc joint hearing of a delegation: hosted by the office that received it, with
    the home office's bridge point invited (wherever it lies in the tree: the documented
    exception to the host's subtree), the delegation's petitions linked, started at once unless
    `start` is false. The delegation is then being handled. Only the receiving side opens it."""
    actor.require(Action.RUN_HEARINGS)
    row, receiving, home = await _row_in_scope(session, actor, delegation_id)
    if not actor.sees(receiving.path):
        # The home side reads the delegation; only the side that received the crowd hosts.
        raise NotFound(f"delegation {delegation_id} not found")
    if row.status == DelegationStatus.CLOSED:
        raise Conflict("the delegation is closed", {"status": "closed"})
    if home.id == receiving.id:
        raise ValidationFailed(
            "invalid hearing: the delegation came from the receiving office's own area",
            {"home_office_id": "the home office is the receiving office: no other site to invite"},
        )
    if not home.has_bridge_point:
        raise ValidationFailed(
            f"invalid hearing: {home.name} has no bridge point",
            {"home_office_id": f"{home.name} has no bridge point"},
        )
    running = (
        await session.execute(
            select(HearingRow.id)
            .join(DelegationHearingRow, DelegationHearingRow.hearing_id == HearingRow.id)
            .where(
                DelegationHearingRow.delegation_id == row.id,
                HearingRow.status.in_((HearingStatus.SCHEDULED, HearingStatus.LIVE)),
            )
        )
    ).scalar()
    if running is not None:
        raise Conflict(
            f"the delegation's joint hearing {running} is still open",
            {"hearing_id": f"hearing {running} is still open"},
        )
    begins = starts_at or now().replace(microsecond=0)
    if chair_user_id is None and actor.role in (Role.LEADER, Role.ADMIN):
        # The leader opening it chairs it, when they sit at the host office or under it.
        chair_user_id = actor.user_id if actor.office_path.startswith(receiving.path) else None
    draft = HearingDraft(
        title=title or f"Tiếp đoàn đông người từ {home.name}",
        kind=HearingKind.ADHOC,
        host_office_id=receiving.id,
        site_office_ids=(home.id,),
        starts_at=begins,
        ends_at=ends_at or begins + JOINT_HEARING_LENGTH,
        chair_user_id=chair_user_id,
        description=row.matter[:5000],
    )
    hearing = await hearings.create_joint(session, actor, draft, home.id)
    session.add(DelegationHearingRow(hearing_id=hearing.id, delegation_id=row.id))
    await _link_petitions(session, actor, hearing.id, row.id)
    await session.flush()
    if start:
        await hearings.set_status(session, actor, hearing.id, HearingStatus.LIVE)
    if row.status == DelegationStatus.OPEN:
        row.status = str(DelegationStatus.HANDLING)
        row.updated_at = now()
    await session.flush()
    return hearing


async def _link_petitions(
    session: AsyncSession, actor: Actor, hearing_id: int, delegation_id: int
) -> None:
    """The delegation's petitions, linked to its hearing as a staff member would link them."""
    brought = await session.execute(
        select(PetitionRow)
        .join(DelegationPetitionRow, DelegationPetitionRow.petition_id == PetitionRow.id)
        .where(DelegationPetitionRow.delegation_id == delegation_id)
        .order_by(PetitionRow.id)
    )
    for petition in brought.scalars():
        session.add(
            HearingPetitionRow(
                hearing_id=hearing_id,
                petition_id=petition.id,
                linked_by=actor.user_id,
                linked_at=now(),
            )
        )
        await sessionlog.append(
            session,
            hearing_id,
            LogKind.PETITION_LINKED,
            user_id=actor.user_id,
            office_id=actor.office_id,
            petition_id=petition.id,
            detail={"case_code": petition.case_code, "delegation_id": delegation_id},
        )

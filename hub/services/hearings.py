"""Hearings: scheduling (one-off and periodic), status changes, petitions heard, join tokens."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.clock import local_iso, now
from hub.domain import recurrence
from hub.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus, check_transition
from hub.domain.offices import path_in_scope
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action, Role
from hub.services import admissions, petitions, sessionlog
from hub.services.access import Actor
from hub.services.auth import JoinClaims, issue_join_token
from hub.services.scope import in_subtree
from hub.storage.paging import page_of
from hub.storage.tables import (
    DelegationHearingRow,
    DelegationRow,
    HearingPetitionRow,
    HearingRow,
    HearingSeriesRow,
    HearingSiteRow,
    OfficeRow,
    PetitionRow,
    UserRow,
)


def _delegation_guest(hearing_id: Any, office_id: Any) -> Any:
    """A WHERE clause: `office_id` is the home office of the delegation this hearing was opened
    from. The one exception to "a hearing's sites lie under its host": a delegation's joint
    hearing invites its home office wherever that lies (hub.services.delegations)."""
    # Correlated to the enclosing query for everything but its own two tables: left to
    # itself, a reference two levels up would become a FROM of its own and match any hearing.
    return (
        exists()
        .where(
            DelegationHearingRow.hearing_id == hearing_id,
            DelegationRow.id == DelegationHearingRow.delegation_id,
            DelegationRow.home_office_id == office_id,
        )
        .correlate_except(DelegationHearingRow, DelegationRow)
    )


async def delegation_guests(session: AsyncSession, hearing_id: int) -> set[int]:
    """The office a hearing may invite from outside its host's subtree: the home office of the
    delegation it was opened from (none for every other hearing)."""
    rows = await session.execute(
        select(DelegationRow.home_office_id)
        .join(DelegationHearingRow, DelegationHearingRow.delegation_id == DelegationRow.id)
        .where(DelegationHearingRow.hearing_id == hearing_id)
    )
    return set(rows.scalars())


# Built once: an alias's column collection is costly to set up, and lawful_sites runs on every
# revalidation pass (every few seconds, on the loop that may carry a single process's media).
_VISIBLE_SITE = aliased(OfficeRow, name="visible_site")
_VISIBLE_HOST = aliased(OfficeRow, name="visible_host")
_LAWFUL_HOST = aliased(OfficeRow, name="lawful_host")


def visible_clause(actor: Actor) -> Any:
    """Hearings an actor sees: hosted in its scope, or inviting a site in its scope (a site
    that lies under the host office, or the home office of the delegation the hearing was
    opened from: an invitation written before sites were scoped, to an office elsewhere in the
    tree, grants nothing)."""
    host_ok = exists().where(
        OfficeRow.id == HearingRow.host_office_id, in_subtree(OfficeRow.path, actor.office_path)
    )
    site, host = _VISIBLE_SITE, _VISIBLE_HOST
    site_ok = exists().where(
        HearingSiteRow.hearing_id == HearingRow.id,
        site.id == HearingSiteRow.office_id,
        in_subtree(site.path, actor.office_path),
        host.id == HearingRow.host_office_id,
        # Paths are digits and slashes, so LIKE 'host-path%' is a plain prefix test.
        or_(
            site.path.startswith(host.path),
            _delegation_guest(HearingSiteRow.hearing_id, site.id),
        ),
    )
    return or_(host_ok, site_ok)


async def lawful_sites(session: AsyncSession, hearing: HearingRow) -> dict[int, OfficeRow]:
    """A hearing's sites that lie under its host office (every site, for records written since
    sites were scoped), and the home office of the delegation it was opened from, by office id."""
    host = _LAWFUL_HOST
    rows = await session.execute(
        select(OfficeRow)
        .join(HearingSiteRow, HearingSiteRow.office_id == OfficeRow.id)
        .join(host, host.id == hearing.host_office_id)
        .where(
            HearingSiteRow.hearing_id == hearing.id,
            or_(
                OfficeRow.path.startswith(host.path),
                _delegation_guest(hearing.id, OfficeRow.id),
            ),
        )
    )
    return {o.id: o for o in rows.scalars()}


async def invited_offices(session: AsyncSession, hearing: HearingRow) -> list[dict[str, Any]]:
    """The offices expected at a live hearing, the host first, then its lawful sites by place
    in the tree: [{office_id, name}] (the join page's tiles of sites not connected yet)."""
    host = await session.get(OfficeRow, hearing.host_office_id)
    sites = sorted((await lawful_sites(session, hearing)).values(), key=lambda o: o.path)
    offices = [host, *sites] if host is not None else sites
    return [{"office_id": o.id, "name": o.name} for o in offices]


async def _visible(session: AsyncSession, actor: Actor, hearing_id: int) -> HearingRow:
    row = (
        await session.execute(
            select(HearingRow).where(HearingRow.id == hearing_id, visible_clause(actor))
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"hearing {hearing_id} not found")
    return row


async def _hosted(session: AsyncSession, actor: Actor, hearing_id: int) -> HearingRow:
    """A hearing the actor's office hosts (or is above): only the host side runs or edits it."""
    row = await _visible(session, actor, hearing_id)
    host = await session.get(OfficeRow, row.host_office_id)
    assert host is not None
    if not actor.sees(host.path):
        raise Forbidden("only the host office (or an office above it) may do this")
    return row


async def hosted(session: AsyncSession, actor: Actor, hearing_id: int) -> HearingRow:
    """A hearing the actor's office hosts or is above (NotFound out of scope, Forbidden for a
    site's own office): who may run its room, e.g. record it."""
    return await _hosted(session, actor, hearing_id)


async def _check_offices(
    session: AsyncSession,
    actor: Actor,
    draft: HearingDraft,
    *,
    sites: bool = True,
    chair: bool = True,
    guests: frozenset[int] = frozenset(),
) -> dict[int, OfficeRow]:
    """The host in the actor's scope; (when asked) every site under the host office, or among
    `guests` (a delegation's home office, for the hearing opened from it), with a bridge point;
    the chair an active leader of the host office or an office under it."""
    ids = {draft.host_office_id, *draft.site_office_ids}
    rows = {
        o.id: o
        for o in (await session.execute(select(OfficeRow).where(OfficeRow.id.in_(ids)))).scalars()
    }
    host = rows.get(draft.host_office_id)
    if host is None or not actor.sees(host.path):
        raise ValidationFailed(
            "invalid hearing", {"host_office_id": "no such office in your scope"}
        )
    if sites:
        _check_sites(draft, host, rows, guests)
    if chair and draft.chair_user_id is not None:
        await _check_chair(session, draft.chair_user_id, host)
    return rows


def _check_sites(
    draft: HearingDraft,
    host: OfficeRow,
    rows: dict[int, OfficeRow],
    guests: frozenset[int] = frozenset(),
) -> None:
    missing = [i for i in draft.site_office_ids if i not in rows]
    if missing:
        raise ValidationFailed(
            "invalid hearing", {"site_office_ids": f"no such office: {missing[0]}"}
        )
    # The central office's subtree is the whole tree; a province's is its own districts and
    # communes. (Offices above the host take part as observers, without an invitation.)
    outside = [
        rows[i].name
        for i in draft.site_office_ids
        if not path_in_scope(host.path, rows[i].path) and i not in guests
    ]
    if outside:
        problem = (
            f"{outside[0]} is not under the host office ({host.name}): a hearing invites "
            "only offices under its host"
        )
        raise ValidationFailed(f"invalid hearing: {problem}", {"site_office_ids": problem})
    no_bridge = [rows[i].name for i in draft.site_office_ids if not rows[i].has_bridge_point]
    if no_bridge:
        raise ValidationFailed(
            "invalid hearing", {"site_office_ids": f"{no_bridge[0]} has no bridge point"}
        )


async def _check_chair(session: AsyncSession, chair_user_id: int, host: OfficeRow) -> None:
    found = (
        await session.execute(
            select(UserRow, OfficeRow)
            .join(OfficeRow, OfficeRow.id == UserRow.office_id)
            .where(UserRow.id == chair_user_id)
        )
    ).first()
    if found is None or found[0].role not in (Role.LEADER, Role.ADMIN) or not found[0].active:
        raise ValidationFailed(
            "invalid hearing", {"chair_user_id": "must be an active leader's user id"}
        )
    if not path_in_scope(host.path, found[1].path):
        # The same answer for a leader who exists elsewhere as for one who does not would
        # hide nothing (the picker lists names in scope); name the rule instead.
        problem = f"must be a leader of the host office ({host.name}) or of an office under it"
        raise ValidationFailed(f"invalid hearing: the chair {problem}", {"chair_user_id": problem})


async def create(session: AsyncSession, actor: Actor, draft: HearingDraft) -> list[HearingRow]:
    """Schedule a hearing, or a periodic series (every occurrence is its own hearing)."""
    actor.require(Action.EDIT_HEARINGS)
    await _check_offices(session, actor, draft)
    starts = [draft.starts_at]
    series_id: int | None = None
    if draft.recurrence:
        # Bounded (a few ms at most) but CPU work: off the loop that carries media.
        starts = await asyncio.to_thread(recurrence.expand, draft.recurrence, draft.starts_at)
        series = HearingSeriesRow(rrule=draft.recurrence, created_at=now())
        session.add(series)
        await session.flush()
        series_id = series.id
    rows = [await _insert(session, actor, draft, start, series_id) for start in starts]
    await session.flush()
    return rows


async def create_joint(
    session: AsyncSession, actor: Actor, draft: HearingDraft, guest_office_id: int
) -> HearingRow:
    """A delegation's joint hearing (hub.services.delegations.open_hearing): one hearing hosted
    by the receiving office whose one site is the delegation's home office, wherever that lies
    in the tree. Whoever may run the host's hearings opens it (the leader receiving the crowd),
    not only those who schedule; the caller records which delegation it belongs to."""
    actor.require(Action.RUN_HEARINGS)
    draft = replace(draft, site_office_ids=(guest_office_id,), recurrence=None)
    await _check_offices(session, actor, draft, guests=frozenset({guest_office_id}))
    row = await _insert(session, actor, draft, draft.starts_at, None)
    await session.flush()
    return row


async def _insert(
    session: AsyncSession,
    actor: Actor,
    draft: HearingDraft,
    start: datetime,
    series_id: int | None,
) -> HearingRow:
    """One scheduled hearing of a checked draft starting at `start`, its sites and its log."""
    row = HearingRow(
        title=draft.title.strip(),
        kind=str(draft.kind),
        status=str(HearingStatus.SCHEDULED),
        host_office_id=draft.host_office_id,
        chair_user_id=draft.chair_user_id,
        series_id=series_id,
        starts_at=start,
        ends_at=start + (draft.ends_at - draft.starts_at),
        description=draft.description,
        location=draft.location,
        published=True,
        minutes="",
        created_by=actor.user_id,
        created_at=now(),
    )
    session.add(row)
    await session.flush()
    for office_id in draft.site_office_ids:
        session.add(HearingSiteRow(hearing_id=row.id, office_id=office_id))
    await sessionlog.append(
        session,
        row.id,
        LogKind.SCHEDULED,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail={"starts_at": local_iso(start), "series_id": series_id},
    )
    return row


async def view(session: AsyncSession, row: HearingRow, *, with_petitions: bool) -> dict[str, Any]:
    """A hearing as the API shows it: sites named, petitions heard (when asked)."""
    sites = (
        await session.execute(
            select(OfficeRow)
            .join(HearingSiteRow, HearingSiteRow.office_id == OfficeRow.id)
            .where(HearingSiteRow.hearing_id == row.id)
            .order_by(OfficeRow.path)
        )
    ).scalars()
    host = await session.get(OfficeRow, row.host_office_id)
    chair = await session.get(UserRow, row.chair_user_id) if row.chair_user_id else None
    series = await session.get(HearingSeriesRow, row.series_id) if row.series_id else None
    site_list = [{"office_id": o.id, "name": o.name, "code": o.code} for o in sites]
    out: dict[str, Any] = {
        "id": row.id,
        "title": row.title,
        "kind": row.kind,
        "status": row.status,
        "host_office_id": row.host_office_id,
        "host_office_name": host.name if host else None,
        "site_office_ids": [s["office_id"] for s in site_list],
        "sites": site_list,
        "chair_user_id": row.chair_user_id,
        "chair_name": chair.display_name if chair else None,
        "starts_at": local_iso(row.starts_at),
        "ends_at": local_iso(row.ends_at),
        "started_at": local_iso(row.started_at),
        "ended_at": local_iso(row.ended_at),
        "series_id": row.series_id,
        "recurrence": series.rrule if series else None,
        "description": row.description,
        "location": row.location,
        "published": row.published,
        "minutes": row.minutes,
        "delegation_id": await _delegation_of(session, row.id),
    }
    if with_petitions:
        links = (
            await session.execute(
                select(HearingPetitionRow, PetitionRow)
                .join(PetitionRow, PetitionRow.id == HearingPetitionRow.petition_id)
                .where(HearingPetitionRow.hearing_id == row.id)
                .order_by(HearingPetitionRow.linked_at)
            )
        ).all()
        # Key fields only, no personal data: the hearing view is shared by every site.
        out["petitions"] = [
            {
                "petition_id": p.id,
                "case_code": p.case_code,
                "type": p.type,
                "status": p.status,
                "subject_field": p.subject_field,
                "crowd": p.crowd,
                "people_count": p.people_count,
                "office_id": p.office_id,
                "heard_from": local_iso(link.heard_from),
                "heard_to": local_iso(link.heard_to),
            }
            for link, p in links
        ]
    return out


async def _delegation_of(session: AsyncSession, hearing_id: int) -> int | None:
    link = await session.get(DelegationHearingRow, hearing_id)
    return link.delegation_id if link is not None else None


async def get(session: AsyncSession, actor: Actor, hearing_id: int) -> HearingRow:
    """A hearing in the actor's scope, or NotFound."""
    actor.require(Action.READ_HEARINGS)
    return await _visible(session, actor, hearing_id)


async def list_(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    office_id: int | None = None,
    starts_from: datetime | None = None,
    starts_to: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[HearingRow], int]:
    """Hearings in scope, soonest first, with the total for paging."""
    actor.require(Action.READ_HEARINGS)
    query = select(HearingRow).where(visible_clause(actor))
    if status:
        query = query.where(HearingRow.status == status)
    if office_id is not None:
        query = query.where(
            or_(
                HearingRow.host_office_id == office_id,
                exists().where(
                    HearingSiteRow.hearing_id == HearingRow.id,
                    HearingSiteRow.office_id == office_id,
                ),
            )
        )
    if starts_from:
        query = query.where(HearingRow.starts_at >= starts_from)
    if starts_to:
        query = query.where(HearingRow.starts_at < starts_to)
    rows, total = await page_of(
        session, query, [HearingRow.starts_at, HearingRow.id], limit, offset
    )
    return [row[0] for row in rows], total


EDITABLE = ("title", "description", "location", "published", "minutes", "chair_user_id")


async def update(
    session: AsyncSession, actor: Actor, hearing_id: int, changes: dict[str, Any]
) -> HearingRow:
    """Change a hearing. Time, sites and chair only while scheduled; minutes until cancelled."""
    actor.require(Action.EDIT_HEARINGS)
    row = await _hosted(session, actor, hearing_id)
    if not changes:
        return row
    status = HearingStatus(row.status)
    if status is HearingStatus.CANCELLED:
        raise Conflict("a cancelled hearing cannot be changed", {"status": "cancelled"})
    scheduling = {"starts_at", "ends_at", "site_office_ids", "chair_user_id", "title"}
    touched = scheduling & changes.keys()
    if touched and status is not HearingStatus.SCHEDULED:
        field = sorted(touched)[0]
        raise Conflict(
            f"{field} can only change while the hearing is scheduled (it is {status})",
            {field: f"the hearing is {status}"},
        )
    sites = changes.get("site_office_ids")
    current_sites = [
        s
        for (s,) in (
            await session.execute(
                select(HearingSiteRow.office_id).where(HearingSiteRow.hearing_id == row.id)
            )
        ).all()
    ]
    draft = HearingDraft(
        title=changes.get("title", row.title),
        kind=HearingKind(row.kind),
        host_office_id=row.host_office_id,
        site_office_ids=tuple(sites if sites is not None else current_sites),
        starts_at=changes.get("starts_at", row.starts_at),
        ends_at=changes.get("ends_at", row.ends_at),
        chair_user_id=changes.get("chair_user_id", row.chair_user_id),
    )
    # Sites and chair are checked when they change: a record written before they were scoped
    # can still take its minutes (and its join checks keep it from admitting anyone outside).
    await _check_offices(
        session,
        actor,
        replace(draft),
        sites=sites is not None,
        chair="chair_user_id" in changes,
        guests=frozenset(await delegation_guests(session, row.id)),
    )
    for name in EDITABLE:
        if name in changes:
            setattr(row, name, changes[name])
    row.title = draft.title.strip()
    row.starts_at, row.ends_at = draft.starts_at, draft.ends_at
    if sites is not None:
        await session.execute(delete(HearingSiteRow).where(HearingSiteRow.hearing_id == row.id))
        for office_id in sites:
            session.add(HearingSiteRow(hearing_id=row.id, office_id=office_id))
    kind = LogKind.MINUTES if set(changes) == {"minutes"} else LogKind.UPDATED
    await sessionlog.append(
        session,
        row.id,
        kind,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail={"fields": sorted(changes)},
    )
    await session.flush()
    return row


async def set_status(
    session: AsyncSession, actor: Actor, hearing_id: int, target: HearingStatus, reason: str = ""
) -> HearingRow:
    """Start, end or cancel a hearing, logging who did it."""
    actor.require(
        Action.EDIT_HEARINGS if target is HearingStatus.CANCELLED else Action.RUN_HEARINGS
    )
    row = await _hosted(session, actor, hearing_id)
    check_transition(HearingStatus(row.status), target)
    row.status = str(target)
    kind = {
        HearingStatus.LIVE: LogKind.STARTED,
        HearingStatus.ENDED: LogKind.ENDED,
        HearingStatus.CANCELLED: LogKind.CANCELLED,
    }[target]
    if target is HearingStatus.LIVE:
        row.started_at = now()
    elif target is HearingStatus.ENDED:
        row.ended_at = now()
    if target in (HearingStatus.ENDED, HearingStatus.CANCELLED):
        await admissions.clear(session, row.id)
    await sessionlog.append(
        session,
        row.id,
        kind,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail={"reason": reason} if reason else {},
    )
    await session.flush()
    return row


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return now()  # the literal "now"


async def _log_petition(
    session: AsyncSession,
    actor: Actor,
    hearing_id: int,
    petition: PetitionRow,
    kind: LogKind,
    **detail: str | None,
) -> None:
    await sessionlog.append(
        session,
        hearing_id,
        kind,
        user_id=actor.user_id,
        office_id=actor.office_id,
        petition_id=petition.id,
        detail={"case_code": petition.case_code, **detail},
    )


async def link_petition(
    session: AsyncSession,
    actor: Actor,
    hearing_id: int,
    petition_id: int,
    *,
    heard_from: str | datetime | None = None,
    heard_to: str | datetime | None = None,
) -> HearingPetitionRow:
    """Link a petition to a hearing, or mark when it was heard ("now hearing petition X")."""
    actor.require(Action.LINK_PETITIONS)
    hearing = await _visible(session, actor, hearing_id)
    petition = await petitions.in_scope(session, actor, petition_id)
    if hearing.status == HearingStatus.CANCELLED:
        raise Conflict("petitions cannot be linked to a cancelled hearing")
    link = await session.get(HearingPetitionRow, (hearing_id, petition_id))
    created = link is None
    if link is None:
        link = HearingPetitionRow(
            hearing_id=hearing_id, petition_id=petition_id, linked_by=actor.user_id, linked_at=now()
        )
        session.add(link)
    start, end = _moment(heard_from), _moment(heard_to)
    if start is not None:
        link.heard_from = start
    if end is not None:
        if link.heard_from is None:
            raise ValidationFailed(
                "invalid hearing record", {"heard_to": "set heard_from before heard_to"}
            )
        if end < link.heard_from:
            raise ValidationFailed("invalid hearing record", {"heard_to": "before heard_from"})
        link.heard_to = end
    if created:
        await _log_petition(session, actor, hearing_id, petition, LogKind.PETITION_LINKED)
    if start is not None or end is not None:
        await _log_petition(
            session,
            actor,
            hearing_id,
            petition,
            LogKind.PETITION_HEARD,
            heard_from=local_iso(link.heard_from),
            heard_to=local_iso(link.heard_to),
        )
    await session.flush()
    return link


async def unlink_petition(
    session: AsyncSession, actor: Actor, hearing_id: int, petition_id: int
) -> None:
    """Remove a petition from a hearing (the log keeps that it was linked, and the removal)."""
    actor.require(Action.LINK_PETITIONS)
    await _visible(session, actor, hearing_id)
    petition = await petitions.in_scope(session, actor, petition_id)
    link = await session.get(HearingPetitionRow, (hearing_id, petition_id))
    if link is None:
        raise NotFound(f"petition {petition_id} is not linked to hearing {hearing_id}")
    await session.delete(link)
    await _log_petition(session, actor, hearing_id, petition, LogKind.PETITION_UNLINKED)


async def add_note(session: AsyncSession, actor: Actor, hearing_id: int, text: str) -> None:
    """A free-text note in the session log."""
    actor.require(Action.WRITE_LOG_NOTES)
    await _visible(session, actor, hearing_id)
    if not text.strip() or len(text) > 5000:
        raise ValidationFailed("invalid note", {"text": "must be 1-5000 characters"})
    await sessionlog.append(
        session,
        hearing_id,
        LogKind.NOTE,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail={"text": text},
    )


async def log(session: AsyncSession, actor: Actor, hearing_id: int) -> list[dict[str, Any]]:
    """The session log of a hearing in scope."""
    actor.require(Action.READ_HEARINGS)
    await _visible(session, actor, hearing_id)
    return await sessionlog.events(session, hearing_id)


async def join_token(
    session: AsyncSession,
    actor: Actor,
    hearing_id: int,
    *,
    office_id: int | None,
    secret: str,
    ttl_seconds: int,
    issuer_session: str | None = None,
) -> dict[str, Any]:
    """A join token for one office's seat in one hearing: the actor's own office, or a site
    office in its scope (staff issuing a token for a bridge-point kiosk). `issuer_session`
    (auth.session_key of the actor's sign-in) makes the token die with that sign-in."""
    actor.require(Action.RUN_HEARINGS)
    row = await _visible(session, actor, hearing_id)
    if row.status in (HearingStatus.ENDED, HearingStatus.CANCELLED):
        raise Conflict(f"the hearing is {row.status}; no one can join it")
    seat = office_id if office_id is not None else actor.office_id
    participants = {row.host_office_id, *await lawful_sites(session, row)}
    office = await session.get(OfficeRow, seat)
    if office is None or not actor.sees(office.path):
        raise ValidationFailed(
            "invalid join request", {"office_id": "no such office in your scope"}
        )
    host = await session.get(OfficeRow, row.host_office_id)
    # An office above the host (e.g. the central office) may sit in as an observer site.
    observer = seat == actor.office_id and host is not None and actor.sees(host.path)
    if seat not in participants and not observer:
        raise ValidationFailed(
            "invalid join request", {"office_id": "this office is not a site of the hearing"}
        )
    expires = int(time.time()) + ttl_seconds
    token = issue_join_token(
        secret, JoinClaims(hearing_id, seat, actor.user_id, expires, issuer_session)
    )
    return {
        "token": token,
        "hearing_id": hearing_id,
        "office_id": seat,
        "expires_at": local_iso(datetime.fromtimestamp(expires, UTC)),
    }

"""A hearing's minutes (biên bản): drafted from its session log, saved by staff under a version
number, signed off by a leader (read-only from then on), and laid out for export.

Scope: the minutes name the petitioners, so only the host side reads them (the host office and
the offices above it, the ones that keep the case file); any other reader, a site's office
included, gets 404 as for a hearing that does not exist. Every read of minutes that name
petitioners is audited per petition, like a petition's own page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import LOCAL_TZ, local_iso, now
from hub.domain import minutes as domain
from hub.domain.errors import Conflict, NotFound, ValidationFailed
from hub.domain.hearings import HearingStatus
from hub.domain.minutes import MinutesContent, MinutesStatus
from hub.domain.minutes_layout import Layout, layout
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action
from hub.services import hearings, petitions, sessionlog
from hub.services.access import Actor
from hub.storage import sequences
from hub.storage.tables import (
    HearingPetitionRow,
    HearingRow,
    LogEventRow,
    MinutesRow,
    OfficeRow,
    PetitionRow,
    UserRow,
)


async def _hosted(session: AsyncSession, actor: Actor, hearing_id: int) -> HearingRow:
    """A hearing whose host office is in the actor's scope, else NotFound (a site's office
    sees the hearing, not its minutes)."""
    row = await hearings.get(session, actor, hearing_id)
    host = await session.get(OfficeRow, row.host_office_id)
    if host is None or not actor.sees(host.path):
        raise NotFound(f"minutes of hearing {hearing_id} not found")
    return row


async def _facts(session: AsyncSession, row: HearingRow) -> domain.HearingFacts:
    host = await session.get(OfficeRow, row.host_office_id)
    assert host is not None
    parent = await session.get(OfficeRow, host.parent_id) if host.parent_id else None
    chair = await session.get(UserRow, row.chair_user_id) if row.chair_user_id else None
    sites = sorted((await hearings.lawful_sites(session, row)).values(), key=lambda o: o.path)
    return domain.HearingFacts(
        title=row.title,
        host_name=host.name,
        host_code=host.code,
        parent_name=parent.name if parent else "",
        location=row.location,
        chair_name=chair.display_name if chair else "",
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        invited_sites=tuple((o.id, o.name) for o in sites),
        free_text=row.minutes,
    )


async def _log(session: AsyncSession, hearing_id: int) -> list[domain.LogEntry]:
    rows = await session.execute(
        select(LogEventRow, UserRow.display_name, OfficeRow.name)
        .outerjoin(UserRow, UserRow.id == LogEventRow.user_id)
        .outerjoin(OfficeRow, OfficeRow.id == LogEventRow.office_id)
        .where(LogEventRow.hearing_id == hearing_id)
        .order_by(LogEventRow.id)
    )
    return [
        domain.LogEntry(
            kind=event.kind,
            at=event.at,
            user_name=user_name,
            office_id=event.office_id,
            office_name=office_name,
            petition_id=event.petition_id,
            detail=event.detail or {},
        )
        for event, user_name, office_name in rows.all()
    ]


async def _heard(
    session: AsyncSession, actor: Actor, hearing_id: int
) -> list[domain.PetitionFacts]:
    rows = await session.execute(
        select(HearingPetitionRow, PetitionRow, OfficeRow.path)
        .join(PetitionRow, PetitionRow.id == HearingPetitionRow.petition_id)
        .join(OfficeRow, OfficeRow.id == PetitionRow.office_id)
        .where(HearingPetitionRow.hearing_id == hearing_id)
    )
    out = []
    for link, p, path in rows.all():
        # A petition another office linked, outside the drafter's scope, is listed by its
        # code; its petitioner stays unnamed (personal data is read only in scope).
        name = p.petitioner_name if actor.sees(path) else "(công dân thuộc đơn vị khác)"
        out.append(
            domain.PetitionFacts(
                petition_id=p.id,
                case_code=p.case_code,
                petitioner=name,
                type=p.type,
                subject_field=p.subject_field,
                content=p.content,
                status=p.status,
                competent_body=p.competent_body,
                heard_from=link.heard_from,
                heard_to=link.heard_to,
            )
        )
    return out


async def _draft(session: AsyncSession, actor: Actor, row: HearingRow) -> MinutesContent:
    return domain.draft(
        await _facts(session, row),
        await _log(session, row.id),
        await _heard(session, actor, row.id),
        recorder=actor.display_name,
    )


async def _names(session: AsyncSession, *user_ids: int | None) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(UserRow.id, UserRow.display_name).where(UserRow.id.in_(ids))
    )
    return {i: name for i, name in rows.all()}


async def _view(
    session: AsyncSession, hearing_id: int, stored: MinutesRow | None, content: dict[str, Any]
) -> dict[str, Any]:
    if stored is None:
        return {
            "hearing_id": hearing_id,
            "version": 0,
            "status": str(MinutesStatus.DRAFT),
            "stored": False,
            "content": content,
            "drafted_by": None,
            "drafted_at": None,
            "updated_by": None,
            "updated_at": None,
            "signed_by": None,
            "signed_at": None,
        }
    names = await _names(session, stored.drafted_by, stored.updated_by, stored.signed_by)
    return {
        "hearing_id": hearing_id,
        "version": stored.version,
        "status": stored.status,
        "stored": True,
        "content": content,
        "drafted_by": names.get(stored.drafted_by),
        "drafted_at": local_iso(stored.drafted_at),
        "updated_by": names.get(stored.updated_by),
        "updated_at": local_iso(stored.updated_at),
        "signed_by": names.get(stored.signed_by) if stored.signed_by else None,
        "signed_at": local_iso(stored.signed_at),
    }


def _require_read(actor: Actor) -> None:
    # The minutes name petitioners: reading them is reading petitions (operators never do).
    actor.require(Action.READ_HEARINGS)
    actor.require(Action.READ_PETITIONS)


async def _audit(session: AsyncSession, actor: Actor, content: dict[str, Any], how: str) -> None:
    ids = [int(p["petition_id"]) for p in content.get("petitions", ())]
    existing = set(
        (await session.execute(select(PetitionRow.id).where(PetitionRow.id.in_(ids)))).scalars()
    )
    await petitions.audit_reads(session, actor, [i for i in ids if i in existing], how)


async def read(
    session: AsyncSession, actor: Actor, hearing_id: int, how: str = "minutes"
) -> dict[str, Any]:
    """The stored minutes, or (before anyone saved them) a fresh draft from the log with
    version 0; the read is audited for every petition they name."""
    _require_read(actor)
    row = await _hosted(session, actor, hearing_id)
    stored = await session.get(MinutesRow, hearing_id)
    content = (
        stored.content if stored else domain.to_json(await _draft(session, actor, row), LOCAL_TZ)
    )
    await _audit(session, actor, content, how)
    return await _view(session, hearing_id, stored, content)


async def redraft(session: AsyncSession, actor: Actor, hearing_id: int) -> dict[str, Any]:
    """A fresh draft from the log as it is now, not stored: the form offers it to start over
    (saving it still needs the stored version). Refused once signed."""
    actor.require(Action.EDIT_HEARINGS)
    _require_read(actor)
    row = await _hosted(session, actor, hearing_id)
    stored = await session.get(MinutesRow, hearing_id)
    if stored is not None:
        await _check_unsigned(session, stored)
    content = domain.to_json(await _draft(session, actor, row), LOCAL_TZ)
    await _audit(session, actor, content, "minutes")
    view = await _view(session, hearing_id, stored, content)
    return view


async def _check_unsigned(session: AsyncSession, stored: MinutesRow) -> None:
    names = await _names(session, stored.signed_by)
    domain.check_editable(
        stored.status,
        names.get(stored.signed_by) if stored.signed_by else None,
        _vn(stored.signed_at),
    )


def _vn(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y") if moment else None


async def _check_petitions(session: AsyncSession, hearing_id: int, content: MinutesContent) -> None:
    linked = set(
        (
            await session.execute(
                select(HearingPetitionRow.petition_id).where(
                    HearingPetitionRow.hearing_id == hearing_id
                )
            )
        ).scalars()
    )
    for i, p in enumerate(content.petitions):
        if p.petition_id not in linked:
            problem = f"petition {p.petition_id} is not linked to this hearing"
            raise ValidationFailed(
                f"invalid minutes: {problem}", {f"petitions.{i}.petition_id": problem}
            )


async def _stale(session: AsyncSession, stored: MinutesRow, sent: int) -> None:
    """Raise the Conflict that explains why a save of version `sent` was refused."""
    await _check_unsigned(session, stored)
    names = await _names(session, stored.updated_by)
    domain.check_version(stored.version, sent, names.get(stored.updated_by), _vn(stored.updated_at))


async def save(
    session: AsyncSession, actor: Actor, hearing_id: int, version: int, data: dict[str, Any]
) -> dict[str, Any]:
    """Store an edit made on version `version` (0: the first save of a draft). Conflict when
    the minutes are signed off, or when someone saved another version since (nothing is
    overwritten silently); ValidationFailed naming the field for bad content."""
    actor.require(Action.EDIT_HEARINGS)
    _require_read(actor)
    row = await _hosted(session, actor, hearing_id)
    if row.status == HearingStatus.CANCELLED:
        raise Conflict("a cancelled hearing has no minutes", {"status": "cancelled"})
    try:
        content = domain.from_json(data)
        await _check_petitions(session, hearing_id, content)
    except ValidationFailed as exc:
        # Named as the body names them (PUT {version, content}), like the edge's own errors.
        fields = {f"content.{name}": problem for name, problem in exc.fields.items()}
        raise ValidationFailed(exc.message, fields) from exc
    stored = await _write(session, actor, hearing_id, version, domain.to_json(content, LOCAL_TZ))
    await sessionlog.append(
        session,
        hearing_id,
        LogKind.MINUTES,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail={"version": stored.version},
    )
    await session.flush()
    return await _view(session, hearing_id, stored, stored.content)


async def _write(
    session: AsyncSession,
    actor: Actor,
    hearing_id: int,
    version: int,
    content: dict[str, Any],
    **extra: Any,
) -> MinutesRow:
    """Insert version 1 or move version `version` on by one, in one guarded statement: of two
    editors saving the same version at once, exactly one succeeds."""
    stamp = now()
    stored = await session.get(MinutesRow, hearing_id)
    if stored is None:
        if version != 0:
            raise Conflict(
                f"the minutes have not been saved yet (you sent version {version}); reload them",
                {"version": "stale: the latest is 0"},
            )
        # Two first saves at once: the primary key lets one in, the other is told (a
        # savepoint, so its transaction stays usable for the answer).
        stored = MinutesRow(
            **{
                "hearing_id": hearing_id,
                "version": 1,
                "status": str(MinutesStatus.DRAFT),
                "content": content,
                "drafted_by": actor.user_id,
                "drafted_at": stamp,
                "updated_by": actor.user_id,
                "updated_at": stamp,
                **extra,
            }
        )
        try:
            async with session.begin_nested():
                session.add(stored)
                await session.flush()
        except IntegrityError as exc:  # the other first save won the primary key
            raise Conflict(
                "someone else saved these minutes first; reload them and make your change again",
                {"version": "stale"},
            ) from exc
        return stored
    result = await session.execute(
        update(MinutesRow)
        .where(
            MinutesRow.hearing_id == hearing_id,
            MinutesRow.version == version,
            MinutesRow.status == str(MinutesStatus.DRAFT),
        )
        .values(
            version=MinutesRow.version + 1,
            content=content,
            updated_by=actor.user_id,
            updated_at=stamp,
            **extra,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(stored)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await _stale(session, stored, version)
        raise Conflict("the minutes changed meanwhile; reload them", {"version": "stale"})
    return stored


async def sign(
    session: AsyncSession, actor: Actor, hearing_id: int, version: int
) -> dict[str, Any]:
    """A leader of the host office (or above) signs off version `version` of the minutes of
    an ended hearing: they get their number and become read-only."""
    actor.require(Action.SIGN_MINUTES)
    _require_read(actor)
    row = await _hosted(session, actor, hearing_id)
    if row.status != HearingStatus.ENDED:
        raise Conflict(
            f"minutes are signed off after the hearing ends (it is {row.status})",
            {"status": f"the hearing is {row.status}"},
        )
    stored = await session.get(MinutesRow, hearing_id)
    if stored is None:
        content = domain.to_json(await _draft(session, actor, row), LOCAL_TZ)
    else:
        await _check_unsigned(session, stored)
        content = dict(stored.content)
    host = await session.get(OfficeRow, row.host_office_id)
    assert host is not None
    signed_at = now()
    year = signed_at.astimezone(LOCAL_TZ).year
    if content["number"].startswith(domain.UNNUMBERED):
        value = await sequences.next_value(session, f"minutes:{host.code}:{year}")
        content["number"] = domain.numbered(content["number"], value)
    stored = await _write(
        session,
        actor,
        hearing_id,
        version,
        content,
        status=str(MinutesStatus.SIGNED),
        signed_by=actor.user_id,
        signed_at=signed_at,
    )
    await sessionlog.append(
        session,
        hearing_id,
        LogKind.MINUTES,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail={"version": stored.version, "signed": True, "number": content["number"]},
    )
    await session.flush()
    return await _view(session, hearing_id, stored, stored.content)


@dataclass(frozen=True)
class Export:
    """What a document writer needs: the layout, and a file name."""

    layout: Layout
    filename: str


async def export(session: AsyncSession, actor: Actor, hearing_id: int, kind: str) -> Export:
    """The minutes (stored, or the draft) laid out for a DOCX or PDF; audited as read."""
    view = await read(session, actor, hearing_id, how=f"minutes_{kind}")
    content = domain.from_json(view["content"])
    signed_at = datetime.fromisoformat(view["signed_at"]) if view["signed_at"] else None
    doc = layout(content, LOCAL_TZ, signed_by=view["signed_by"], signed_at=signed_at)
    state = "da-ky" if view["status"] == MinutesStatus.SIGNED else "du-thao"
    return Export(doc, f"bien-ban-phien-{hearing_id}-{state}.{kind}")

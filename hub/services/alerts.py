"""Connectivity alerts: open and close them idempotently (one open alert per kind, office and
hearing, across nodes), list those in a user's scope, and acknowledge them. An alert opened or
closed during a hearing is also a connectivity incident in that hearing's session log."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.clock import local_iso, now
from hub.domain.alerts import AlertDraft, AlertKind, open_key
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action
from hub.services import sessionlog
from hub.services.access import Actor
from hub.services.scope import in_subtree
from hub.storage.paging import page_of
from hub.storage.tables import AlertRow, HearingRow, HearingSiteRow, OfficeRow, UserRow

log = logging.getLogger(__name__)


async def open_alert(session: AsyncSession, draft: AlertDraft) -> tuple[AlertRow, bool]:
    """The open alert of the draft's kind, office and hearing: the one already open, or a new
    one (then True). A new one raised during a hearing is logged as a connectivity incident.
    Two nodes opening the same alert at once end up with one: the loser of the unique key
    reads the winner's row."""
    existing = await _open_row(session, draft.open_key)
    if existing is not None:
        return existing, False
    row = AlertRow(
        kind=str(draft.kind),
        office_id=draft.office_id,
        hearing_id=draft.hearing_id,
        opened_at=now(),
        detail=dict(draft.detail),
        open_key=draft.open_key,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        winner = await _open_row(session, draft.open_key)
        if winner is None:
            # Not the open key's constraint: a foreign key.
            raise ValidationFailed(
                f"invalid alert: office {draft.office_id} or hearing {draft.hearing_id} does "
                "not exist",
                {"office_id": "no such office, or no such hearing"},
            ) from None
        return winner, False
    if row.hearing_id is not None:
        await sessionlog.append(
            session,
            row.hearing_id,
            LogKind.CONNECTIVITY,
            office_id=row.office_id,
            # The alert's own keys last: a detail never passes itself off as another event.
            detail={**row.detail, "event": "alert_opened", "alert_id": row.id, "alert": row.kind},
        )
    log.info("alert %s opened: %s office %s hearing %s", row.id, row.kind, row.office_id,
             row.hearing_id)  # fmt: skip
    return row, True


async def close_alert(
    session: AsyncSession,
    kind: AlertKind | str,
    office_id: int,
    hearing_id: int | None = None,
    *,
    detail: dict[str, Any] | None = None,
) -> AlertRow | None:
    """Close the open alert of this kind, office and hearing (its condition cleared); None
    when none is open. `detail` is merged into the alert's (e.g. how it cleared)."""
    row = await _open_row(session, open_key(kind, office_id, hearing_id))
    if row is None:
        return None
    row.closed_at = now()
    row.open_key = None
    if detail:
        row.detail = {**row.detail, **detail}
    await session.flush()
    if row.hearing_id is not None:
        seconds = round((row.closed_at - row.opened_at).total_seconds(), 1)
        await sessionlog.append(
            session,
            row.hearing_id,
            LogKind.CONNECTIVITY,
            office_id=row.office_id,
            detail={
                **(detail or {}),
                "event": "alert_closed",
                "alert_id": row.id,
                "alert": row.kind,
                "lasted_seconds": seconds,
            },
        )
    log.info("alert %s closed: %s office %s", row.id, row.kind, row.office_id)
    return row


async def check_attendance(
    session: AsyncSession,
    hearing_id: int,
    connected: Iterable[int],
    *,
    detail: dict[str, Any] | None = None,
) -> tuple[list[AlertRow], list[AlertRow]]:
    """At a hearing's start (and again a few minutes in): every invited site (the hearing's
    sites and its host) not among the `connected` office ids gets a site_not_connected_at_start
    alert, and one that has connected since has its alert closed. (opened, closed)."""
    hearing = await session.get(HearingRow, hearing_id)
    if hearing is None:
        raise NotFound(f"hearing {hearing_id} not found")
    sites = (
        await session.execute(
            select(HearingSiteRow.office_id).where(HearingSiteRow.hearing_id == hearing_id)
        )
    ).scalars()
    invited = {hearing.host_office_id, *sites}
    present = set(connected)
    opened: list[AlertRow] = []
    closed: list[AlertRow] = []
    for office_id in sorted(invited):
        if office_id in present:
            row = await close_alert(
                session, AlertKind.SITE_NOT_CONNECTED_AT_START, office_id, hearing_id,
                detail={"connected": True},
            )  # fmt: skip
            if row is not None:
                closed.append(row)
        else:
            draft = AlertDraft(
                AlertKind.SITE_NOT_CONNECTED_AT_START, office_id, hearing_id, dict(detail or {})
            )
            row, new = await open_alert(session, draft)
            if new:
                opened.append(row)
    return opened, closed


async def open_alerts_of(session: AsyncSession, office_id: int) -> list[AlertRow]:
    """Every open alert of an office (e.g. to close them all when it comes back)."""
    query = select(AlertRow).where(AlertRow.office_id == office_id, AlertRow.closed_at.is_(None))
    return list((await session.execute(query.order_by(AlertRow.id))).scalars())


async def count_open(session: AsyncSession) -> dict[str, int]:
    """Open alerts by kind, over every office (the metrics' figure)."""
    query = (
        select(AlertRow.kind, func.count())
        .where(AlertRow.closed_at.is_(None))
        .group_by(AlertRow.kind)
    )
    return {kind: int(n) for kind, n in (await session.execute(query)).all()}


async def list_(
    session: AsyncSession,
    actor: Actor,
    *,
    open_only: bool = False,
    closed_only: bool = False,
    office_id: int | None = None,
    hearing_id: int | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Alerts of the offices in the actor's scope (or under one office of it), newest first."""
    actor.require(Action.READ_HEARINGS)
    scope = actor.office_path
    if office_id is not None:
        office = await session.get(OfficeRow, office_id)
        if office is None or not actor.sees(office.path):
            raise ValidationFailed("invalid filter", {"office": "no such office in your scope"})
        scope = office.path
    acknowledger = aliased(UserRow)
    query = (
        select(AlertRow, OfficeRow.name, acknowledger.display_name)
        .join(OfficeRow, OfficeRow.id == AlertRow.office_id)
        .outerjoin(acknowledger, acknowledger.id == AlertRow.acknowledged_by)
        .where(in_subtree(OfficeRow.path, scope))
    )
    if open_only:
        query = query.where(AlertRow.closed_at.is_(None))
    if closed_only:
        query = query.where(AlertRow.closed_at.is_not(None))
    if hearing_id is not None:
        query = query.where(AlertRow.hearing_id == hearing_id)
    if kind is not None:
        query = query.where(AlertRow.kind == str(AlertKind(kind)))
    rows, total = await page_of(
        session, query, [AlertRow.opened_at.desc(), AlertRow.id.desc()], limit, offset
    )
    return [view(row, office_name, ack_name) for row, office_name, ack_name in rows], total


async def acknowledge(session: AsyncSession, actor: Actor, alert_id: int) -> dict[str, Any]:
    """An operator has seen the alert: who and when are kept (the first acknowledgement; a
    second one changes nothing). Open or closed alike."""
    actor.require(Action.MONITOR)
    found = (
        await session.execute(
            select(AlertRow, OfficeRow).join(OfficeRow, OfficeRow.id == AlertRow.office_id)
            .where(AlertRow.id == alert_id)
        )
    ).first()  # fmt: skip
    if found is None or not actor.sees(found[1].path):
        raise NotFound(f"alert {alert_id} not found")
    row, office = found
    if row.acknowledged_by is None:
        row.acknowledged_by = actor.user_id
        row.acknowledged_at = now()
        await session.flush()
    user = await session.get(UserRow, row.acknowledged_by)
    return view(row, office.name, user.display_name if user is not None else None)


async def view_of(session: AsyncSession, row: AlertRow) -> dict[str, Any]:
    """An alert as the API sends it, its office's and acknowledger's names read."""
    office = await session.get(OfficeRow, row.office_id)
    user = await session.get(UserRow, row.acknowledged_by) if row.acknowledged_by else None
    return view(row, office.name if office else None, user.display_name if user else None)


def view(row: AlertRow, office_name: str | None, ack_name: str | None) -> dict[str, Any]:
    """An alert as the API sends it."""
    return {
        "id": row.id,
        "kind": row.kind,
        "office_id": row.office_id,
        "office_name": office_name,
        "hearing_id": row.hearing_id,
        "opened_at": local_iso(row.opened_at),
        "closed_at": local_iso(row.closed_at),
        "open": row.closed_at is None,
        "detail": row.detail,
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_by_name": ack_name,
        "acknowledged_at": local_iso(row.acknowledged_at),
    }


async def _open_row(session: AsyncSession, key: str) -> AlertRow | None:
    query = select(AlertRow).where(AlertRow.open_key == key)
    return (await session.execute(query)).scalar_one_or_none()

"""Appending to and reading a hearing's session log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain.sessionlog import SITE_PRESENCE_KINDS, LogKind, restoration
from hub.storage.tables import LogEventRow, OfficeRow, UserRow


async def append(
    session: AsyncSession,
    hearing_id: int,
    kind: LogKind | str,
    *,
    user_id: int | None = None,
    office_id: int | None = None,
    petition_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> LogEventRow:
    """Add one time-stamped, attributed event to a hearing's log (in the caller's transaction)."""
    row = LogEventRow(
        hearing_id=hearing_id,
        at=now(),
        kind=str(LogKind(kind)),
        user_id=user_id,
        office_id=office_id,
        petition_id=petition_id,
        detail=detail or {},
    )
    session.add(row)
    await session.flush()
    return row


async def append_site_entry(
    session: AsyncSession,
    hearing_id: int,
    kind: LogKind | str,
    *,
    user_id: int | None = None,
    office_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> LogEventRow:
    """append() for an entry the live rooms make about a site; a join that returns the site
    from a drop is followed by its connectivity entry (the outage, see
    hub.domain.sessionlog.restoration), read from the log so that it survives a restart."""
    previous = None
    if kind == LogKind.PARTICIPANT_JOINED and office_id is not None:
        previous = (
            await session.execute(
                select(LogEventRow.kind, LogEventRow.at)
                .where(
                    LogEventRow.hearing_id == hearing_id,
                    LogEventRow.office_id == office_id,
                    LogEventRow.kind.in_([str(k) for k in SITE_PRESENCE_KINDS]),
                )
                .order_by(LogEventRow.id.desc())
                .limit(1)
            )
        ).first()
    row = await append(
        session, hearing_id, kind, user_id=user_id, office_id=office_id, detail=detail
    )
    if previous is not None:
        returned = restoration(str(kind), previous.kind, _unix(previous.at), _unix(row.at))
        if returned is not None:
            returned["participant_id"] = (detail or {}).get("participant_id")
            await append(
                session, hearing_id, LogKind.CONNECTIVITY, office_id=office_id, detail=returned
            )
    return row


def _unix(at: datetime) -> float:
    # SQLite hands back naive datetimes; the hub stores UTC.
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


async def events(session: AsyncSession, hearing_id: int) -> list[dict[str, Any]]:
    """The log of a hearing, oldest first, with names of the users and offices involved."""
    query = (
        select(LogEventRow, UserRow.display_name, OfficeRow.name)
        .outerjoin(UserRow, UserRow.id == LogEventRow.user_id)
        .outerjoin(OfficeRow, OfficeRow.id == LogEventRow.office_id)
        .where(LogEventRow.hearing_id == hearing_id)
        .order_by(LogEventRow.id)
    )
    out = []
    for row, user_name, office_name in (await session.execute(query)).all():
        out.append(
            {
                "id": row.id,
                "at": local_iso(row.at),
                "kind": row.kind,
                "user_id": row.user_id,
                "user_name": user_name,
                "office_id": row.office_id,
                "office_name": office_name,
                "petition_id": row.petition_id,
                "detail": row.detail,
            }
        )
    return out

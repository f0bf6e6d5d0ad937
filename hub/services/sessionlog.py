"""Appending to and reading a hearing's session log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain.sessionlog import LogKind
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

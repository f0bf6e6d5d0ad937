"""Which offices are admitted to a live hearing, kept in the database so that a site comes back
straight in after a restart of the hub or of a media worker, not only after a network drop.

The session log's entries about sites change it (hub.domain.sessionlog.admission_change), in the
transaction that appends them; ending or cancelling the hearing clears it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import now
from hub.domain.sessionlog import admission_change
from hub.storage.tables import AdmissionRow


async def follow(
    session: AsyncSession,
    hearing_id: int,
    kind: str,
    office_id: int | None,
    detail: dict[str, Any] | None,
) -> None:
    """Apply what a log entry about a site does to its office's admission (in the caller's
    transaction, the one appending the entry)."""
    change = admission_change(kind, detail) if office_id is not None else None
    if change is None:
        return
    if not change:
        await session.execute(
            delete(AdmissionRow).where(
                AdmissionRow.hearing_id == hearing_id, AdmissionRow.office_id == office_id
            )
        )
        return
    values = {"hearing_id": hearing_id, "office_id": office_id, "admitted_at": now()}
    # Two sites of one office admitted at once both write it: the first one wins, quietly.
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(sqlite_insert(AdmissionRow).values(values).on_conflict_do_nothing())
    else:
        await session.execute(
            postgresql_insert(AdmissionRow).values(values).on_conflict_do_nothing()
        )


async def admitted_offices(session: AsyncSession, hearing_id: int) -> set[int]:
    """The offices admitted to a hearing."""
    rows = await session.execute(
        select(AdmissionRow.office_id).where(AdmissionRow.hearing_id == hearing_id)
    )
    return set(rows.scalars())


async def clear(session: AsyncSession, hearing_id: int) -> None:
    """The hearing is over: nobody is admitted any more."""
    await session.execute(delete(AdmissionRow).where(AdmissionRow.hearing_id == hearing_id))

"""Which offices are admitted to a live hearing, kept in the database so that a site comes back
straight in after a restart of the hub or of a media worker, not only after a network drop.

The session log's entries about sites change it (hub.domain.sessionlog.admission_change), in the
transaction that appends them; ending or cancelling the hearing clears it. A guest's admission
(hub.domain.guests: its seat is the negative of its guest id) follows the same entries and is
kept on its own row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import now
from hub.domain.guests import guest_of_seat, guest_seat
from hub.domain.sessionlog import admission_change
from hub.storage.tables import AdmissionRow, GuestRow


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
    guest_id = guest_of_seat(office_id)
    if guest_id is not None:
        await session.execute(
            update(GuestRow)
            .where(GuestRow.id == guest_id, GuestRow.hearing_id == hearing_id)
            .values(admitted_at=now() if change else None)
        )
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
    """The offices admitted to a hearing, and its admitted guests' seats."""
    rows = await session.execute(
        select(AdmissionRow.office_id).where(AdmissionRow.hearing_id == hearing_id)
    )
    guests = await session.execute(
        select(GuestRow.id).where(
            GuestRow.hearing_id == hearing_id, GuestRow.admitted_at.is_not(None)
        )
    )
    return set(rows.scalars()) | {guest_seat(g) for g in guests.scalars()}


async def clear(session: AsyncSession, hearing_id: int) -> None:
    """The hearing is over: nobody is admitted any more."""
    await session.execute(delete(AdmissionRow).where(AdmissionRow.hearing_id == hearing_id))
    await session.execute(
        update(GuestRow).where(GuestRow.hearing_id == hearing_id).values(admitted_at=None)
    )

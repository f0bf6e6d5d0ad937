"""The reception register: register a citizen received, and read rows in scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.reception import ReceptionDraft, local_national_code
from hub.domain.users import Action
from hub.services.access import Actor
from hub.services.scope import in_subtree
from hub.storage.sequences import next_value
from hub.storage.tables import OfficeRow, PetitionRow, ReceptionRow


async def create(session: AsyncSession, actor: Actor, draft: ReceptionDraft) -> ReceptionRow:
    """Register a citizen received at an office in the actor's scope; a row without a national
    code gets the hub's own (hub.domain.reception.local_national_code)."""
    actor.require(Action.EDIT_PETITIONS)
    office = await session.get(OfficeRow, draft.office_id)
    if office is None or not actor.sees(office.path):
        raise ValidationFailed(
            "invalid reception register row", {"office_id": "no such office in your scope"}
        )
    if draft.petition_id is not None:
        petition = await session.get(PetitionRow, draft.petition_id)
        owner = await session.get(OfficeRow, petition.office_id) if petition else None
        if owner is None or not actor.sees(owner.path):
            raise ValidationFailed(
                "invalid reception register row", {"petition_id": "no such petition in your scope"}
            )
    record = draft.record()
    if record["national_code"] is None:
        year = draft.received_on.year
        number = await next_value(session, f"TCD:{office.code}-{year}")
        record["national_code"] = local_national_code(office.code, year, number)
    stamp = now()
    row = ReceptionRow(**record, created_by=actor.user_id, created_at=stamp, updated_at=stamp)
    session.add(row)
    await session.flush()
    return row


def view(row: ReceptionRow, office_name: str | None = None) -> dict[str, Any]:
    """A register row as the API shows it."""
    return {
        "id": row.id,
        "national_code": row.national_code,
        "office_id": row.office_id,
        "office_name": office_name,
        "received_on": row.received_on.isoformat(),
        "petitioner_name": row.petitioner_name,
        "petitioner_address": row.petitioner_address,
        "petitioner_id_number": row.petitioner_id_number,
        "content": row.content,
        "type": row.type,
        "crowd": row.crowd,
        "people_count": row.people_count,
        "handled_before": row.handled_before,
        "handling": row.handling,
        "follow_up": row.follow_up,
        "notes": row.notes,
        "petition_id": row.petition_id,
        "created_at": local_iso(row.created_at),
        "updated_at": local_iso(row.updated_at),
    }


async def get(session: AsyncSession, actor: Actor, row_id: int) -> dict[str, Any]:
    """One register row of an office in scope, or NotFound (the same for a missing one)."""
    actor.require(Action.READ_PETITIONS)
    found = (
        await session.execute(
            select(ReceptionRow, OfficeRow.name)
            .join(OfficeRow, OfficeRow.id == ReceptionRow.office_id)
            .where(ReceptionRow.id == row_id, in_subtree(OfficeRow.path, actor.office_path))
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"reception register row {row_id} not found")
    return view(found[0], found[1])

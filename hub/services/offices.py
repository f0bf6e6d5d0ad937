"""Offices and user accounts: the tree of reception boards and who works at each."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import now
from hub.domain.errors import Conflict, NotFound, ValidationFailed
from hub.domain.offices import OfficeDraft, child_path
from hub.domain.users import Action, UserDraft
from hub.services.access import Actor
from hub.services.passwords import PasswordWorkers, hash_password
from hub.services.scope import in_subtree
from hub.storage.tables import OfficeRow, UserRow


def office_view(row: OfficeRow) -> dict[str, Any]:
    """An office as the API shows it."""
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "level": row.level,
        "parent_id": row.parent_id,
        "has_bridge_point": row.has_bridge_point,
        "address": row.address,
        "depth": row.path.count("/") - 2,
    }


async def list_offices(
    session: AsyncSession, *, level: str | None = None, bridge_only: bool = False
) -> list[OfficeRow]:
    """Every office, ordered along the tree. The directory of offices is public information
    (the posted schedule names them), so it is not scoped; records in them are."""
    query = select(OfficeRow).order_by(OfficeRow.path)
    if level:
        query = query.where(OfficeRow.level == level)
    if bridge_only:
        query = query.where(OfficeRow.has_bridge_point.is_(True))
    return list((await session.execute(query)).scalars())


async def get_office(session: AsyncSession, office_id: int) -> OfficeRow:
    """One office, or NotFound."""
    row = await session.get(OfficeRow, office_id)
    if row is None:
        raise NotFound(f"office {office_id} not found", {"office_id": "no such office"})
    return row


async def create_office(
    session: AsyncSession, actor: Actor | None, draft: OfficeDraft, address: str = ""
) -> OfficeRow:
    """Add an office under a parent in the actor's scope (actor None: the CLI / seeding)."""
    parent_path: str | None = None
    if actor is not None:
        actor.require(Action.MANAGE_OFFICES)
    if draft.parent_id is not None:
        parent = await session.get(OfficeRow, draft.parent_id)
        if parent is None or (actor is not None and not actor.sees(parent.path)):
            raise ValidationFailed("invalid office", {"parent_id": "no such office in your scope"})
        parent_path = parent.path
    elif actor is not None:
        raise ValidationFailed("invalid office", {"parent_id": "only seeding creates a root"})
    exists = await session.execute(select(OfficeRow.id).where(OfficeRow.code == draft.code))
    if exists.first() is not None:
        raise Conflict(f"office code {draft.code} is taken", {"code": "already used"})
    row = OfficeRow(
        code=draft.code,
        name=draft.name,
        level=draft.level,
        parent_id=draft.parent_id,
        has_bridge_point=draft.has_bridge_point,
        address=address,
        path="",
    )
    session.add(row)
    await session.flush()
    row.path = child_path(parent_path, row.id)
    await session.flush()
    return row


def user_view(row: UserRow, office: OfficeRow | None = None) -> dict[str, Any]:
    """A user as the API shows it (never the password hash)."""
    out: dict[str, Any] = {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "role": row.role,
        "office_id": row.office_id,
        "active": row.active,
    }
    if office is not None:
        out["office_name"] = office.name
    return out


async def add_user(
    session: AsyncSession,
    actor: Actor | None,
    draft: UserDraft,
    passwords: PasswordWorkers | None = None,
) -> UserRow:
    """Create an account at an office in the actor's scope (actor None: the CLI / seeding).

    The password is hashed on the app's password pool when given (the hub's routes), on a
    worker thread otherwise; never on the event loop."""
    if actor is not None:
        actor.require(Action.MANAGE_USERS)
    office = await session.get(OfficeRow, draft.office_id)
    if office is None or (actor is not None and not actor.sees(office.path)):
        raise ValidationFailed("invalid user", {"office_id": "no such office in your scope"})
    taken = await session.execute(select(UserRow.id).where(UserRow.username == draft.username))
    if taken.first() is not None:
        raise Conflict(f"username {draft.username} is taken", {"username": "already used"})
    row = UserRow(
        username=draft.username,
        display_name=draft.display_name,
        role=str(draft.role),
        office_id=draft.office_id,
        password_hash=await (
            passwords.hash(draft.password)
            if passwords is not None
            else asyncio.to_thread(hash_password, draft.password)
        ),
        active=True,
        created_at=now(),
    )
    session.add(row)
    await session.flush()
    return row


async def list_users(
    session: AsyncSession, actor: Actor, *, role: str | None = None, office_id: int | None = None
) -> list[tuple[UserRow, OfficeRow]]:
    """Users of the offices in the actor's scope (admin screens), or under one office of it
    (the chair picker lists the leaders under a hearing's host office: role="leader")."""
    scope = actor.office_path
    if office_id is not None:
        office = await session.get(OfficeRow, office_id)
        if office is None or not actor.sees(office.path):
            raise ValidationFailed("invalid filter", {"office": "no such office in your scope"})
        scope = office.path
    query = (
        select(UserRow, OfficeRow)
        .join(OfficeRow, OfficeRow.id == UserRow.office_id)
        .where(in_subtree(OfficeRow.path, scope))
        .order_by(OfficeRow.path, UserRow.username)
    )
    if role is not None:
        query = query.where(UserRow.role == role)
    return [(u, o) for u, o in (await session.execute(query)).all()]


async def count_offices(session: AsyncSession) -> int:
    """How many offices exist (seeding checks this)."""
    return int((await session.execute(select(func.count(OfficeRow.id)))).scalar_one())

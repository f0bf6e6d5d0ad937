"""A migrated database on each back end, and a small office tree with people in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from hub.clock import now
from hub.config import Settings
from hub.domain.offices import OfficeDraft
from hub.domain.users import Role
from hub.services import offices
from hub.services.access import Actor
from hub.services.auth import actor_for_user, hash_password
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from hub.storage.tables import OfficeRow, UserRow

# One hash for every helper account: argon2 costs a noticeable fraction of a second per call.
_HASH = hash_password("helper-password")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A freshly migrated database (SQLite file or PostgreSQL database)."""
    await upgrade(Settings(database_url=db_url))
    database = Database(db_url)
    try:
        yield database
    finally:
        await database.close()


@dataclass(frozen=True)
class Tree:
    """Offices by code and one actor per (role, office) the tests need."""

    office: dict[str, OfficeRow]
    admin: Actor  # central office
    staff_hy: Actor  # Hưng Yên
    leader_hy: Actor
    operator_hy: Actor
    staff_bg: Actor  # Bắc Giang


TREE = [
    ("TW", "Trụ sở Tiếp công dân Trung ương", "central", None, True),
    ("HY", "Ban Tiếp công dân tỉnh Hưng Yên", "province", "TW", True),
    ("HY.VANLAM", "Ban Tiếp công dân huyện Văn Lâm", "district", "HY", True),
    ("HY.VANLAM.LACHONG", "Xã Lạc Hồng", "commune", "HY.VANLAM", False),
    ("BG", "Ban Tiếp công dân tỉnh Bắc Giang", "province", "TW", True),
]


async def build_tree(db: Database) -> Tree:
    """Create the offices of TREE and an account per role the tests act as."""
    async with db.transaction() as session:
        made: dict[str, OfficeRow] = {}
        for code, name, level, parent, bridge in TREE:
            parent_id = made[parent].id if parent else None
            made[code] = await offices.create_office(
                session, None, OfficeDraft(code, name, level, parent_id, bridge)
            )
        actors: dict[str, Actor] = {}
        for username, role, code in [
            ("admin", Role.ADMIN, "TW"),
            ("staff.hy", Role.STAFF, "HY"),
            ("leader.hy", Role.LEADER, "HY"),
            ("operator.hy", Role.OPERATOR, "HY"),
            ("staff.bg", Role.STAFF, "BG"),
        ]:
            user = UserRow(
                username=username,
                display_name=f"Người dùng {username}",
                role=str(role),
                office_id=made[code].id,
                password_hash=_HASH,
                active=True,
                created_at=now(),
            )
            session.add(user)
            await session.flush()
            actors[username] = await actor_for_user(session, user)
    return Tree(
        made,
        actors["admin"],
        actors["staff.hy"],
        actors["leader.hy"],
        actors["operator.hy"],
        actors["staff.bg"],
    )


@pytest.fixture
async def tree(db: Database) -> Tree:
    """The office tree of TREE in the fresh database."""
    return await build_tree(db)

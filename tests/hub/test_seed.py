"""Demo data (hub/seed.py) on both back ends: loads the seed letters' offices and accounts, and
running it again changes nothing but the demo password."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.config import Settings
from hub.domain.errors import Unauthorized
from hub.seed import ACCOUNTS, seed_demo
from hub.services import auth
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from hub.storage.tables import (
    DelegationPetitionRow,
    DelegationRow,
    HearingRow,
    LogEventRow,
    OfficeRow,
    PetitionRow,
    SequenceRow,
    UserRow,
)

COUNTED = (
    OfficeRow,
    UserRow,
    HearingRow,
    PetitionRow,
    LogEventRow,
    SequenceRow,
    DelegationRow,
    DelegationPetitionRow,
)


async def _counts(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        return {
            t.__tablename__: int(
                (await session.execute(select(func.count()).select_from(t))).scalar_one()
            )
            for t in COUNTED
        }


async def test_seed_demo_is_idempotent_and_resets_the_demo_password(db_url: str) -> None:
    settings = Settings(database_url=db_url)
    await upgrade(settings)
    accounts = await seed_demo(settings, password="first-pw")
    assert [(a.username, a.role) for a in accounts] == [(u, str(r)) for u, _, r, _ in ACCOUNTS]
    assert {a.username for a in accounts} == {
        "admin",
        "leader",
        "staff",
        "operator",
        "staff.hungyen",
        "leader.hungyen",
        "operator.hungyen",
        "staff.bacgiang",
    }
    db = Database(db_url)
    try:
        first = await _counts(db)
        assert first["offices"] >= 12 and first["users"] == 8
        assert first["hearings"] >= 7 and first["petitions"] == 3
        assert first["delegations"] == 1 and first["delegation_petitions"] == 1

        again = await seed_demo(settings, password="second-pw")
        assert again == accounts
        assert await _counts(db) == first

        async with db.transaction() as session:
            codes = set((await session.execute(select(OfficeRow.code))).scalars())
            assert {"TW", "HY", "BG", "HP", "TN", "TN.TANBIEN"} <= codes
            signin = await auth.login(session, "staff.hungyen", "second-pw", 60)
            assert signin.actor.office_name == "Ban Tiếp công dân tỉnh Hưng Yên"
        try:
            async with db.transaction() as session:
                await auth.login(session, "staff.hungyen", "first-pw", 60)
        except Unauthorized:
            pass
        else:
            raise AssertionError("the old demo password still signs in")
    finally:
        await db.close()

"""Offices, accounts and sign-in sessions stored on both back ends; scope as an indexed range."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hub.clock import now
from hub.domain.errors import Conflict, Forbidden, Unauthorized, ValidationFailed
from hub.domain.offices import OfficeDraft
from hub.domain.users import Role, UserDraft
from hub.services import auth, offices
from hub.services.scope import in_subtree
from hub.storage.db import Database
from hub.storage.tables import OfficeRow, SessionRow
from tests.hub.storage.conftest import Tree


async def test_the_tree_is_stored_with_paths_and_listed_in_tree_order(
    db: Database, tree: Tree
) -> None:
    o = tree.office
    assert o["TW"].path == f"/{o['TW'].id}/"
    assert o["HY.VANLAM.LACHONG"].path == (
        f"/{o['TW'].id}/{o['HY'].id}/{o['HY.VANLAM'].id}/{o['HY.VANLAM.LACHONG'].id}/"
    )
    async with db.transaction() as session:
        listed = [r.code for r in await offices.list_offices(session)]
        bridges = [r.code for r in await offices.list_offices(session, bridge_only=True)]
        districts = [r.code for r in await offices.list_offices(session, level="district")]
    assert listed == ["TW", "HY", "HY.VANLAM", "HY.VANLAM.LACHONG", "BG"]
    assert "HY.VANLAM.LACHONG" not in bridges
    assert districts == ["HY.VANLAM"]


async def test_offices_are_added_in_scope_by_admins_only(db: Database, tree: Tree) -> None:
    hy = tree.office["HY"]
    async with db.transaction() as session:
        row = await offices.create_office(
            session, tree.admin, OfficeDraft("HY.PHOHIEN", "Phường Phố Hiến", "commune", hy.id)
        )
        assert row.path == f"{hy.path}{row.id}/"
        with pytest.raises(Conflict):
            await offices.create_office(
                session, tree.admin, OfficeDraft("HY.PHOHIEN", "Trùng mã", "commune", hy.id)
            )
        with pytest.raises(Forbidden):
            await offices.create_office(
                session, tree.staff_hy, OfficeDraft("HY.X", "Xã X", "commune", hy.id)
            )
        with pytest.raises(ValidationFailed) as caught:
            await offices.create_office(
                session, tree.admin, OfficeDraft("HY.Y", "Xã Y", "commune", 999_999)
            )
        assert "parent_id" in caught.value.fields


async def test_a_user_signs_in_and_the_session_resolves_until_it_expires(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        user = await offices.add_user(
            session,
            tree.admin,
            UserDraft(
                "canbo.vanlam", "Cán bộ Văn Lâm", Role.STAFF, tree.office["HY.VANLAM"].id, "pw-1234"
            ),
        )
        with pytest.raises(Conflict):
            await offices.add_user(
                session,
                None,
                UserDraft("canbo.vanlam", "Trùng tên", Role.STAFF, tree.office["HY"].id, "pw-1234"),
            )
    assert user.password_hash.startswith("$argon2id$")
    async with db.transaction() as session:
        signin = await auth.login(session, "canbo.vanlam", "pw-1234", ttl_seconds=3600)
    assert signin.actor.office_path == tree.office["HY.VANLAM"].path
    async with db.transaction() as session:
        actor, csrf = await auth.resolve_session(session, signin.token)
        assert actor.username == "canbo.vanlam" and csrf == signin.csrf_token
        # Only the token's hash is stored.
        stored = (await session.execute(select(SessionRow.token_hash))).scalars().all()
        assert signin.token not in stored
        with pytest.raises(Unauthorized):
            await auth.login(session, "canbo.vanlam", "wrong", ttl_seconds=3600)
        with pytest.raises(Unauthorized):
            await auth.login(session, "nobody", "pw-1234", ttl_seconds=3600)
    async with db.transaction() as session:
        await session.execute(update(SessionRow).values(expires_at=now() - timedelta(seconds=1)))
    async with db.transaction() as session:
        with pytest.raises(Unauthorized, match="expired"):
            await auth.resolve_session(session, signin.token)


async def test_subtree_ranges_select_descendants_and_not_siblings_sharing_digits(
    db: Database, tree: Tree
) -> None:
    # Enough offices that ids 2 and 2x both exist: '/1/2/' must not pick up '/1/2x/'.
    async with db.transaction() as session:
        for i in range(25):
            await offices.create_office(
                session, None, OfficeDraft(f"P{i}", f"Tỉnh {i}", "province", tree.office["TW"].id)
            )
        everyone = {o.id: o for o in (await session.execute(select(OfficeRow))).scalars()}
        for scope in everyone.values():
            found = set(
                (
                    await session.execute(
                        select(OfficeRow.id).where(in_subtree(OfficeRow.path, scope.path))
                    )
                ).scalars()
            )
            expected = {i for i, o in everyone.items() if o.path.startswith(scope.path)}
            assert found == expected, scope.code

"""The delegation's joint hearing at the live gateway, on both back ends: Bắc Giang receives a
crowd from Hưng Yên (not under it) and hosts the joint hearing; Hưng Yên's kiosk is admitted to
that hearing and to no other Bắc Giang hearing, and no office but the home office is."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hub.domain.delegations import DelegationDraft, DelegationStatus
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.hearings import HearingDraft, HearingKind
from hub.services import delegations, hearings
from hub.services.live import DatabaseLiveGateway, Principal
from hub.storage.db import Database
from hub.storage.tables import HearingSiteRow
from tests.hub.client import VN
from tests.hub.services.test_security_live_join_scope import signed_in
from tests.hub.storage.conftest import Tree

DAY = date(2027, 3, 2)


def crowd(tree: Tree, receiving: str, home: str, **extra: object) -> DelegationDraft:
    values: dict[str, object] = {
        "receiving_office_id": tree.office[receiving].id,
        "home_office_id": tree.office[home].id,
        "received_on": DAY,
        "people_count": 20,
        "matter": "Khiếu nại bồi thường giải phóng mặt bằng",
    }
    values.update(extra)
    return DelegationDraft(**values)  # type: ignore[arg-type]


async def test_only_the_home_office_joins_only_its_joint_hearing(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        row = await delegations.create(session, tree.staff_bg, crowd(tree, "BG", "HY"))
        joint = await delegations.open_hearing(session, tree.staff_bg, row.id)
        joint_id = joint.id
        other = (
            await hearings.create(
                session,
                tree.staff_bg,
                HearingDraft(
                    "Phiên khác của Bắc Giang",
                    HearingKind.ADHOC,
                    tree.office["BG"].id,
                    (),
                    datetime(2027, 3, 3, 8, tzinfo=VN),
                    datetime(2027, 3, 3, 10, tzinfo=VN),
                ),
            )
        )[0]
        other_id = other.id
        # A stale invitation written outside the service: Hưng Yên under a Bắc Giang hearing.
        session.add(HearingSiteRow(hearing_id=other_id, office_id=tree.office["HY"].id))
    gateway = DatabaseLiveGateway(db, "secret")
    access = await gateway.admit(signed_in(tree.staff_hy), joint_id)
    assert set(access.site_offices) == {tree.office["BG"].id, tree.office["HY"].id}
    assert access.host_side is False
    with pytest.raises(NotFound):
        await gateway.admit(signed_in(tree.staff_hy), other_id)
    # An office under the home office is not the home office: the exception is that one office.
    van_lam = tree.office["HY.VANLAM"]
    below = Principal(
        tree.staff_hy.user_id, "staff.hy", "x", "staff", van_lam.id, van_lam.name,
        office_path=van_lam.path,
    )  # fmt: skip
    with pytest.raises(NotFound):
        await gateway.admit(below, joint_id)

    async with db.transaction() as session:
        seen, _ = await hearings.list_(session, tree.leader_hy)
        assert joint_id in [h.id for h in seen] and other_id not in [h.id for h in seen]
        invited = await hearings.invited_offices(session, joint)
        assert [o["office_id"] for o in invited] == [tree.office["BG"].id, tree.office["HY"].id]
        assert await hearings.delegation_guests(session, joint_id) == {tree.office["HY"].id}
        assert await hearings.delegation_guests(session, other_id) == set()


async def test_a_joint_hearing_needs_another_office_with_a_bridge_point(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        at_home = await delegations.create(session, tree.staff_hy, crowd(tree, "HY", "HY"))
        no_bridge = await delegations.create(
            session, tree.staff_hy, crowd(tree, "HY", "HY.VANLAM.LACHONG")
        )
        with pytest.raises(ValidationFailed) as same:
            await delegations.open_hearing(session, tree.staff_hy, at_home.id)
        assert "home_office_id" in same.value.fields
        with pytest.raises(ValidationFailed) as bridge:
            await delegations.open_hearing(session, tree.staff_hy, no_bridge.id)
        assert "no bridge point" in bridge.value.fields["home_office_id"]
        # A crowd from its own area goes past no level; a commune's at the province does.
        assert (await delegations.view_of(session, at_home))["skipped_level"] is False
        assert (await delegations.view_of(session, no_bridge))["skipped_level"] is True


async def test_visits_chain_within_the_window(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        numbers = []
        for days in (0, 30, 60, 200):
            row = await delegations.create(
                session,
                tree.admin,
                crowd(tree, "TW", "HY", received_on=DAY + timedelta(days=days)),
            )
            numbers.append(row.visit_number)
    assert numbers == [1, 2, 3, 1]


async def test_lists_and_the_board_follow_scope(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        central = await delegations.create(session, tree.admin, crowd(tree, "TW", "HY.VANLAM"))
        sideways = await delegations.create(session, tree.staff_bg, crowd(tree, "BG", "HY"))
        own = await delegations.create(session, tree.staff_bg, crowd(tree, "BG", "BG"))
        await delegations.set_status(session, tree.leader_hy, central.id, DelegationStatus.CLOSED)
        hy_items, hy_total = await delegations.list_(session, tree.staff_hy)
        bg_items, _ = await delegations.list_(session, tree.staff_bg, statuses=("open",))
        board_hy = await delegations.board(session, tree.staff_hy)
        board_all = await delegations.board(session, tree.admin)
    assert [d["id"] for d in hy_items] == [sideways.id, central.id] and hy_total == 2
    assert {d["id"] for d in bg_items} == {sideways.id, own.id}
    (hung_yen,) = board_hy["provinces"]
    assert hung_yen["province_office_id"] == tree.office["HY"].id
    assert (hung_yen["open"], hung_yen["closed"], hung_yen["skipped_level"]) == (1, 1, 1)
    by_province = {p["province_office_id"]: p for p in board_all["provinces"]}
    assert by_province[tree.office["BG"].id]["total"] == 1
    assert board_all["totals"]["total"] == 3 and board_all["totals"]["skipped_level"] == 1

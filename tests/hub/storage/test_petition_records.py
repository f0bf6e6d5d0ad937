"""Petitions stored on both back ends: case codes, the workflow history, audited reads."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from hub.domain.errors import Conflict, Forbidden, NotFound
from hub.domain.petitions import PetitionDraft, PetitionType
from hub.services import petition_search, petitions
from hub.services.access import Actor
from hub.services.petition_search import PetitionQuery
from hub.storage.db import Database
from hub.storage.tables import AuditRow
from tests.hub.storage.conftest import Tree


def complaint(office_id: int, received: date = date(2026, 11, 2), **changes: Any) -> PetitionDraft:
    fields: dict[str, Any] = {
        "type": PetitionType.COMPLAINT,
        "office_id": office_id,
        "petitioner_name": "Nguyễn Văn An",
        "petitioner_address": "Thôn Đình Dù, huyện Văn Lâm",
        "petitioner_id_number": "033080001234",
        "content": "Khiếu nại quyết định thu hồi đất.",
        "received_on": received,
    }
    fields.update(changes)
    return PetitionDraft(**fields)


async def _create(db: Database, actor: Actor, draft: PetitionDraft) -> str:
    async with db.transaction() as session:
        return (await petitions.create(session, actor, draft)).case_code


async def test_case_codes_count_per_office_and_year(db: Database, tree: Tree) -> None:
    hy, bg = tree.office["HY"].id, tree.office["BG"].id
    codes = [
        await _create(db, tree.staff_hy, complaint(hy)),
        await _create(db, tree.staff_hy, complaint(hy)),
        await _create(db, tree.staff_bg, complaint(bg)),
        await _create(db, tree.staff_hy, complaint(hy, received=date(2025, 12, 30))),
        await _create(db, tree.staff_hy, complaint(tree.office["HY.VANLAM"].id)),
        await _create(db, tree.staff_hy, complaint(hy)),
    ]
    assert codes == [
        "HY-2026-000001",
        "HY-2026-000002",
        "BG-2026-000001",
        "HY-2025-000001",
        "HY.VANLAM-2026-000001",
        "HY-2026-000003",
    ]


async def test_a_first_petition_registered_while_another_is_pending_gets_the_next_code(
    db: Database, tree: Tree, db_url: str, request: pytest.FixtureRequest
) -> None:
    hy = tree.office["HY"].id
    async with db.transaction() as session:
        first = await petitions.create(session, tree.staff_hy, complaint(hy))
        # The second registration starts before the first commits, and waits on its lock.
        second = asyncio.create_task(_create(db, tree.staff_hy, complaint(hy)))
        await asyncio.sleep(0.5)
        assert not second.done()
    assert first.case_code == "HY-2026-000001"
    assert await second == "HY-2026-000002"


async def test_the_workflow_is_recorded_in_the_history(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        row = await petitions.create(session, tree.staff_hy, complaint(tree.office["HY"].id))
    steps = [
        ("accepted", "thụ lý"),
        ("suspended", "chờ giám định"),
        ("accepted", ""),
        ("resolved", ""),
    ]
    for status, note in steps:
        async with db.transaction() as session:
            await petitions.update(session, tree.staff_hy, row.id, {}, status=status, note=note)
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="resolved cannot become accepted"):
            await petitions.update(session, tree.staff_hy, row.id, {}, status="accepted")
    async with db.transaction() as session:
        seen = await petitions.get(session, tree.admin, row.id)
    assert seen["status"] == "resolved"
    assert seen["allowed_next_status"] == []
    assert [(h["from_status"], h["to_status"], h["note"]) for h in seen["history"]] == [
        (None, "received", ""),
        ("received", "accepted", "thụ lý"),
        ("accepted", "suspended", "chờ giám định"),
        ("suspended", "accepted", ""),
        ("accepted", "resolved", ""),
    ]
    assert {h["user_name"] for h in seen["history"]} == {"Người dùng staff.hy"}


async def test_roles_and_scope_guard_petitions(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        bg = await petitions.create(session, tree.staff_bg, complaint(tree.office["BG"].id))
        hy = await petitions.create(session, tree.staff_hy, complaint(tree.office["HY.VANLAM"].id))
    async with db.transaction() as session:
        with pytest.raises(NotFound):  # another province's petition: as if it did not exist
            await petitions.get(session, tree.staff_hy, bg.id)
        with pytest.raises(NotFound):
            await petitions.get(session, tree.staff_hy, 987_654)
        with pytest.raises(Forbidden):
            await petitions.get(session, tree.operator_hy, hy.id)
        with pytest.raises(Forbidden):
            await petitions.update(session, tree.leader_hy, hy.id, {"subject_field": "Đất đai"})
        assert (await petitions.get(session, tree.leader_hy, hy.id))["id"] == hy.id
        assert (await petitions.get(session, tree.admin, bg.id))["id"] == bg.id


async def test_every_read_of_personal_data_is_audited(db: Database, tree: Tree) -> None:
    hy = tree.office["HY"].id
    async with db.transaction() as session:
        first = await petitions.create(session, tree.staff_hy, complaint(hy))
        second = await petitions.create(session, tree.staff_hy, complaint(hy))
    async with db.transaction() as session:
        await petitions.get(session, tree.leader_hy, first.id)
        items, total, _more = await petition_search.search(
            session, tree.staff_hy, PetitionQuery(), is_sqlite=db.is_sqlite
        )
        assert total == 2 and {i["id"] for i in items} == {first.id, second.id}
    async with db.transaction() as session:
        rows = (await session.execute(select(AuditRow).order_by(AuditRow.id))).scalars().all()
        entries, count = await petitions.audit_entries(session, tree.admin)
        with pytest.raises(Forbidden):
            await petitions.audit_entries(session, tree.staff_hy)
    users = {tree.leader_hy.user_id: "leader.hy", tree.staff_hy.user_id: "staff.hy"}
    assert sorted((users[r.user_id], r.petition_id, r.action) for r in rows) == sorted(
        [
            ("leader.hy", first.id, "read"),
            ("staff.hy", first.id, "list"),
            ("staff.hy", second.id, "list"),
        ]
    )
    assert all(r.at is not None for r in rows)
    assert count == 3 and entries[0]["username"] in {"staff.hy", "leader.hy"}
    async with db.transaction() as session:
        only, n = await petitions.audit_entries(session, tree.admin, petition_id=second.id)
    assert n == 1 and only[0]["case_code"] == second.case_code

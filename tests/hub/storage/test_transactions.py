"""One transaction per request: a failure part-way through a service leaves nothing written."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.hearings import HearingDraft, HearingKind
from hub.domain.petitions import PetitionDraft, PetitionType
from hub.services import hearings, petitions
from hub.storage.db import Database
from hub.storage.tables import (
    HearingPetitionRow,
    HearingRow,
    HearingSeriesRow,
    LogEventRow,
    PetitionHistoryRow,
    PetitionRow,
    SequenceRow,
)
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

TABLES = (
    HearingRow,
    HearingSeriesRow,
    PetitionRow,
    PetitionHistoryRow,
    HearingPetitionRow,
    LogEventRow,
    SequenceRow,
)


async def counts(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        return {
            t.__tablename__: int(
                (await session.execute(select(func.count()).select_from(t))).scalar_one()
            )
            for t in TABLES
        }


class Boom(Exception):
    pass


def petition(office_id: int) -> PetitionDraft:
    return PetitionDraft(
        type=PetitionType.FEEDBACK,
        office_id=office_id,
        petitioner_name="Lê Thị Mai",
        content="Phản ánh việc chậm cấp giấy chứng nhận.",
        received_on=date(2026, 9, 9),
    )


async def test_an_error_after_writes_rolls_back_the_petition_its_history_and_its_code(
    db: Database, tree: Tree
) -> None:
    before = await counts(db)
    with pytest.raises(Boom):
        async with db.transaction() as session:
            row = await petitions.create(session, tree.staff_hy, petition(tree.office["HY"].id))
            assert row.case_code == "HY-2026-000001"
            raise Boom
    assert await counts(db) == before
    async with db.transaction() as session:
        row = await petitions.create(session, tree.staff_hy, petition(tree.office["HY"].id))
    assert row.case_code == "HY-2026-000001"  # the number was not used up
    if db.is_sqlite:  # nor left behind in the search index
        async with db.transaction() as session:
            fts = (await session.execute(text("SELECT count(*) FROM petitions_fts"))).scalar_one()
        assert fts == 1


async def test_a_periodic_series_is_written_whole_or_not_at_all(db: Database, tree: Tree) -> None:
    start = datetime(2027, 3, 15, 8, 0, tzinfo=VN)
    draft = HearingDraft(
        title="Tiếp công dân định kỳ",
        kind=HearingKind.PERIODIC,
        host_office_id=tree.office["TW"].id,
        site_office_ids=(tree.office["HY"].id,),
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        recurrence="FREQ=MONTHLY;BYMONTHDAY=15;COUNT=5",
    )
    before = await counts(db)
    with pytest.raises(Boom):
        async with db.transaction() as session:
            assert len(await hearings.create(session, tree.admin, draft)) == 5
            raise Boom
    assert await counts(db) == before


async def test_a_refused_status_change_does_not_keep_the_field_edits_sent_with_it(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        row = await petitions.create(session, tree.staff_hy, petition(tree.office["HY"].id))
    before = await counts(db)
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await petitions.update(
                session, tree.staff_hy, row.id, {"subject_field": "Xây dựng"}, status="resolved"
            )
    assert await counts(db) == before
    async with db.transaction() as session:
        seen = await petitions.get(session, tree.staff_hy, row.id)
    assert seen["subject_field"] == "" and seen["status"] == "received"


async def test_a_refused_hearing_mark_leaves_no_link_and_no_log_event(
    db: Database, tree: Tree
) -> None:
    start = datetime(2027, 3, 16, 8, 0, tzinfo=VN)
    async with db.transaction() as session:
        (hearing,) = await hearings.create(
            session,
            tree.admin,
            HearingDraft(
                "Tiếp công dân đột xuất",
                HearingKind.ADHOC,
                tree.office["HY"].id,
                (),
                start,
                start + timedelta(hours=1),
            ),
        )
        target = await petitions.create(session, tree.staff_hy, petition(tree.office["HY"].id))
    before = await counts(db)
    with pytest.raises(ValidationFailed) as caught:
        async with db.transaction() as session:
            # heard_to without heard_from: refused after the link row was added.
            await hearings.link_petition(
                session, tree.staff_hy, hearing.id, target.id, heard_to="now"
            )
    assert "heard_to" in caught.value.fields
    assert await counts(db) == before

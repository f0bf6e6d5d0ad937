"""Hearings stored on both back ends: series expanded to dated rows, petitions heard, the log."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hub.domain.errors import Conflict, Forbidden, NotFound
from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus
from hub.domain.petitions import PetitionDraft, PetitionType
from hub.services import hearings, petitions, sessionlog
from hub.storage.db import Database
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

FIRST = datetime(2027, 1, 15, 8, 0, tzinfo=VN)


def periodic(tree: Tree, **changes: object) -> HearingDraft:
    fields: dict[str, object] = {
        "title": "Tiếp công dân định kỳ ngày 15 hằng tháng",
        "kind": HearingKind.PERIODIC,
        "host_office_id": tree.office["TW"].id,
        "site_office_ids": (tree.office["HY"].id, tree.office["BG"].id),
        "starts_at": FIRST,
        "ends_at": FIRST + timedelta(hours=3, minutes=30),
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=4",
    }
    fields.update(changes)
    return HearingDraft(**fields)  # type: ignore[arg-type]


async def test_a_periodic_hearing_becomes_dated_hearings_in_one_series(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        rows = await hearings.create(session, tree.admin, periodic(tree))
        ids = [r.id for r in rows]
    async with db.transaction() as session:
        views = [
            await hearings.view(
                session, await hearings.get(session, tree.staff_hy, i), with_petitions=True
            )
            for i in ids
        ]
    assert [v["starts_at"] for v in views] == [
        "2027-01-15T08:00:00+07:00",
        "2027-02-15T08:00:00+07:00",
        "2027-03-15T08:00:00+07:00",
        "2027-04-15T08:00:00+07:00",
    ]
    assert {v["ends_at"][11:] for v in views} == {"11:30:00+07:00"}
    assert len({v["series_id"] for v in views}) == 1 and views[0]["series_id"] is not None
    assert {v["recurrence"] for v in views} == {"FREQ=MONTHLY;BYMONTHDAY=15;COUNT=4"}
    assert {v["status"] for v in views} == {"scheduled"}
    assert {tuple(v["site_office_ids"]) for v in views} == {
        (tree.office["HY"].id, tree.office["BG"].id)
    }
    async with db.transaction() as session:
        for i in ids:
            kinds = [e["kind"] for e in await sessionlog.events(session, i)]
            assert kinds == ["scheduled"]


async def test_hearings_are_seen_by_host_and_site_scopes_and_run_by_the_host_side(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        (central,) = await hearings.create(session, tree.admin, periodic(tree, recurrence=None))
        (bac_giang,) = await hearings.create(
            session,
            tree.staff_bg,
            periodic(
                tree,
                recurrence=None,
                kind=HearingKind.ADHOC,
                host_office_id=tree.office["BG"].id,
                site_office_ids=(),
            ),
        )
    async with db.transaction() as session:
        await hearings.get(session, tree.staff_hy, central.id)  # invited site
        with pytest.raises(NotFound):
            await hearings.get(session, tree.staff_hy, bac_giang.id)
        listed, total = await hearings.list_(session, tree.staff_hy)
        assert [r.id for r in listed] == [central.id] and total == 1
        with pytest.raises(Forbidden, match="host office"):
            await hearings.set_status(session, tree.staff_hy, central.id, HearingStatus.LIVE)
    async with db.transaction() as session:
        live = await hearings.set_status(session, tree.admin, central.id, HearingStatus.LIVE)
        assert live.started_at is not None
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="cannot become cancelled"):
            await hearings.set_status(session, tree.admin, central.id, HearingStatus.CANCELLED)


async def test_petitions_heard_are_linked_both_ways_and_the_log_keeps_every_event(
    db: Database, tree: Tree
) -> None:
    async with db.transaction() as session:
        (hearing,) = await hearings.create(session, tree.admin, periodic(tree, recurrence=None))
        petition = await petitions.create(
            session,
            tree.staff_hy,
            PetitionDraft(
                type=PetitionType.RECOMMENDATION,
                office_id=tree.office["HY.VANLAM"].id,
                petitioner_name="Trần Thị Bình",
                content="Kiến nghị về ô nhiễm môi trường từ cụm công nghiệp.",
                received_on=date(2027, 1, 3),
                crowd=True,
                people_count=12,
                representatives=("Trần Thị Bình", "Lê Văn Cường"),
            ),
        )
    heard_from = datetime(2027, 1, 15, 8, 40, tzinfo=VN)
    heard_to = datetime(2027, 1, 15, 9, 5, tzinfo=VN)
    async with db.transaction() as session:
        await hearings.set_status(session, tree.admin, hearing.id, HearingStatus.LIVE)
    async with db.transaction() as session:
        await hearings.link_petition(session, tree.leader_hy, hearing.id, petition.id)
    async with db.transaction() as session:
        await hearings.link_petition(
            session, tree.leader_hy, hearing.id, petition.id, heard_from=heard_from
        )
    async with db.transaction() as session:
        await hearings.link_petition(
            session, tree.leader_hy, hearing.id, petition.id, heard_to=heard_to
        )
        await hearings.add_note(session, tree.staff_hy, hearing.id, "Công dân trình bày xong.")
    async with db.transaction() as session:
        await hearings.set_status(session, tree.admin, hearing.id, HearingStatus.ENDED)

    async with db.transaction() as session:
        seen = await petitions.get(session, tree.staff_hy, petition.id)
        shown = await hearings.view(session, hearing, with_petitions=True)
        log = await hearings.log(session, tree.staff_hy, hearing.id)
    assert [
        {k: h[k] for k in ("hearing_id", "heard_from", "heard_to")} for h in seen["hearings"]
    ] == [
        {
            "hearing_id": hearing.id,
            "heard_from": "2027-01-15T08:40:00+07:00",
            "heard_to": "2027-01-15T09:05:00+07:00",
        }
    ]
    assert [p["petition_id"] for p in shown["petitions"]] == [petition.id]
    assert shown["petitions"][0]["case_code"] == petition.case_code
    # The hearing view is shared by every site: no personal data in it.
    assert "petitioner_name" not in shown["petitions"][0]

    assert [e["kind"] for e in log] == [
        "scheduled",
        "started",
        "petition_linked",
        "petition_heard",
        "petition_heard",
        "note",
        "ended",
    ]
    assert [e["id"] for e in log] == sorted(e["id"] for e in log)
    times = [datetime.fromisoformat(e["at"]) for e in log]
    assert times == sorted(times) and {t.utcoffset() for t in times} == {timedelta(hours=7)}
    assert {e["user_name"] for e in log} == {
        "Người dùng admin",
        "Người dùng leader.hy",
        "Người dùng staff.hy",
    }
    heard = [e for e in log if e["kind"] == "petition_heard"]
    assert heard[-1]["petition_id"] == petition.id
    assert heard[-1]["detail"]["heard_to"] == "2027-01-15T09:05:00+07:00"
    assert log[5]["detail"] == {"text": "Công dân trình bày xong."}

    # Unlinking removes the link but not the history of it.
    async with db.transaction() as session:
        await hearings.unlink_petition(session, tree.staff_hy, hearing.id, petition.id)
    async with db.transaction() as session:
        after = await hearings.log(session, tree.staff_hy, hearing.id)
        seen = await petitions.get(session, tree.staff_hy, petition.id)
    assert after[: len(log)] == log
    assert [e["kind"] for e in after[len(log) :]] == ["petition_unlinked"]
    assert seen["hearings"] == []

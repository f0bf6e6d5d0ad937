"""The session log's chain in the database, on SQLite and PostgreSQL: appends made by the
services verify; a row changed, deleted or inserted with SQL is caught at the event where it
shows; concurrent appends to one hearing never fork the chain."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from sqlalchemy import text

from hub.domain.hearings import HearingDraft, HearingKind
from hub.domain.sessionlog import LogKind
from hub.services import hearings, sessionlog
from hub.storage.db import Database
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

START = datetime(2027, 3, 10, 8, 0, tzinfo=VN)


async def hearing_with_notes(db: Database, tree: Tree, notes: int = 4) -> int:
    """A hearing (its 'scheduled' event) and `notes` notes, each in its own transaction."""
    draft = HearingDraft(
        title="Phiên tiếp công dân kiểm tra nhật ký",
        kind=HearingKind.ADHOC,
        host_office_id=tree.office["HY"].id,
        site_office_ids=(tree.office["HY.VANLAM"].id,),
        starts_at=START,
        ends_at=START + timedelta(hours=2),
    )
    async with db.transaction() as session:
        (row,) = await hearings.create(session, tree.staff_hy, draft)
    for i in range(notes):
        async with db.transaction() as session:
            await hearings.add_note(
                session, tree.staff_hy, row.id, f"Ghi chú {i}: công dân trình bày"
            )
    return row.id


async def verdict(db: Database, hearing_id: int) -> dict[str, object]:
    async with db.transaction() as session:
        return await sessionlog.verify(session, hearing_id)


async def event_ids(db: Database, hearing_id: int) -> list[int]:
    async with db.transaction() as session:
        return [e["id"] for e in await sessionlog.events(session, hearing_id)]


async def sql(db: Database, statement: str, **params: object) -> None:
    async with db.transaction() as session:
        await session.execute(text(statement), params)


async def test_an_untouched_log_verifies(db: Database, tree: Tree) -> None:
    hid = await hearing_with_notes(db, tree)
    result = await verdict(db, hid)
    assert result == {"hearing_id": hid, "events": 5, "ok": True, "break": None}


async def test_a_row_updated_with_sql_is_caught_at_that_event(db: Database, tree: Tree) -> None:
    hid = await hearing_with_notes(db, tree)
    ids = await event_ids(db, hid)
    changed = json.dumps({"text": "Ghi chú đã bị sửa"}, ensure_ascii=False)
    await sql(db, "UPDATE log_events SET detail = :d WHERE id = :i", d=changed, i=ids[2])
    result = await verdict(db, hid)
    assert result["ok"] is False
    broken = result["break"]
    assert isinstance(broken, dict)
    assert broken["event_id"] == ids[2] and broken["problem"] == "event hash"
    assert len(str(broken["expected"])) == 64 and broken["expected"] != broken["found"]


async def test_a_time_moved_with_sql_is_caught(db: Database, tree: Tree) -> None:
    hid = await hearing_with_notes(db, tree, notes=2)
    ids = await event_ids(db, hid)
    async with db.transaction() as session:
        # Moving it by a whole second whatever the back end stores the time as.
        at = (
            await session.execute(text("SELECT at FROM log_events WHERE id = :i"), {"i": ids[1]})
        ).scalar_one()
    if isinstance(at, datetime):
        moved: object = at + timedelta(seconds=1)
    else:  # SQLite hands back the stored text, 'YYYY-MM-DD HH:MM:SS.ffffff'
        moved = f"{at[:17]}{(int(at[17:19]) + 1) % 60:02d}{at[19:]}"
    await sql(db, "UPDATE log_events SET at = :a WHERE id = :i", a=moved, i=ids[1])
    broken = (await verdict(db, hid))["break"]
    assert isinstance(broken, dict) and broken["event_id"] == ids[1]


async def test_a_deleted_row_is_caught_in_the_middle_and_at_the_end(
    db: Database, tree: Tree
) -> None:
    hid = await hearing_with_notes(db, tree)
    ids = await event_ids(db, hid)
    await sql(db, "DELETE FROM log_events WHERE id = :i", i=ids[1])
    broken = (await verdict(db, hid))["break"]
    assert isinstance(broken, dict)
    assert broken["event_id"] == ids[2] and broken["problem"] == "sequence"
    assert (broken["expected"], broken["found"]) == ("seq 2", "seq 3")

    other = await hearing_with_notes(db, tree)
    last = (await event_ids(db, other))[-1]
    await sql(db, "DELETE FROM log_events WHERE id = :i", i=last)
    broken = (await verdict(db, other))["break"]
    assert isinstance(broken, dict)
    assert broken["event_id"] is None and broken["problem"] == "chain head"
    assert str(broken["expected"]).startswith("5 events") and str(broken["found"]).startswith("4 ")


async def test_an_inserted_row_is_caught(db: Database, tree: Tree) -> None:
    hid = await hearing_with_notes(db, tree, notes=2)
    ids = await event_ids(db, hid)
    async with db.transaction() as session:
        prev = (
            await session.execute(text("SELECT hash FROM log_events WHERE id = :i"), {"i": ids[-1]})
        ).scalar_one()
    # A forged note at the end, chained from the real last event with a made-up hash.
    await sql(
        db,
        "INSERT INTO log_events (hearing_id, at, kind, detail, seq, prev_hash, hash) "
        "VALUES (:h, :at, 'note', :d, 4, :p, :x)",
        h=hid,
        at=datetime(2027, 3, 10, 2, 0, tzinfo=VN),
        d=json.dumps({"text": "thêm vào"}),
        p=prev,
        x="0" * 64,
    )
    forged = (await event_ids(db, hid))[-1]
    broken = (await verdict(db, hid))["break"]
    assert isinstance(broken, dict) and broken["event_id"] == forged
    assert broken["problem"] == "event hash"


async def test_concurrent_appends_to_one_hearing_never_fork_the_chain(
    db: Database, tree: Tree
) -> None:
    hid = await hearing_with_notes(db, tree, notes=0)

    async def note(i: int) -> None:
        async with db.transaction() as session:
            await sessionlog.append(
                session, hid, LogKind.NOTE, user_id=tree.staff_hy.user_id, detail={"i": i}
            )
            # Hold the transaction open a moment so the appends overlap.
            await asyncio.sleep(0.01)

    await asyncio.gather(*(note(i) for i in range(20)))
    result = await verdict(db, hid)
    assert result == {"hearing_id": hid, "events": 21, "ok": True, "break": None}
    async with db.transaction() as session:
        seqs = (
            (
                await session.execute(
                    text("SELECT seq FROM log_events WHERE hearing_id = :h ORDER BY id"), {"h": hid}
                )
            )
            .scalars()
            .all()
        )
    assert list(seqs) == list(range(1, 22))


async def test_verify_many_reports_every_hearing_and_a_missing_one(
    db: Database, tree: Tree
) -> None:
    first = await hearing_with_notes(db, tree, notes=1)
    second = await hearing_with_notes(db, tree, notes=1)
    async with db.transaction() as session:
        every = await sessionlog.verify_many(session)
        asked = await sessionlog.verify_many(session, [second, 999999])
    assert [r["hearing_id"] for r in every] == [first, second]
    assert all(r["ok"] for r in every)
    assert asked[0]["ok"] and asked[1] == {
        "hearing_id": 999999,
        "events": 0,
        "ok": False,
        "break": None,
        "missing": True,
    }

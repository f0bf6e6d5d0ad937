"""`tcd-hub log verify` as an operator runs it, a real subprocess on SQLite and PostgreSQL: the
demo hearings' logs verify; after a row is changed in the database the command names the
event, says what was expected, and exits 1; --json carries the same."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select, text

from hub.storage.db import Database
from hub.storage.tables import LogEventRow
from tests.hub.test_cli import run


def verify(data_dir: Path, url: str, *args: str) -> tuple[int, str, str]:
    done = run(data_dir, "log", "verify", *args, "--database-url", url)
    return done.returncode, done.stdout, done.stderr


async def _first_event(url: str) -> tuple[int, int]:
    """(event id, hearing id) of the demo log's third event."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            row = (
                (await session.execute(select(LogEventRow).order_by(LogEventRow.id).offset(2)))
                .scalars()
                .first()
            )
            assert row is not None, "the demo data has a session log"
            return row.id, row.hearing_id
    finally:
        await db.close()


async def _tamper(url: str, event_id: int) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE log_events SET kind = 'note' WHERE id = :i"), {"i": event_id}
            )
    finally:
        await db.close()


async def _delete_and_insert(url: str, spared: int) -> tuple[int, int, int]:
    """Delete the last event of one other hearing's log and slip a copy of an event into a
    third's: (the first hearing, the second, the inserted row's id)."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            hearings = sorted(
                set((await session.execute(select(LogEventRow.hearing_id))).scalars()) - {spared}
            )
            deleted, inserted = hearings[0], hearings[1]
            last = (
                await session.execute(
                    text("SELECT max(id) FROM log_events WHERE hearing_id = :h"), {"h": deleted}
                )
            ).scalar_one()
            await session.execute(text("DELETE FROM log_events WHERE id = :i"), {"i": last})
            await session.execute(
                text(
                    "INSERT INTO log_events (hearing_id, at, kind, user_id, office_id, "
                    "petition_id, detail, seq, prev_hash, hash) SELECT hearing_id, at, 'note', "
                    "user_id, office_id, petition_id, detail, seq + 1, hash, hash "
                    "FROM log_events WHERE hearing_id = :h ORDER BY id DESC LIMIT 1"
                ),
                {"h": inserted},
            )
            forged = (
                await session.execute(
                    text("SELECT max(id) FROM log_events WHERE hearing_id = :h"), {"h": inserted}
                )
            ).scalar_one()
            return deleted, inserted, int(forged)
    finally:
        await db.close()


def test_log_verify_passes_an_untouched_log_and_names_a_tampered_event(
    db_url: str, tmp_path: Path
) -> None:
    migrated = run(tmp_path, "migrate", "--database-url", db_url)
    assert migrated.returncode == 0, migrated.stderr
    seeded = run(tmp_path, "seed-demo", "--database-url", db_url)
    assert seeded.returncode == 0, seeded.stderr

    code, out, err = verify(tmp_path, db_url, "--all")
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines and all(line.endswith("events)") and ": ok (" in line for line in lines)

    event_id, hearing_id = asyncio.run(_first_event(db_url))
    asyncio.run(_tamper(db_url, event_id))

    code, out, _ = verify(tmp_path, db_url, str(hearing_id))
    assert code == 1
    assert out.startswith(f"BROKEN hearing {hearing_id}: event {event_id} (seq ")
    assert "event hash: expected " in out

    code, out, _ = verify(tmp_path, db_url, "--all", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    broken = [h for h in report["hearings"] if not h["ok"]]
    assert [h["hearing_id"] for h in broken] == [hearing_id]
    assert broken[0]["break"]["event_id"] == event_id
    assert broken[0]["break"]["problem"] == "event hash"
    assert len(broken[0]["break"]["expected"]) == 64
    assert all(h["ok"] for h in report["hearings"] if h["hearing_id"] != hearing_id)

    deleted, inserted, forged = asyncio.run(_delete_and_insert(db_url, hearing_id))
    code, out, _ = verify(tmp_path, db_url, "--all", "--json")
    assert code == 1
    breaks = {h["hearing_id"]: h["break"] for h in json.loads(out)["hearings"] if not h["ok"]}
    assert set(breaks) == {hearing_id, deleted, inserted}
    assert breaks[deleted]["problem"] == "chain head" and breaks[deleted]["event_id"] is None
    assert (breaks[inserted]["event_id"], breaks[inserted]["problem"]) == (forged, "event hash")
    code, out, _ = verify(tmp_path, db_url, str(deleted))
    assert code == 1 and out.startswith(f"BROKEN hearing {deleted}: end of log: chain head")


def test_log_verify_refuses_an_unknown_hearing_and_a_missing_argument(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite3'}"
    assert run(tmp_path, "migrate", "--database-url", url).returncode == 0
    code, out, _ = verify(tmp_path, url, "4242")
    assert code == 2 and "hearing 4242: no such hearing" in out
    code, _, err = verify(tmp_path, url)
    assert code == 2 and "give a hearing id or --all" in err

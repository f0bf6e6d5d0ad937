"""Recordings on both back ends: read only in scope (404 outside, 403 for a role that reads no
personal data), every playback audited, expired files deleted by the sweep (rows kept, marked),
and a recording whose room closed on its own finished from the manifest its media side left.
Starting and stopping through a live room is in tests/browser/test_recording_browser.py."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.clock import now
from hub.domain.errors import Forbidden, NotFound
from hub.domain.hearings import HearingDraft, HearingKind
from hub.services import hearings, recordings, sessionlog
from hub.storage.db import Database
from hub.storage.tables import RecordingAccessRow, RecordingRow
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

START = datetime(2027, 3, 1, 8, 0, tzinfo=VN)


async def a_hearing(db: Database, tree: Tree) -> int:
    """A hearing hosted by Hưng Yên with one of its districts: Bắc Giang is out of its scope."""
    draft = HearingDraft(
        title="Tiếp công dân tỉnh Hưng Yên",
        kind=HearingKind.ADHOC,
        host_office_id=tree.office["HY"].id,
        site_office_ids=(tree.office["HY.VANLAM"].id,),
        starts_at=START,
        ends_at=START + timedelta(hours=2),
    )
    async with db.transaction() as session:
        (row,) = await hearings.create(session, tree.admin, draft)
        return row.id


def write_files(root: Path, folder: str, recording_id: int, hearing_id: int) -> dict[str, object]:
    """A finished recording's folder as the media side leaves it (two files, a manifest)."""
    where = root / folder
    where.mkdir(parents=True)
    (where / "recording.mkv").write_bytes(b"matroska " * 100)
    (where / "site-1-0.webm").write_bytes(b"webm " * 100)
    manifest: dict[str, object] = {
        "recording_id": recording_id,
        "hearing_id": hearing_id,
        "started_at": 0.0,
        "duration_s": 12.5,
        "file": "recording.mkv",
        "sha256": "ab" * 32,
        "bytes": 900,
        "sites": [
            {
                "office_id": 1,
                "office_name": "Ban Tiếp công dân tỉnh Hưng Yên",
                "part": 0,
                "file": "site-1-0.webm",
                "offset_s": 0.0,
                "duration_s": 12.4,
                "codecs": {"video": "vp8", "audio": "opus"},
                "sha256": "cd" * 32,
                "bytes": 500,
            }
        ],
        "chapters": [{"title": "HY-1", "petition_id": None, "start_s": 2.0, "end_s": 5.0}],
    }
    (where / "manifest.json").write_text(json.dumps(manifest))
    return manifest


async def a_recording(
    db: Database, hearing_id: int, root: Path, *, stopped_days_ago: float | None
) -> int:
    """A recording row with its files: finished that many days ago, or still recording."""
    async with db.transaction() as session:
        row = RecordingRow(
            hearing_id=hearing_id,
            status=recordings.RECORDING,
            folder="",
            started_at=now() - timedelta(days=stopped_days_ago or 0, minutes=30),
            manifest={},
        )
        session.add(row)
        await session.flush()
        row.folder = f"hearing-{hearing_id}/recording-{row.id}"
        manifest = write_files(root, row.folder, row.id, hearing_id)
        if stopped_days_ago is not None:
            await recordings.finish(session, row, manifest, user_id=None, office_id=None)
            row.stopped_at = now() - timedelta(days=stopped_days_ago)
        return row.id


async def test_read_only_in_scope_and_every_playback_audited(
    db: Database, tree: Tree, tmp_path: Path
) -> None:
    hearing_id = await a_hearing(db, tree)
    recording_id = await a_recording(db, hearing_id, tmp_path, stopped_days_ago=0)
    async with db.transaction() as session:
        row = await recordings.visible(session, tree.staff_hy, recording_id)
        view = await recordings.view(session, row)
        assert view["status"] == "finished" and view["sha256"] == "ab" * 32
        assert view["sites"][0]["url"] == f"/recordings/{recording_id}/files/site-1-0.webm"
        assert view["chapters"][0]["title"] == "HY-1"
        assert recordings.file_of(row, tmp_path, "site-1-0.webm").read_bytes().startswith(b"webm")
        # Only the manifest's own files are served.
        with pytest.raises(NotFound):
            recordings.file_of(row, tmp_path, "manifest.json")
        await recordings.audit(session, tree.staff_hy, row, "play site-1-0.webm")
        listed = await recordings.list_for_hearing(session, tree.leader_hy, hearing_id)
        assert [r["id"] for r in listed] == [recording_id]
    # Bắc Giang is outside the hearing's scope: the recording does not exist for it.
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await recordings.visible(session, tree.staff_bg, recording_id)
        with pytest.raises(NotFound):
            await recordings.list_for_hearing(session, tree.staff_bg, hearing_id)
        # An operator (in scope) reads no citizen's face or voice.
        with pytest.raises(Forbidden):
            await recordings.visible(session, tree.operator_hy, recording_id)
    async with db.transaction() as session:
        audited = (
            (
                await session.execute(
                    select(RecordingAccessRow).where(
                        RecordingAccessRow.recording_id == recording_id
                    )
                )
            )
            .scalars()
            .all()
        )
        assert [(a.user_id, a.office_id, a.action) for a in audited] == [
            (tree.staff_hy.user_id, tree.office["HY"].id, "play site-1-0.webm")
        ]
        assert abs((audited[0].at - now()).total_seconds()) < 60


async def test_sweep_deletes_expired_files_and_keeps_the_rows(
    db: Database, tree: Tree, tmp_path: Path
) -> None:
    hearing_id = await a_hearing(db, tree)
    old = await a_recording(db, hearing_id, tmp_path, stopped_days_ago=10)
    recent = await a_recording(db, hearing_id, tmp_path, stopped_days_ago=2)
    counts = await recordings.sweep(db, tmp_path, retention_days=7)
    assert counts == {"finished": 0, "expired": 1}
    async with db.transaction() as session:
        old_row = await session.get(RecordingRow, old)
        recent_row = await session.get(RecordingRow, recent)
        assert old_row is not None and recent_row is not None
        assert old_row.status == "expired" and old_row.deleted_at is not None
        assert not (tmp_path / old_row.folder).exists()
        assert recent_row.status == "finished"
        assert (tmp_path / recent_row.folder / "recording.mkv").is_file()
        # Its files are gone; so is the recording, for anyone who asks for them.
        with pytest.raises(NotFound):
            recordings.file_of(old_row, tmp_path, "recording.mkv")
    # A shorter period set later applies to what is kept already.
    assert (await recordings.sweep(db, tmp_path, retention_days=1))["expired"] == 1


async def test_the_apps_sweeper_runs_by_itself(db: Database, tree: Tree, tmp_path: Path) -> None:
    hearing_id = await a_hearing(db, tree)
    old = await a_recording(db, hearing_id, tmp_path, stopped_days_ago=40)
    sweeper = recordings.RecordingSweeper(db, tmp_path, retention_days=30, every=0.05)
    sweeper.start()
    try:
        for _ in range(100):
            async with db.transaction() as session:
                row = await session.get(RecordingRow, old)
                assert row is not None
                if row.status == "expired":
                    break
            await asyncio.sleep(0.05)
    finally:
        await sweeper.close()
    assert row.status == "expired"
    assert not (tmp_path / row.folder).exists()


async def test_a_recording_whose_room_closed_is_finished_from_its_manifest(
    db: Database, tree: Tree, tmp_path: Path
) -> None:
    hearing_id = await a_hearing(db, tree)
    recording_id = await a_recording(db, hearing_id, tmp_path, stopped_days_ago=None)
    assert (await recordings.sweep(db, tmp_path, retention_days=30))["finished"] == 1
    async with db.transaction() as session:
        row = await session.get(RecordingRow, recording_id)
        assert row is not None and row.status == "finished" and row.sha256 == "ab" * 32
        log = await sessionlog.events(session, hearing_id)
    stopped = [e for e in log if e["kind"] == "recording_stopped"]
    assert len(stopped) == 1 and stopped[0]["detail"]["sha256"] == "ab" * 32
    assert stopped[0]["detail"]["recording_id"] == recording_id

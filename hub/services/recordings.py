"""Recordings of live hearings: started and stopped by the host side (leaders and staff), read
only in scope, every playback audited, deleted once the retention period has passed.

The media side writes the files (rooms/recorder.py, in the process or media worker holding the
room) under the recording directory, one folder per recording; this module keeps the rows, the
session-log entries and the audit, and owns the sweep that deletes expired files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain.errors import Conflict, NotFound
from hub.domain.hearings import HearingStatus
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action
from hub.services import hearings, sessionlog
from hub.services.access import Actor
from hub.storage.db import Database
from hub.storage.tables import (
    HearingPetitionRow,
    HearingRow,
    PetitionRow,
    RecordingAccessRow,
    RecordingRow,
    UserRow,
)

logger = logging.getLogger(__name__)

RECORDING = "recording"
FINISHED = "finished"
FAILED = "failed"
EXPIRED = "expired"
MANIFEST_FILE = "manifest.json"  # rooms.recorder.MANIFEST_FILE (the records side imports no aiortc)
# The sweep: expired recordings deleted, and recordings whose room closed on its own (the
# hearing ended while recording) finished from the manifest their media side left.
SWEEP_EVERY = 60.0


class RecordingControl(Protocol):
    """Port to the media side (signaling.server.SignalingServer implements it)."""

    async def start_recording(
        self, hearing_id: int, recording_id: int, directory: str, by: dict[str, Any]
    ) -> dict[str, Any]:
        """Start recording the hearing's room: {started_at} (Unix seconds of its zero);
        Conflict when the hearing has no room or is recorded already."""

    async def stop_recording(
        self, hearing_id: int, chapters: list[dict[str, Any]], by: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Stop it once its files are finished: the manifest (None: no room records it)."""

    def recording_of(self, hearing_id: int) -> dict[str, Any] | None:
        """The recording the hearing's room announced as running ({recording_id, ...})."""


def _by(actor: Actor) -> dict[str, Any]:
    return {"name": actor.display_name, "user_id": actor.user_id}


async def _active(session: AsyncSession, hearing_id: int) -> RecordingRow | None:
    return (
        await session.execute(
            select(RecordingRow).where(
                RecordingRow.hearing_id == hearing_id, RecordingRow.status == RECORDING
            )
        )
    ).scalar_one_or_none()


async def start(
    db: Database, control: RecordingControl, actor: Actor, hearing_id: int, root: Path
) -> dict[str, Any]:
    """Start recording a live hearing (the host side, RUN_HEARINGS); logged."""
    actor.require(Action.RUN_HEARINGS)
    async with db.transaction() as session:
        hearing = await hearings.hosted(session, actor, hearing_id)
        if hearing.status != HearingStatus.LIVE:
            raise Conflict(f"hearing {hearing_id} is not live: only a live hearing is recorded")
        active = await _active(session, hearing_id)
        if active is not None:
            running = control.recording_of(hearing_id)
            if running is not None and running.get("recording_id") == active.id:
                raise Conflict(f"hearing {hearing_id} is already being recorded")
            # Its room is gone without a word (its media worker died, the hub restarted): what
            # its media side finished, if anything, closes the row; then a new one may start.
            manifest = await asyncio.to_thread(read_manifest, root / active.folder)
            await finish(session, active, manifest, user_id=None, office_id=None)
        row = RecordingRow(
            hearing_id=hearing_id,
            status=RECORDING,
            folder="",
            started_at=now(),
            started_by=actor.user_id,
            manifest={},
        )
        session.add(row)
        await session.flush()
        row.folder = f"hearing-{hearing_id}/recording-{row.id}"
        # Inside the transaction: a room that refuses (nobody connected, recorded already by
        # another request) leaves no row behind.
        started = await control.start_recording(
            hearing_id, row.id, str(root / row.folder), _by(actor)
        )
        row.started_at = datetime.fromtimestamp(float(started["started_at"]), UTC)
        await sessionlog.append(
            session,
            hearing_id,
            LogKind.RECORDING_STARTED,
            user_id=actor.user_id,
            office_id=actor.office_id,
            detail={"recording_id": row.id, "at": float(started["started_at"])},
        )
        return await view(session, row)


async def _chapters(
    session: AsyncSession, row: RecordingRow, until: datetime
) -> list[dict[str, Any]]:
    """The petitions heard while it ran, as chapters (seconds from its start)."""
    links = (
        await session.execute(
            select(HearingPetitionRow, PetitionRow.case_code)
            .join(PetitionRow, PetitionRow.id == HearingPetitionRow.petition_id)
            .where(
                HearingPetitionRow.hearing_id == row.hearing_id,
                HearingPetitionRow.heard_from.is_not(None),
                HearingPetitionRow.heard_from <= until,
                or_(
                    HearingPetitionRow.heard_to.is_(None),
                    HearingPetitionRow.heard_to >= row.started_at,
                ),
            )
            .order_by(HearingPetitionRow.heard_from)
        )
    ).all()
    out = []
    for link, case_code in links:
        assert link.heard_from is not None
        out.append(
            {
                "title": case_code,
                "petition_id": link.petition_id,
                "start": max(0.0, (link.heard_from - row.started_at).total_seconds()),
                "end": (link.heard_to - row.started_at).total_seconds() if link.heard_to else None,
            }
        )
    return out


async def stop(
    db: Database, control: RecordingControl, actor: Actor, hearing_id: int, root: Path
) -> dict[str, Any]:
    """Stop a hearing's recording; waits until its files are finished; the SHA-256 of the
    file goes into the session log."""
    actor.require(Action.RUN_HEARINGS)
    async with db.transaction() as session:
        await hearings.hosted(session, actor, hearing_id)
        row = await _active(session, hearing_id)
        if row is None:
            raise Conflict(f"hearing {hearing_id} is not being recorded")
        recording_id, folder = row.id, row.folder
        chapters = await _chapters(session, row, now())
    # No transaction held while the media side finishes the files (a remux of hours).
    manifest = await control.stop_recording(hearing_id, chapters, _by(actor))
    if manifest is None:
        # Its room closed first (the files were finished then) or its worker died.
        manifest = read_manifest(root / folder)
    async with db.transaction() as session:
        row = await session.get(RecordingRow, recording_id)
        assert row is not None
        if row.status == RECORDING:
            await finish(session, row, manifest, user_id=actor.user_id, office_id=actor.office_id)
        return await view(session, row)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest the media side wrote when it finished a recording's files, if any."""
    try:
        data = json.loads((folder / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


async def finish(
    session: AsyncSession,
    row: RecordingRow,
    manifest: dict[str, Any] | None,
    *,
    user_id: int | None,
    office_id: int | None,
) -> None:
    """Close a recording's row from its manifest (failed without one) and log its hash."""
    row.stopped_at = now()
    row.stopped_by = user_id
    detail: dict[str, Any] = {"recording_id": row.id}
    if manifest is None or not manifest.get("sha256"):
        row.status = FAILED
        row.manifest = manifest or {}
        detail["error"] = "no file was written" if manifest else "the media side kept no manifest"
    else:
        row.status = FINISHED
        row.manifest = manifest
        row.sha256 = str(manifest["sha256"])
        row.size_bytes = int(manifest.get("bytes", 0))
        row.duration_s = float(manifest.get("duration_s", 0.0))
        detail.update(
            sha256=row.sha256,
            bytes=row.size_bytes,
            duration_s=row.duration_s,
            file=manifest.get("file"),
            sites=len(manifest.get("sites", [])),
        )
    await sessionlog.append(
        session,
        row.hearing_id,
        LogKind.RECORDING_STOPPED,
        user_id=user_id,
        office_id=office_id,
        detail=detail,
    )


async def view(session: AsyncSession, row: RecordingRow) -> dict[str, Any]:
    """A recording as the API shows it: its sites' playback files and its chapters."""
    names = {
        u.id: u.display_name
        for u in (
            await session.execute(
                select(UserRow).where(UserRow.id.in_([row.started_by or 0, row.stopped_by or 0]))
            )
        ).scalars()
    }
    manifest = row.manifest or {}
    available = row.status == FINISHED
    base = f"/recordings/{row.id}/files/"
    return {
        "id": row.id,
        "hearing_id": row.hearing_id,
        "status": row.status,
        "started_at": local_iso(row.started_at),
        "started_by": names.get(row.started_by or 0),
        "stopped_at": local_iso(row.stopped_at),
        "stopped_by": names.get(row.stopped_by or 0),
        "duration_s": row.duration_s,
        "sha256": row.sha256,
        "size_bytes": row.size_bytes,
        "file_url": base + str(manifest["file"]) if available and manifest.get("file") else None,
        "sites": [
            {
                "office_id": s["office_id"],
                "office_name": s["office_name"],
                "offset_s": s["offset_s"],
                "duration_s": s["duration_s"],
                "codecs": s.get("codecs", {}),
                "sha256": s.get("sha256"),
                "url": base + s["file"] if available else None,
            }
            for s in manifest.get("sites", [])
        ],
        "chapters": [
            {
                "title": c["title"],
                "petition_id": c.get("petition_id"),
                "start_s": c["start_s"],
                "end_s": c["end_s"],
            }
            for c in manifest.get("chapters", [])
        ],
        "deleted_at": local_iso(row.deleted_at),
    }


async def visible(session: AsyncSession, actor: Actor, recording_id: int) -> RecordingRow:
    """A recording the actor may play: its hearing in the actor's scope (NotFound otherwise)
    and a role that reads citizens' personal data (their faces and voices are in it)."""
    actor.require(Action.READ_PETITIONS)
    row = (
        await session.execute(
            select(RecordingRow)
            .join(HearingRow, HearingRow.id == RecordingRow.hearing_id)
            .where(RecordingRow.id == recording_id, hearings.visible_clause(actor))
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"recording {recording_id} not found")
    return row


async def list_for_hearing(
    session: AsyncSession, actor: Actor, hearing_id: int
) -> list[dict[str, Any]]:
    """A hearing's recordings, oldest first (the hearing in scope)."""
    actor.require(Action.READ_PETITIONS)
    await hearings.get(session, actor, hearing_id)
    rows = (
        await session.execute(
            select(RecordingRow)
            .where(RecordingRow.hearing_id == hearing_id)
            .order_by(RecordingRow.id)
        )
    ).scalars()
    return [await view(session, row) for row in rows]


async def audit(session: AsyncSession, actor: Actor, row: RecordingRow, action: str) -> None:
    """Keep who played or downloaded what of a recording, and when."""
    session.add(
        RecordingAccessRow(
            at=now(),
            user_id=actor.user_id,
            office_id=actor.office_id,
            recording_id=row.id,
            action=action[:80],
        )
    )
    await session.flush()


def file_of(row: RecordingRow, root: Path, name: str) -> Path:
    """One of a finished recording's files, by the name its manifest gives (nothing else)."""
    manifest = row.manifest or {}
    names = {manifest.get("file"), *(s.get("file") for s in manifest.get("sites", []))}
    if row.status != FINISHED or not name or name not in names:
        raise NotFound(f"recording {row.id} has no file {name!r}")
    path = root / row.folder / name
    if not path.is_file():
        raise NotFound(f"recording {row.id}: {name} is gone")
    return path


async def sweep(
    db: Database, root: Path, retention_days: int, at: datetime | None = None
) -> dict[str, int]:
    """Finish recordings whose room closed on its own, then delete the files of those stopped
    more than `retention_days` ago (their rows are kept, marked expired). Returns counts.
    One short read finds them; the files are read and deleted outside any transaction, and
    each row is changed in a transaction of its own."""
    moment = at or now()
    limit = moment - timedelta(days=retention_days)
    async with db.transaction() as session:
        pending = (
            await session.execute(
                select(RecordingRow.id, RecordingRow.folder).where(RecordingRow.status == RECORDING)
            )
        ).all()
        old = (
            await session.execute(
                select(RecordingRow.id, RecordingRow.folder).where(
                    RecordingRow.status.in_([FINISHED, FAILED]),
                    RecordingRow.stopped_at.is_not(None),
                    RecordingRow.stopped_at < limit,
                )
            )
        ).all()
    finished = expired = 0
    for recording_id, folder in pending:
        manifest = await asyncio.to_thread(read_manifest, root / folder)
        if manifest is None:
            continue  # still recording (or its media side died: nothing to finish it with)
        async with db.transaction() as session:
            row = await session.get(RecordingRow, recording_id)
            if row is not None and row.status == RECORDING:
                await finish(session, row, manifest, user_id=None, office_id=None)
                finished += 1
    for recording_id, folder in old:
        where = root / folder
        if folder and where.is_relative_to(root) and where != root:
            await asyncio.to_thread(shutil.rmtree, where, True)
        async with db.transaction() as session:
            row = await session.get(RecordingRow, recording_id)
            if row is not None and row.status in (FINISHED, FAILED):
                row.status = EXPIRED
                row.deleted_at = moment
                expired += 1
    if finished or expired:
        logger.info("recordings: %s finished from their manifest, %s expired", finished, expired)
    return {"finished": finished, "expired": expired}


class RecordingSweeper:
    """The app's task that runs sweep() every SWEEP_EVERY seconds; close() stops it."""

    def __init__(
        self, db: Database, root: Path, retention_days: int, every: float = SWEEP_EVERY
    ) -> None:
        self.db = db
        self.root = root
        self.retention_days = retention_days
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sweeping (the first pass after one interval: not in the start-up rush)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await sweep(self.db, self.root, self.retention_days)
            except Exception:
                logger.exception("recordings: sweep failed")

    async def close(self) -> None:
        """Stop the task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

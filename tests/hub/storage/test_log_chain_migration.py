"""Migration 0009 on both back ends: the events already in a log are chained as the hub would
have chained them, so the log verifies and the next append continues the chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from hub.config import Settings
from hub.domain.sessionlog import LogKind
from hub.services import sessionlog
from hub.storage.db import Database
from hub.storage.migrate import upgrade

T0 = datetime(2026, 11, 20, 1, 0, 0, 250000, tzinfo=UTC)


async def test_existing_events_are_chained_by_the_migration(db_url: str) -> None:
    await upgrade(Settings(database_url=db_url), "0008")
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO offices (id, code, name, level, path, has_bridge_point, address)"
                    " VALUES (1, 'TW', 'Trụ sở', 'central', '/1/', true, '')"
                )
            )
            for hearing in (1, 2):
                await session.execute(
                    text(
                        "INSERT INTO hearings (id, title, kind, status, host_office_id, "
                        "starts_at, ends_at, description, location, published, minutes, "
                        "created_at) VALUES (:id, 'Phiên', 'adhoc', 'ended', 1, :t, :t, '', '',"
                        " true, '', :t)"
                    ),
                    {"id": hearing, "t": T0},
                )
            # Interleaved between the two hearings, as a real log is.
            for i in range(6):
                await session.execute(
                    text(
                        "INSERT INTO log_events (hearing_id, at, kind, office_id, detail) "
                        "VALUES (:h, :at, :k, 1, :d)"
                    ),
                    {
                        "h": 1 + i % 2,
                        "at": T0 + timedelta(seconds=i, microseconds=i * 7),
                        "k": "note",
                        "d": json.dumps({"text": f"Sự kiện {i}", "i": [i, 1.5]}),
                    },
                )
        await upgrade(Settings(database_url=db_url))
        async with db.transaction() as session:
            assert await sessionlog.verify_many(session) == [
                {"hearing_id": 1, "events": 3, "ok": True, "break": None},
                {"hearing_id": 2, "events": 3, "ok": True, "break": None},
            ]
            await sessionlog.append(session, 1, LogKind.ENDED, office_id=1)
        async with db.transaction() as session:
            after = await sessionlog.verify(session, 1)
            assert after == {"hearing_id": 1, "events": 4, "ok": True, "break": None}
    finally:
        await db.close()

"""Admissions kept in the database follow the session log's entries about sites, on both back
ends, and end with the hearing."""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus
from hub.domain.sessionlog import LogKind
from hub.services import hearings
from hub.services.live import DatabaseLiveGateway
from hub.storage.db import Database
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

START = datetime(2027, 3, 2, 8, 0, tzinfo=VN)


async def live_hearing(db: Database, tree: Tree) -> int:
    async with db.transaction() as session:
        (row,) = await hearings.create(
            session,
            tree.staff_hy,
            HearingDraft(
                title="Tiếp công dân định kỳ",
                kind=HearingKind.ADHOC,
                host_office_id=tree.office["HY"].id,
                site_office_ids=(tree.office["HY.VANLAM"].id,),
                starts_at=START,
                ends_at=START + timedelta(hours=2),
            ),
        )
        await hearings.set_status(session, tree.staff_hy, row.id, HearingStatus.LIVE)
        return row.id


async def test_admissions_follow_the_log_and_end_with_the_hearing(db: Database, tree: Tree) -> None:
    gateway = DatabaseLiveGateway(db, "secret")
    hid = await live_hearing(db, tree)
    site, host = tree.office["HY.VANLAM"].id, tree.office["HY"].id

    async def log(kind: str, office_id: int, **detail: object) -> set[int]:
        await gateway.record(hid, kind, office_id=office_id, detail=dict(detail))
        return await gateway.admitted_offices(hid)

    assert await log(LogKind.PARTICIPANT_JOINED, site, state="waiting") == set()
    assert await log(LogKind.PARTICIPANT_ADMITTED, site) == {site}
    # Two sites of one office admitted: one admission, no error.
    assert await log(LogKind.PARTICIPANT_ADMITTED, site) == {site}
    assert await log(LogKind.PARTICIPANT_JOINED, host, state="admitted") == {site, host}
    # Leaving and dropping keep it: the site comes back straight in.
    assert await log(LogKind.PARTICIPANT_DROPPED, site, reason="dropped") == {site, host}
    assert await log(LogKind.PARTICIPANT_LEFT, site, reason="left") == {site, host}
    assert await log(LogKind.PARTICIPANT_SENT_TO_WAITING, site) == {host}
    assert await log(LogKind.PARTICIPANT_ADMITTED, site) == {site, host}
    assert await log(LogKind.PARTICIPANT_REMOVED, site, reason="removed") == {host}
    assert await log(LogKind.PARTICIPANT_ADMITTED, site) == {site, host}
    # Entries that are not about a site change nothing.
    await gateway.record(hid, LogKind.CONNECTIVITY, detail={"event": "media_worker_lost"})
    assert await gateway.admitted_offices(hid) == {site, host}

    async with db.transaction() as session:
        await hearings.set_status(session, tree.staff_hy, hid, HearingStatus.ENDED)
    assert await gateway.admitted_offices(hid) == set()

"""Appending to and reading a hearing's session log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain.log_chain import (
    GENESIS,
    ChainedEvent,
    ChainHead,
    link_hash,
    normalised_detail,
)
from hub.domain.log_chain import verify as verify_chain
from hub.domain.sessionlog import SITE_PRESENCE_KINDS, LogKind, restoration
from hub.storage.tables import HearingRow, LogChainRow, LogEventRow, OfficeRow, UserRow


async def append(
    session: AsyncSession,
    hearing_id: int,
    kind: LogKind | str,
    *,
    user_id: int | None = None,
    office_id: int | None = None,
    petition_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> LogEventRow:
    """Add one time-stamped, attributed event to a hearing's log (in the caller's transaction),
    chained to the one before it (hub.domain.log_chain)."""
    seq, prev = await _claim_place(session, hearing_id)
    event = ChainedEvent(
        id=0,
        hearing_id=hearing_id,
        seq=seq,
        at=now(),
        kind=str(LogKind(kind)),
        user_id=user_id,
        office_id=office_id,
        petition_id=petition_id,
        detail=normalised_detail(detail),
    )
    digest = link_hash(event, prev)
    row = LogEventRow(
        hearing_id=hearing_id,
        at=event.at,
        kind=event.kind,
        user_id=user_id,
        office_id=office_id,
        petition_id=petition_id,
        detail=dict(event.detail),
        seq=seq,
        prev_hash=prev,
        hash=digest,
    )
    session.add(row)
    await session.flush()
    await session.execute(
        update(LogChainRow).where(LogChainRow.hearing_id == hearing_id).values(head=digest)
    )
    return row


async def _claim_place(session: AsyncSession, hearing_id: int) -> tuple[int, str]:
    """The next seq of the hearing's log and the hash it chains from, with the chain head's
    row locked until the caller's transaction ends.

    One upsert: on PostgreSQL ON CONFLICT DO UPDATE waits for another transaction holding the
    row and then works on its committed version, so a second append to the same hearing gets
    the first one's head, never the same one (and the unique (hearing_id, seq) would refuse a
    fork anyway). On SQLite the write takes the database's one write lock first, which
    serialises appends the same way."""
    dialect = session.bind.dialect.name
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(LogChainRow).values(
        hearing_id=hearing_id, length=1, head=GENESIS
    )
    result = await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[LogChainRow.hearing_id], set_={"length": LogChainRow.length + 1}
        ).returning(LogChainRow.length, LogChainRow.head)
    )
    length, head = result.one()
    return int(length), str(head)


async def append_site_entry(
    session: AsyncSession,
    hearing_id: int,
    kind: LogKind | str,
    *,
    user_id: int | None = None,
    office_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> LogEventRow:
    """append() for an entry the live rooms make about a site; a join that returns the site
    from a drop is followed by its connectivity entry (the outage, see
    hub.domain.sessionlog.restoration), read from the log so that it survives a restart."""
    previous = None
    if kind == LogKind.PARTICIPANT_JOINED and office_id is not None:
        previous = (
            await session.execute(
                select(LogEventRow.kind, LogEventRow.at)
                .where(
                    LogEventRow.hearing_id == hearing_id,
                    LogEventRow.office_id == office_id,
                    LogEventRow.kind.in_([str(k) for k in SITE_PRESENCE_KINDS]),
                )
                .order_by(LogEventRow.id.desc())
                .limit(1)
            )
        ).first()
    row = await append(
        session, hearing_id, kind, user_id=user_id, office_id=office_id, detail=detail
    )
    if previous is not None:
        returned = restoration(str(kind), previous.kind, _unix(previous.at), _unix(row.at))
        if returned is not None:
            returned["participant_id"] = (detail or {}).get("participant_id")
            await append(
                session, hearing_id, LogKind.CONNECTIVITY, office_id=office_id, detail=returned
            )
    return row


def _unix(at: datetime) -> float:
    # SQLite hands back naive datetimes; the hub stores UTC.
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


async def events(session: AsyncSession, hearing_id: int) -> list[dict[str, Any]]:
    """The log of a hearing, oldest first, with names of the users and offices involved."""
    query = (
        select(LogEventRow, UserRow.display_name, OfficeRow.name)
        .outerjoin(UserRow, UserRow.id == LogEventRow.user_id)
        .outerjoin(OfficeRow, OfficeRow.id == LogEventRow.office_id)
        .where(LogEventRow.hearing_id == hearing_id)
        .order_by(LogEventRow.id)
    )
    out = []
    for row, user_name, office_name in (await session.execute(query)).all():
        out.append(
            {
                "id": row.id,
                "at": local_iso(row.at),
                "kind": row.kind,
                "user_id": row.user_id,
                "user_name": user_name,
                "office_id": row.office_id,
                "office_name": office_name,
                "petition_id": row.petition_id,
                "detail": row.detail,
            }
        )
    return out


async def verify(session: AsyncSession, hearing_id: int) -> dict[str, Any]:
    """Check one hearing's log chain: {hearing_id, events, ok, break} where break is the first
    link that does not hold (hub.domain.log_chain.verify) or None."""
    # Core rows, not ORM objects: what the database holds now, never a copy the session
    # already has in its identity map.
    head_row = (
        await session.execute(
            select(LogChainRow.length, LogChainRow.head).where(LogChainRow.hearing_id == hearing_id)
        )
    ).one_or_none()
    head = ChainHead(head_row.length, head_row.head) if head_row else None
    rows = await session.stream(
        select(*LogEventRow.__table__.c)
        .where(LogEventRow.hearing_id == hearing_id)
        .order_by(LogEventRow.id)
    )
    chained = [
        ChainedEvent(
            id=r.id,
            hearing_id=r.hearing_id,
            seq=r.seq,
            at=r.at,
            kind=r.kind,
            user_id=r.user_id,
            office_id=r.office_id,
            petition_id=r.petition_id,
            detail=r.detail or {},
            prev_hash=r.prev_hash,
            hash=r.hash,
        )
        async for r in rows
    ]
    count, broken = verify_chain(hearing_id, chained, head)
    return {
        "hearing_id": hearing_id,
        "events": count,
        "ok": broken is None,
        "break": broken.as_dict() if broken else None,
    }


async def verify_many(
    session: AsyncSession, hearing_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """verify() for the given hearings (every hearing when None), by id; a hearing that does
    not exist is reported with missing=True and ok=False."""
    ids = select(HearingRow.id)
    if hearing_ids is not None:
        ids = ids.where(HearingRow.id.in_(hearing_ids))
    known = set((await session.execute(ids)).scalars())
    wanted = sorted(known) if hearing_ids is None else hearing_ids
    out = []
    for hearing_id in wanted:
        if hearing_id not in known:
            out.append(
                {"hearing_id": hearing_id, "events": 0, "ok": False, "break": None, "missing": True}
            )
            continue
        out.append(await verify(session, hearing_id))
    return out

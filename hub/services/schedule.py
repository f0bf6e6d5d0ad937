"""The public reception schedule (lịch tiếp công dân): data for the posted page and iCalendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import LOCAL_TZ, now
from hub.domain.hearings import HearingStatus
from hub.storage.tables import HearingRow, HearingSiteRow, OfficeRow, UserRow

KIND_VI = {"periodic": "Định kỳ", "adhoc": "Đột xuất", "regular": "Thường xuyên"}
STATUS_VI = {"scheduled": "Đã lên lịch", "live": "Đang diễn ra"}


@dataclass(frozen=True)
class PostedHearing:
    """One line of the posted schedule: no personal data, only what citizens need."""

    id: int
    title: str
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    host: str
    sites: list[str]
    chair: str | None
    location: str


async def upcoming(session: AsyncSession, days: int = 90, limit: int = 200) -> list[PostedHearing]:
    """Published hearings that are live or scheduled within the next `days` days."""
    start = now() - timedelta(hours=12)
    rows = (
        await session.execute(
            select(HearingRow, OfficeRow.name, UserRow.display_name)
            .join(OfficeRow, OfficeRow.id == HearingRow.host_office_id)
            .outerjoin(UserRow, UserRow.id == HearingRow.chair_user_id)
            .where(
                HearingRow.published.is_(True),
                HearingRow.status.in_([HearingStatus.SCHEDULED, HearingStatus.LIVE]),
                HearingRow.ends_at >= start,
                HearingRow.starts_at <= now() + timedelta(days=days),
            )
            .order_by(HearingRow.starts_at, HearingRow.id)
            .limit(limit)
        )
    ).all()
    ids = [r.id for r, _, _ in rows]
    sites: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for hearing_id, name in (
            await session.execute(
                select(HearingSiteRow.hearing_id, OfficeRow.name)
                .join(OfficeRow, OfficeRow.id == HearingSiteRow.office_id)
                .where(HearingSiteRow.hearing_id.in_(ids))
                .order_by(OfficeRow.path)
            )
        ).all():
            sites[hearing_id].append(name)
    return [
        PostedHearing(
            id=r.id,
            title=r.title,
            kind=r.kind,
            status=r.status,
            starts_at=r.starts_at.astimezone(LOCAL_TZ),
            ends_at=r.ends_at.astimezone(LOCAL_TZ),
            host=host,
            sites=sites[r.id],
            chair=chair,
            location=r.location,
        )
        for r, host, chair in rows
    ]


def to_ical(items: list[PostedHearing], host_name: str) -> bytes:
    """An iCalendar feed of the posted schedule (RFC 5545), one VEVENT per hearing."""
    cal = Calendar()
    cal.add("prodid", "-//tcd-hub//Lich tiep cong dan//VI")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Lịch tiếp công dân trực tuyến")
    cal.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for item in items:
        event = Event()
        event.add("uid", f"hearing-{item.id}@{host_name}")
        event.add("summary", item.title)
        event.add("dtstart", item.starts_at)
        event.add("dtend", item.ends_at)
        event.add("dtstamp", now())
        event.add("location", item.location or item.host)
        lines = [f"Hình thức: {KIND_VI.get(item.kind, item.kind)}", f"Chủ trì: {item.host}"]
        if item.chair:
            lines.append(f"Lãnh đạo chủ trì: {item.chair}")
        if item.sites:
            lines.append("Các điểm cầu: " + "; ".join(item.sites))
        event.add("description", "\n".join(lines))
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    # TZID references need their VTIMEZONE definitions for strict calendar clients.
    cal.add_missing_timezones()
    return bytes(cal.to_ical())

"""Time: aware UTC now, and Vietnam's local time for what people read."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def now_local() -> datetime:
    """The current time in Vietnam."""
    return now().astimezone(LOCAL_TZ)


def local_iso(value: datetime | None) -> str | None:
    """ISO 8601 in Vietnam's offset (+07:00), as people at the offices read it."""
    return value.astimezone(LOCAL_TZ).isoformat() if value else None

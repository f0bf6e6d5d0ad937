"""Hearings (phiên tiếp công dân trực tuyến): kinds, status workflow, schedule rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hub.domain.errors import Conflict, ValidationFailed


class HearingKind(enum.StrEnum):
    """Periodic (định kỳ), ad hoc (đột xuất) or regular (thường xuyên) reception."""

    PERIODIC = "periodic"
    ADHOC = "adhoc"
    REGULAR = "regular"


class HearingStatus(enum.StrEnum):
    """Where a hearing stands: scheduled -> live -> ended, or cancelled before it starts."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


_TRANSITIONS: dict[HearingStatus, frozenset[HearingStatus]] = {
    HearingStatus.SCHEDULED: frozenset({HearingStatus.LIVE, HearingStatus.CANCELLED}),
    HearingStatus.LIVE: frozenset({HearingStatus.ENDED}),
    HearingStatus.ENDED: frozenset(),
    HearingStatus.CANCELLED: frozenset(),
}

MAX_DURATION = timedelta(hours=12)
MAX_SITES = 200


def check_transition(current: HearingStatus, target: HearingStatus) -> None:
    """Raise Conflict naming both states when the hearing cannot move to `target`."""
    if target not in _TRANSITIONS[current]:
        allowed = ", ".join(sorted(_TRANSITIONS[current])) or "none (final state)"
        raise Conflict(
            f"a hearing that is {current} cannot become {target}; allowed: {allowed}",
            {"status": f"{current} -> {target} is not allowed"},
        )


@dataclass(frozen=True)
class HearingDraft:
    """A hearing to schedule, checked on construction."""

    title: str
    kind: HearingKind
    host_office_id: int
    site_office_ids: tuple[int, ...]
    starts_at: datetime
    ends_at: datetime
    chair_user_id: int | None = None
    recurrence: str | None = None
    description: str = ""
    location: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not self.title.strip() or len(self.title) > 300:
            errors["title"] = "must be 1-300 characters"
        if self.starts_at.tzinfo is None:
            errors["starts_at"] = "must carry a UTC offset, e.g. 2026-12-15T08:00:00+07:00"
        if self.ends_at.tzinfo is None:
            errors["ends_at"] = "must carry a UTC offset, e.g. 2026-12-15T11:00:00+07:00"
        if not errors:
            if self.ends_at <= self.starts_at:
                errors["ends_at"] = "must be after starts_at"
            elif self.ends_at - self.starts_at > MAX_DURATION:
                errors["ends_at"] = "a hearing lasts at most 12 hours"
        if len(set(self.site_office_ids)) != len(self.site_office_ids):
            errors["site_office_ids"] = "lists an office twice"
        elif len(self.site_office_ids) > MAX_SITES:
            errors["site_office_ids"] = f"at most {MAX_SITES} sites"
        elif self.host_office_id in self.site_office_ids:
            errors["site_office_ids"] = "must not repeat the host office (it always takes part)"
        if self.recurrence and self.kind is not HearingKind.PERIODIC:
            errors["recurrence"] = "only periodic hearings recur"
        if errors:
            raise ValidationFailed("invalid hearing", errors)

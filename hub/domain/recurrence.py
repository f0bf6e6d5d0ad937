"""Expansion of periodic receptions' recurrence rules (RFC 5545 RRULE) into dated occurrences."""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil.rrule import rrulestr

from hub.domain.errors import ValidationFailed

# A series never produces more than this many hearings; without COUNT/UNTIL it stops a year out.
MAX_OCCURRENCES = 60
DEFAULT_HORIZON = timedelta(days=366)


def expand(rule: str, first_start: datetime) -> list[datetime]:
    """Start times of a series: the rule applied from `first_start` (included when it matches).

    `rule` is an RRULE body such as "FREQ=MONTHLY;BYMONTHDAY=15" (a leading "RRULE:" is allowed).
    Times are computed in the first start's own offset, so "the 15th at 08:00" stays 08:00 local.
    """
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or len(body) > 500 or "\n" in body:
        raise ValidationFailed("invalid recurrence", {"recurrence": "must be one RRULE line"})
    if "FREQ=" not in body.upper():
        raise ValidationFailed("invalid recurrence", {"recurrence": "FREQ is required"})
    upper = body.upper()
    if "FREQ=SECONDLY" in upper or "FREQ=MINUTELY" in upper or "FREQ=HOURLY" in upper:
        raise ValidationFailed(
            "invalid recurrence", {"recurrence": "hearings recur daily at most often"}
        )
    try:
        rset = rrulestr(body, dtstart=first_start)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            "invalid recurrence", {"recurrence": f"not a valid RRULE: {exc}"}
        ) from exc
    horizon = first_start + DEFAULT_HORIZON
    bounded = "COUNT=" in upper or "UNTIL=" in upper
    out: list[datetime] = []
    for occurrence in rset:
        if not isinstance(occurrence, datetime):
            break
        if not bounded and occurrence > horizon:
            break
        out.append(occurrence)
        if len(out) >= MAX_OCCURRENCES:
            break
    if not out:
        raise ValidationFailed(
            "invalid recurrence", {"recurrence": "the rule yields no date on or after starts_at"}
        )
    return out

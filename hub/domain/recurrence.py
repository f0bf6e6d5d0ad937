"""Expansion of periodic receptions' recurrence rules (RFC 5545 RRULE) into dated occurrences."""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil import parser as dateparser
from dateutil.rrule import rrule, rrulestr

from hub.domain.errors import ValidationFailed

# A series never produces more than this many hearings; without COUNT/UNTIL it stops a year out.
MAX_OCCURRENCES = 60
DEFAULT_HORIZON = timedelta(days=366)
# However a rule is written, nothing is looked for beyond this: a rule that never matches
# (e.g. the 30th of February) must fail at once, not search to the year 9999.
MAX_HORIZON = timedelta(days=5 * 366)
_ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
# What receptions need ("the 15th of every month", "every other Monday", "the last Friday");
# rarer parts (BYYEARDAY, BYWEEKNO, BYHOUR, ...) are refused rather than risk rules that never
# match: dateutil searches an empty rule to the year 9999 however it is bounded.
_ALLOWED_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
}
_MONTH_DAYS = {
    1: 31,
    2: 29,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}


def _invalid(problem: str) -> ValidationFailed:
    return ValidationFailed(f"invalid recurrence: {problem}", {"recurrence": problem})


def _parts(body: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in body.split(";"):
        if "=" not in item:
            raise _invalid(f"'{item}' is not NAME=VALUE")
        name, value = item.split("=", 1)
        parts[name.strip().upper()] = value.strip()
    return parts


def expand(rule: str, first_start: datetime) -> list[datetime]:
    """Start times of a series: the rule applied from `first_start` (included when it matches).

    `rule` is an RRULE body such as "FREQ=MONTHLY;BYMONTHDAY=15" (a leading "RRULE:" is allowed).
    Times are computed in the first start's own offset, so "the 15th at 08:00" stays 08:00 local.
    """
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or len(body) > 500 or "\n" in body or "\r" in body:
        raise _invalid("must be one RRULE line")
    parts = _parts(body)
    freq = parts.get("FREQ", "").upper()
    if not freq:
        raise _invalid("FREQ is required")
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        raise _invalid("hearings recur daily at most often (FREQ=DAILY, WEEKLY, MONTHLY, YEARLY)")
    if freq not in _ALLOWED_FREQ:
        raise _invalid("not a valid RRULE: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    try:
        interval = int(parts.get("INTERVAL", "1"))
        count = int(parts["COUNT"]) if "COUNT" in parts else None
    except ValueError as exc:
        raise _invalid("not a valid RRULE: INTERVAL and COUNT must be whole numbers") from exc
    unknown = sorted(set(parts) - _ALLOWED_PARTS)
    if unknown:
        raise _invalid(
            f"not a valid RRULE: {unknown[0]} is not supported; use "
            + ", ".join(sorted(_ALLOWED_PARTS))
        )
    _check_satisfiable(parts, freq)
    if not 1 <= interval <= 366:
        raise _invalid("INTERVAL must be between 1 and 366")
    if count is not None and count < 1:
        raise _invalid(f"COUNT={count} yields no date")
    if count is not None:
        count = min(count, MAX_OCCURRENCES)  # the cap holds whatever COUNT says
    if count is not None and "UNTIL" in parts:
        raise _invalid("use COUNT or UNTIL, not both")
    limit = first_start + (MAX_HORIZON if count or "UNTIL" in parts else DEFAULT_HORIZON)
    if "UNTIL" in parts:
        if "T" not in parts["UNTIL"].upper():
            raise _invalid("not a valid RRULE: UNTIL must be a date-time, e.g. 20271231T235959Z")
        try:
            until = dateparser.parse(parts["UNTIL"])
        except (ValueError, OverflowError) as exc:
            raise _invalid("not a valid RRULE: UNTIL is not a date-time") from exc
        if until.tzinfo is None:
            until = until.replace(tzinfo=first_start.tzinfo)
        limit = min(limit, until)
    # The rule is parsed without COUNT/UNTIL and bounded by our own UNTIL, so the search for
    # dates always ends within MAX_HORIZON; COUNT is applied while collecting.
    base = ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))
    try:
        parsed = rrulestr(base, dtstart=first_start)
    except (ValueError, TypeError, KeyError) as exc:
        raise _invalid(f"not a valid RRULE: {exc}") from exc
    if not isinstance(parsed, rrule):
        raise _invalid("must be a single RRULE")
    bounded = parsed.replace(until=limit)
    out: list[datetime] = []
    for occurrence in bounded:
        out.append(occurrence)
        if len(out) >= (count or MAX_OCCURRENCES):
            break
    if not out:
        raise _invalid("the rule yields no date on or after starts_at")
    return out


def _ints(value: str, name: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise _invalid(f"{name} must list whole numbers") from exc


def _check_satisfiable(parts: dict[str, str], freq: str) -> None:
    """Refuse rules that can never yield a date, before dateutil would search for one."""
    months = _ints(parts["BYMONTH"], "BYMONTH") if "BYMONTH" in parts else list(range(1, 13))
    if any(not 1 <= m <= 12 for m in months):
        raise _invalid("BYMONTH must be between 1 and 12")
    if "BYMONTHDAY" in parts:
        days = _ints(parts["BYMONTHDAY"], "BYMONTHDAY")
        if any(d == 0 or not -31 <= d <= 31 for d in days):
            raise _invalid("BYMONTHDAY must be between 1 and 31 (or -31 and -1)")
        if not any(abs(d) <= _MONTH_DAYS[m] for d in days for m in months):
            raise _invalid("no month of BYMONTH has a day of BYMONTHDAY")
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            ordinal = item.strip()[:-2]
            if ordinal not in ("", "+", "-") and not (
                ordinal.lstrip("+-").isdigit() and 1 <= abs(int(ordinal)) <= 5
            ):
                raise _invalid("a BYDAY ordinal must be between -5 and 5, e.g. 3MO or -1FR")
    if "BYSETPOS" in parts:
        positions = _ints(parts["BYSETPOS"], "BYSETPOS")
        if freq not in ("MONTHLY", "YEARLY") or "BYDAY" not in parts or "BYMONTHDAY" in parts:
            raise _invalid("BYSETPOS is only supported with FREQ=MONTHLY or YEARLY and BYDAY")
        if any(p not in (-1, 1, 2, 3, 4) for p in positions):
            raise _invalid("BYSETPOS must be 1, 2, 3, 4 or -1")

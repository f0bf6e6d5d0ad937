"""Expansion of periodic receptions' recurrence rules (RFC 5545 RRULE) into dated occurrences."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

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


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
    The dates are found by walking the horizon's days (at most MAX_HORIZON, a few thousand days):
    the cost is bounded whatever the rule, and a rule that never matches fails as fast as one
    that does.
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
    horizon = MAX_HORIZON if count or "UNTIL" in parts else DEFAULT_HORIZON
    limit = _later(first_start, horizon)
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
    # dateutil parses the rule (its syntax errors are worded well); it does not expand it, as it
    # searches a rule that matches no more to the year 9999 whatever UNTIL says.
    base = ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))
    try:
        parsed = rrulestr(base, dtstart=first_start)
    except (ValueError, TypeError, KeyError) as exc:
        raise _invalid(f"not a valid RRULE: {exc}") from exc
    if not isinstance(parsed, rrule):
        raise _invalid("must be a single RRULE")
    shape = _shape(parts, freq, interval, first_start)
    _check_reachable(shape, first_start)
    out = _walk(shape, first_start, limit, count or MAX_OCCURRENCES)
    if not out:
        within = "up to UNTIL" if "UNTIL" in parts else f"within {horizon.days // 366} year(s)"
        raise _invalid(f"the rule yields no date on or after starts_at {within}")
    return out


def _later(moment: datetime, span: timedelta) -> datetime:
    try:
        return moment + span
    except OverflowError:
        return datetime.max.replace(tzinfo=moment.tzinfo)


@dataclass(frozen=True)
class _Shape:
    """A parsed rule, with dateutil's defaults filled in (what an unset BYxxx means)."""

    freq: str
    interval: int
    wkst: int
    months: frozenset[int]  # empty: any month
    monthdays: frozenset[int]  # 1..31 and -31..-1; empty: any day
    weekdays: frozenset[int]  # 0 = Monday; empty: any weekday
    nth_weekdays: frozenset[tuple[int, int]]  # (weekday, ordinal): 3MO is (0, 3)
    setpos: tuple[int, ...]


def _weekday(code: str) -> int:
    try:
        return _WEEKDAYS.index(code.upper())
    except ValueError:
        raise _invalid(f"not a valid RRULE: {code!r} is not a weekday (MO..SU)") from None


def _shape(parts: dict[str, str], freq: str, interval: int, first: datetime) -> _Shape:
    months = frozenset(_ints(parts["BYMONTH"], "BYMONTH")) if "BYMONTH" in parts else frozenset()
    monthdays = (
        frozenset(_ints(parts["BYMONTHDAY"], "BYMONTHDAY"))
        if "BYMONTHDAY" in parts
        else frozenset()
    )
    weekdays: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for item in parts["BYDAY"].split(",") if "BYDAY" in parts else []:
        item = item.strip()
        ordinal = item[:-2].lstrip("+")
        if ordinal:
            if freq in ("DAILY", "WEEKLY"):
                raise _invalid(
                    f"a BYDAY ordinal ({item}) needs FREQ=MONTHLY or YEARLY (RFC 5545); "
                    f"use BYDAY={item[-2:]}"
                )
            nth.add((_weekday(item[-2:]), int(ordinal)))
        else:
            weekdays.add(_weekday(item[-2:]))
    if weekdays and nth:
        raise _invalid("BYDAY mixes weekdays with and without an ordinal (MO,1TU): list one kind")
    # dateutil's defaults: a rule that names no day repeats the first start's day.
    if not monthdays and not weekdays and not nth:
        if freq == "YEARLY":
            months = months or frozenset({first.month})
            monthdays = frozenset({first.day})
        elif freq == "MONTHLY":
            monthdays = frozenset({first.day})
        elif freq == "WEEKLY":
            weekdays = {first.weekday()}
    return _Shape(
        freq=freq,
        interval=interval,
        wkst=_weekday(parts["WKST"]) if "WKST" in parts else 0,
        months=months,
        monthdays=monthdays,
        weekdays=frozenset(weekdays),
        nth_weekdays=frozenset(nth),
        setpos=tuple(_ints(parts["BYSETPOS"], "BYSETPOS")) if "BYSETPOS" in parts else (),
    )


def _check_reachable(shape: _Shape, first: datetime) -> None:
    """Name the cause of the commonest rules whose INTERVAL steps over every allowed day."""
    if shape.freq == "DAILY" and shape.interval % 7 == 0 and shape.weekdays:
        if first.weekday() not in shape.weekdays:
            day = _WEEKDAY_NAMES[first.weekday()]
            raise _invalid(
                f"FREQ=DAILY;INTERVAL={shape.interval} always falls on a {day} (the weekday of "
                f"starts_at), so BYDAY={','.join(_WEEKDAYS[d] for d in sorted(shape.weekdays))} "
                "never matches"
            )
    if shape.freq == "MONTHLY" and shape.months:
        reached = {(first.month - 1 + k * shape.interval) % 12 + 1 for k in range(12)}
        if not reached & shape.months:
            raise _invalid(
                f"FREQ=MONTHLY;INTERVAL={shape.interval} from starts_at's month never reaches "
                "a month of BYMONTH"
            )


def _periods(shape: _Shape, first: date, last: date) -> Iterator[tuple[date, date]]:
    """The rule's periods (a day, week, month or year) that INTERVAL keeps, from the one
    holding `first` to the one holding `last`."""
    step = shape.interval
    if shape.freq == "DAILY":
        day = first
        while day <= last:
            yield day, day
            day += timedelta(days=step)
    elif shape.freq == "WEEKLY":
        week = first - timedelta(days=(first.weekday() - shape.wkst) % 7)
        while week <= last:
            yield week, week + timedelta(days=6)
            week += timedelta(days=7 * step)
    elif shape.freq == "MONTHLY":
        index = first.year * 12 + first.month - 1
        while date(index // 12, index % 12 + 1, 1) <= last:
            year, month = divmod(index, 12)
            yield date(year, month + 1, 1), date(year, month + 1, monthrange(year, month + 1)[1])
            index += step
    else:
        for year in range(first.year, last.year + 1, step):
            yield date(year, 1, 1), date(year, 12, 31)


def _matches(shape: _Shape, day: date) -> bool:
    """Whether a day of a kept period passes every BYxxx of the rule (each one a filter)."""
    if shape.months and day.month not in shape.months:
        return False
    if shape.weekdays and day.weekday() not in shape.weekdays:
        return False
    if shape.monthdays:
        length = monthrange(day.year, day.month)[1]
        if day.day not in shape.monthdays and day.day - length - 1 not in shape.monthdays:
            return False
    if shape.nth_weekdays:
        # The n-th weekday of the month; of the year for YEARLY without BYMONTH (as dateutil).
        if shape.freq == "YEARLY" and not shape.months:
            low, high = date(day.year, 1, 1), date(day.year, 12, 31)
        else:
            low = day.replace(day=1)
            high = day.replace(day=monthrange(day.year, day.month)[1])
        ahead, behind = (day - low).days // 7 + 1, -((high - day).days // 7 + 1)
        wanted = {n for w, n in shape.nth_weekdays if w == day.weekday()}
        if ahead not in wanted and behind not in wanted:
            return False
    return True


def _walk(shape: _Shape, first: datetime, limit: datetime, cap: int) -> list[datetime]:
    """Occurrences from `first` to `limit` (both included), at most `cap` of them."""
    out: list[datetime] = []
    end = min(limit.astimezone(first.tzinfo).date(), date.max - timedelta(days=366))
    for low, high in _periods(shape, first.date(), end):
        days = [
            low + timedelta(days=i)
            for i in range((high - low).days + 1)
            if _matches(shape, low + timedelta(days=i))
        ]
        if shape.setpos:
            picked = {
                days[p - 1 if p > 0 else p]
                for p in shape.setpos
                if -len(days) <= p <= len(days) and p != 0
            }
            days = sorted(picked)
        for day in days:
            moment = datetime.combine(day, first.timetz())
            if moment < first:
                continue
            if moment > limit:
                return out
            out.append(moment)
            if len(out) >= cap:
                return out
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

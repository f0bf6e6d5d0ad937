"""Handling deadlines as the law counts them: which rule a petition's type and stage fall under,
how many days it gives (working or calendar), its extensions, an office's override of the
number of days, and the work calendar (weekends, public holidays, working Saturdays).

The rules (RULES):
- intake (xử lý đơn): 10 working days from the day a petition is received to decide on it
  (accept, transfer, return with guidance, file), whatever its type (Thông tư 05/2021/TT-TTCP).
- complaint_resolution: a first-time complaint is resolved within 30 days of its acceptance
  (thụ lý), 45 when complex (Luật Khiếu nại 2011, Điều 28): the 15 more days are one extension.
  Remote areas (45, complex 60) are an office override of `days` to 45, the extension staying
  15. Second-time complaints (Điều 37: 45/60) are not told apart by the register yet.
- denunciation_resolution: 30 days from acceptance, extended once (complex) or twice (very
  complex) by 30 days each (Luật Tố cáo 2018, Điều 30).
Recommendations and feedback, once accepted, have no statutory period in these laws: no rule.
A mixed petition is resolved on the complaint's periods.

Counting (Bộ luật Dân sự 2015, Điều 147-148): the day the period starts from is not counted; a
period of working days counts only working days; a period of calendar days that ends on a day
off ends on the next working day.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.petitions import PetitionStatus, PetitionType


class DayCount(enum.StrEnum):
    """Whether a rule counts working days or calendar days."""

    WORKING = "working"
    CALENDAR = "calendar"


class RuleKey(enum.StrEnum):
    """The deadline rules, by the stage and type they govern."""

    INTAKE = "intake"
    COMPLAINT_RESOLUTION = "complaint_resolution"
    DENUNCIATION_RESOLUTION = "denunciation_resolution"


class CalendarDayKind(enum.StrEnum):
    """An entry of the holiday table: a day off, or a weekend day worked in exchange for one."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


# Upper bounds that keep a typo from setting a deadline years away.
MAX_DAYS = 365
MAX_EXTENSION_DAYS = 180


@dataclass(frozen=True)
class Rule:
    """A deadline rule: `days` from the stage's start, plus `extension_days` per extension
    (at most `max_extensions`), counted as `count` says; `law` is where it comes from."""

    key: RuleKey
    days: int
    count: DayCount
    extension_days: int
    max_extensions: int
    law: str

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not 1 <= self.days <= MAX_DAYS:
            errors["days"] = f"must be 1-{MAX_DAYS}"
        if not 0 <= self.extension_days <= MAX_EXTENSION_DAYS:
            errors["extension_days"] = f"must be 0-{MAX_EXTENSION_DAYS}"
        if self.max_extensions < 0:
            errors["max_extensions"] = "must not be negative"
        if errors:
            raise ValidationFailed(f"invalid deadline rule {self.key}", errors)

    def total_days(self, extensions: int) -> int:
        """The period with `extensions` extensions; Conflict past the rule's maximum."""
        if extensions < 0:
            raise ValidationFailed("invalid extensions", {"extensions": "must not be negative"})
        if extensions > self.max_extensions:
            allowed = (
                "no extension"
                if self.max_extensions == 0
                else f"at most {self.max_extensions} extension(s)"
            )
            raise Conflict(
                f"the {self.key} deadline allows {allowed}",
                {"extensions": f"at most {self.max_extensions}"},
            )
        return self.days + extensions * self.extension_days


RULES: dict[RuleKey, Rule] = {
    RuleKey.INTAKE: Rule(
        RuleKey.INTAKE, 10, DayCount.WORKING, 0, 0, "Thông tư 05/2021/TT-TTCP (xử lý đơn)"
    ),
    RuleKey.COMPLAINT_RESOLUTION: Rule(
        RuleKey.COMPLAINT_RESOLUTION, 30, DayCount.CALENDAR, 15, 1, "Luật Khiếu nại 2011, Điều 28"
    ),
    RuleKey.DENUNCIATION_RESOLUTION: Rule(
        RuleKey.DENUNCIATION_RESOLUTION, 30, DayCount.CALENDAR, 30, 2, "Luật Tố cáo 2018, Điều 30"
    ),
}


def rule_for(type_: PetitionType | str, status: PetitionStatus | str) -> RuleKey | None:
    """The rule that sets a petition's deadline in its current stage; None when none does
    (a final state, a suspended case, an accepted recommendation or feedback)."""
    status = PetitionStatus(status)
    type_ = PetitionType(type_)
    if status is PetitionStatus.RECEIVED:
        return RuleKey.INTAKE
    if status is PetitionStatus.ACCEPTED:
        if type_ in (PetitionType.COMPLAINT, PetitionType.MIXED):
            return RuleKey.COMPLAINT_RESOLUTION
        if type_ is PetitionType.DENUNCIATION:
            return RuleKey.DENUNCIATION_RESOLUTION
    return None


# The stages whose deadline is running: what "overdue" and "due this week" look at.
OPEN_STATUSES = frozenset({PetitionStatus.RECEIVED, PetitionStatus.ACCEPTED})


@dataclass(frozen=True)
class Override:
    """An office's own number of days for a rule (and, optionally, per extension)."""

    rule: RuleKey
    days: int
    extension_days: int | None = None

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if isinstance(self.days, bool) or not isinstance(self.days, int):
            errors["days"] = "must be a whole number"
        elif not 1 <= self.days <= MAX_DAYS:
            errors["days"] = f"must be 1-{MAX_DAYS}"
        if self.extension_days is not None and not 0 <= self.extension_days <= MAX_EXTENSION_DAYS:
            errors["extension_days"] = f"must be 0-{MAX_EXTENSION_DAYS}"
        if errors:
            raise ValidationFailed("invalid deadline override", errors)


def effective_rule(key: RuleKey, override: Override | None = None) -> Rule:
    """The rule as an office applies it: the law's, with the override's days if any."""
    rule = RULES[key]
    if override is None:
        return rule
    if override.rule is not key:
        raise ValueError(f"override of {override.rule} applied to {key}")
    return replace(
        rule,
        days=override.days,
        extension_days=(
            rule.extension_days if override.extension_days is None else override.extension_days
        ),
    )


@dataclass(frozen=True)
class CalendarDay:
    """One entry of the holiday table."""

    day: date
    kind: CalendarDayKind
    name: str

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not self.name.strip() or len(self.name) > 200:
            errors["name"] = "must be 1-200 characters"
        if self.kind is CalendarDayKind.WORKDAY and self.day.weekday() < 5:
            errors["kind"] = "a working day in exchange is a Saturday or Sunday"
        if errors:
            raise ValidationFailed("invalid calendar day", errors)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days the offices work: Monday to Friday, less the holidays, plus the weekend days
    worked in exchange for a day off (a government swap)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, days: Iterable[CalendarDay]) -> WorkCalendar:
        """The calendar of the holiday table's entries."""
        entries = list(days)
        return cls(
            frozenset(d.day for d in entries if d.kind is CalendarDayKind.HOLIDAY),
            frozenset(d.day for d in entries if d.kind is CalendarDayKind.WORKDAY),
        )

    def is_working(self, day: date) -> bool:
        """Whether the offices work on `day`."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself not counted)."""
        day = start
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working(day):
                counted += 1
        return day

    def working_day_on_or_after(self, day: date) -> date:
        """`day` if the offices work then, else the next day they do."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        return self.working_day_on_or_after(day + timedelta(days=1))


def due_date(rule: Rule, start: date, calendar: WorkCalendar, extensions: int = 0) -> date:
    """The last day of the rule's period counted from `start` with `extensions` extensions."""
    total = rule.total_days(extensions)
    if rule.count is DayCount.WORKING:
        return calendar.add_working_days(start, total)
    return calendar.working_day_on_or_after(start + timedelta(days=total))


def alert_window(today: date, calendar: WorkCalendar) -> tuple[date, date]:
    """The deadlines staff are told of today, the working day before: from today (one that
    was missed yesterday, the hub being down) to the next working day (on a Friday, Monday's
    and any weekend day's)."""
    return today, calendar.next_working_day(today)


class Due(enum.StrEnum):
    """The deadline views: past their day, or due within the next seven days."""

    OVERDUE = "overdue"
    WEEK = "week"


# "This week": today and the six days after it.
WEEK_DAYS = 7


def due_range(due: Due, today: date) -> tuple[date | None, date | None]:
    """[low, high] of the deadlines a view takes (None: unbounded on that side)."""
    if due is Due.OVERDUE:
        return None, today - timedelta(days=1)
    return today, today + timedelta(days=WEEK_DAYS - 1)

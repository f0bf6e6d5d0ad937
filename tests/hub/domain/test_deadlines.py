"""Deadline rules against dates worked out by hand on a calendar: weekends, Tết and the other
holidays, a working Saturday, calendar-day periods ending on a day off, extensions, overrides.

The holidays here are those the migration seeds for 2026-2027 (the parts these cases touch),
written out again so that each expected date can be checked against a printed calendar."""

from __future__ import annotations

from datetime import date

import pytest

from hub.domain.deadlines import (
    RULES,
    CalendarDay,
    CalendarDayKind,
    Due,
    Override,
    RuleKey,
    WorkCalendar,
    alert_window,
    due_date,
    due_range,
    effective_rule,
    rule_for,
)
from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.petitions import PetitionStatus, PetitionType

H = CalendarDayKind.HOLIDAY
TET_2026 = [date(2026, 2, d) for d in (16, 17, 18, 19, 20)]  # Mon 16 - Fri 20 Feb
TET_2027 = [date(2027, 2, d) for d in range(4, 11)]  # Thu 4 - Wed 10 Feb
CALENDAR = WorkCalendar.of(
    [
        *(CalendarDay(d, H, "Tết Nguyên đán") for d in TET_2026 + TET_2027),
        CalendarDay(date(2026, 4, 27), H, "Nghỉ bù Giỗ Tổ"),
        CalendarDay(date(2026, 4, 30), H, "Ngày Chiến thắng"),
        CalendarDay(date(2026, 5, 1), H, "Quốc tế Lao động"),
        CalendarDay(date(2026, 8, 22), CalendarDayKind.WORKDAY, "Làm bù cho 31/8"),
        CalendarDay(date(2026, 8, 31), H, "Nghỉ hoán đổi"),
        CalendarDay(date(2026, 9, 1), H, "Quốc khánh"),
        CalendarDay(date(2026, 9, 2), H, "Quốc khánh"),
    ]
)
INTAKE = RULES[RuleKey.INTAKE]
COMPLAINT = RULES[RuleKey.COMPLAINT_RESOLUTION]
DENUNCIATION = RULES[RuleKey.DENUNCIATION_RESOLUTION]


def test_received_the_friday_before_tet_the_ten_working_days_skip_weekends_and_tet() -> None:
    # Fri 13/2/2026. Sat 14, Sun 15 off; Tết Mon 16 - Fri 20; Sat 21, Sun 22 off; then
    # 23, 24, 25, 26, 27 Feb (1-5), Mon 2, 3, 4, 5, Fri 6 March (6-10).
    assert due_date(INTAKE, date(2026, 2, 13), CALENDAR) == date(2026, 3, 6)


def test_an_ordinary_fortnight_is_two_weeks() -> None:
    # Mon 5/10/2026: no holiday in sight; 10 working days end on Mon 19/10.
    assert due_date(INTAKE, date(2026, 10, 5), CALENDAR) == date(2026, 10, 19)


def test_received_on_a_saturday_counts_from_the_monday() -> None:
    # Sat 10/10/2026: Mon 12 is the first working day counted; the tenth is Fri 23/10.
    assert due_date(INTAKE, date(2026, 10, 10), CALENDAR) == date(2026, 10, 23)


def test_the_working_saturday_counts_and_the_swapped_monday_does_not() -> None:
    # Fri 14/8/2026: Mon 17 - Fri 21 (1-5), Sat 22 worked (6), Mon 24 - Thu 27 (7-10).
    assert due_date(INTAKE, date(2026, 8, 14), CALENDAR) == date(2026, 8, 27)
    # Thu 27/8: Fri 28 (1); Mon 31, Tue 1, Wed 2 off; Thu 3, Fri 4 (2, 3); 7-11 (4-8);
    # Mon 14, Tue 15 (9, 10).
    assert due_date(INTAKE, date(2026, 8, 27), CALENDAR) == date(2026, 9, 15)
    assert not CALENDAR.is_working(date(2026, 8, 31))
    assert CALENDAR.is_working(date(2026, 8, 22))
    assert not CALENDAR.is_working(date(2026, 8, 29))  # an ordinary Saturday


def test_thirty_calendar_days_ending_in_tet_end_on_the_first_working_day_after() -> None:
    # A complaint accepted Thu 7/1/2027: 30 days end Sat 6/2 (mùng 1 Tết); Tết runs to Wed 10/2,
    # so the period ends Thu 11/2/2027.
    assert due_date(COMPLAINT, date(2027, 1, 7), CALENDAR) == date(2027, 2, 11)


def test_a_complex_complaint_gets_its_fortyfive_days_by_one_extension_and_no_more() -> None:
    # 45 days from Thu 7/1/2027: Sun 21/2, so Mon 22/2.
    assert due_date(COMPLAINT, date(2027, 1, 7), CALENDAR, extensions=1) == date(2027, 2, 22)
    with pytest.raises(Conflict) as raised:
        due_date(COMPLAINT, date(2027, 1, 7), CALENDAR, extensions=2)
    assert "extensions" in raised.value.fields


def test_a_denunciation_is_extended_at_most_twice_by_thirty_days() -> None:
    accepted = date(2026, 8, 3)  # a Monday
    # 30 days: Wed 2/9, Quốc khánh (and 1/9 too): Thu 3/9.
    assert due_date(DENUNCIATION, accepted, CALENDAR) == date(2026, 9, 3)
    # 60 days: Fri 2/10, a working day.
    assert due_date(DENUNCIATION, accepted, CALENDAR, extensions=1) == date(2026, 10, 2)
    # 90 days: Sun 1/11: Mon 2/11.
    assert due_date(DENUNCIATION, accepted, CALENDAR, extensions=2) == date(2026, 11, 2)
    with pytest.raises(Conflict):
        due_date(DENUNCIATION, accepted, CALENDAR, extensions=3)


def test_a_remote_office_overrides_the_complaint_days_to_fortyfive_and_sixty() -> None:
    remote = effective_rule(
        RuleKey.COMPLAINT_RESOLUTION, Override(RuleKey.COMPLAINT_RESOLUTION, days=45)
    )
    assert (remote.days, remote.extension_days, remote.count) == (45, 15, COMPLAINT.count)
    assert due_date(remote, date(2027, 1, 7), CALENDAR) == date(2027, 2, 22)
    # 60 days from 7/1/2027: Mon 8/3.
    assert due_date(remote, date(2027, 1, 7), CALENDAR, extensions=1) == date(2027, 3, 8)


def test_an_override_of_intake_counts_its_own_working_days() -> None:
    five = effective_rule(RuleKey.INTAKE, Override(RuleKey.INTAKE, days=5))
    # Fri 13/2/2026, five working days: 23, 24, 25, 26, Fri 27 Feb.
    assert due_date(five, date(2026, 2, 13), CALENDAR) == date(2026, 2, 27)
    longer = effective_rule(
        RuleKey.DENUNCIATION_RESOLUTION,
        Override(RuleKey.DENUNCIATION_RESOLUTION, days=20, extension_days=10),
    )
    # 20 + 10 + 10 days from Mon 3/8/2026: Sat 12/9, so Mon 14/9.
    assert due_date(longer, date(2026, 8, 3), CALENDAR, extensions=2) == date(2026, 9, 14)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        (lambda: Override(RuleKey.INTAKE, days=0), "days"),
        (lambda: Override(RuleKey.INTAKE, days=400), "days"),
        (lambda: Override(RuleKey.INTAKE, days=10, extension_days=-1), "extension_days"),
    ],
)
def test_an_override_out_of_bounds_names_its_field(override: object, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        override()  # type: ignore[operator]
    assert field in raised.value.fields


def test_which_rule_runs_follows_type_and_stage() -> None:
    received, accepted = PetitionStatus.RECEIVED, PetitionStatus.ACCEPTED
    for kind in PetitionType:
        assert rule_for(kind, received) is RuleKey.INTAKE
    assert rule_for(PetitionType.COMPLAINT, accepted) is RuleKey.COMPLAINT_RESOLUTION
    assert rule_for(PetitionType.MIXED, accepted) is RuleKey.COMPLAINT_RESOLUTION
    assert rule_for(PetitionType.DENUNCIATION, accepted) is RuleKey.DENUNCIATION_RESOLUTION
    assert rule_for(PetitionType.RECOMMENDATION, accepted) is None
    assert rule_for(PetitionType.FEEDBACK, accepted) is None
    for done in ("transferred", "returned", "filed", "suspended", "resolved"):
        assert rule_for(PetitionType.COMPLAINT, done) is None


def test_a_working_day_in_exchange_must_be_a_weekend_day() -> None:
    with pytest.raises(ValidationFailed) as raised:
        CalendarDay(date(2026, 8, 21), CalendarDayKind.WORKDAY, "thứ Sáu")
    assert "kind" in raised.value.fields


def test_the_alert_window_reaches_the_next_working_day() -> None:
    # Thursday 8/10/2026: Friday's deadlines. Friday 24/4/2026: up to Tuesday 28/4, the next
    # working day (Mon 27 is Giỗ Tổ's day off in lieu), weekend deadlines included.
    assert alert_window(date(2026, 10, 8), CALENDAR) == (date(2026, 10, 8), date(2026, 10, 9))
    assert alert_window(date(2026, 4, 24), CALENDAR) == (date(2026, 4, 24), date(2026, 4, 28))
    # Wed 29/4/2026: 30/4 and 1/5 off, then the weekend: Mon 4/5.
    assert alert_window(date(2026, 4, 29), CALENDAR) == (date(2026, 4, 29), date(2026, 5, 4))


def test_the_views_take_past_deadlines_and_the_next_seven_days() -> None:
    today = date(2026, 10, 7)
    assert due_range(Due.OVERDUE, today) == (None, date(2026, 10, 6))
    assert due_range(Due.WEEK, today) == (date(2026, 10, 7), date(2026, 10, 13))

"""Periodic receptions: RRULEs expanded into dated hearings."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, date, datetime, timedelta

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.recurrence import DEFAULT_HORIZON, MAX_OCCURRENCES, expand
from tests.hub.client import VN

FIRST = datetime(2026, 12, 15, 8, 0, tzinfo=VN)


def test_the_15th_of_every_month_gives_the_15ths_at_the_same_local_time() -> None:
    starts = expand("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6", FIRST)
    assert [s.date() for s in starts] == [
        date(2026, 12, 15),
        date(2027, 1, 15),
        date(2027, 2, 15),
        date(2027, 3, 15),
        date(2027, 4, 15),
        date(2027, 5, 15),
    ]
    assert {(s.hour, s.minute, s.utcoffset()) for s in starts} == {(8, 0, timedelta(hours=7))}


def test_a_first_start_off_the_rule_begins_at_the_next_match() -> None:
    starts = expand("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=2", datetime(2026, 12, 16, 8, tzinfo=VN))
    assert [s.date() for s in starts] == [date(2027, 1, 15), date(2027, 2, 15)]


def test_an_rrule_prefix_is_accepted() -> None:
    assert len(expand("RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=3", FIRST)) == 3


def test_count_bounds_the_series() -> None:
    assert len(expand("FREQ=WEEKLY;COUNT=4", FIRST)) == 4


def test_until_bounds_the_series_inclusively() -> None:
    until = "20270415T010000Z"  # 08:00 in Hà Nội on 15 April 2027
    starts = expand(f"FREQ=MONTHLY;BYMONTHDAY=15;UNTIL={until}", FIRST)
    assert starts[-1] == datetime(2027, 4, 15, 1, 0, tzinfo=UTC)
    assert len(starts) == 5


def test_an_open_ended_rule_stops_at_the_horizon() -> None:
    starts = expand("FREQ=MONTHLY;BYMONTHDAY=15", FIRST)
    assert starts[0] == FIRST
    assert starts[-1] <= FIRST + DEFAULT_HORIZON
    assert len(starts) == 13  # 15 Dec 2026 .. 15 Dec 2027


def test_no_series_is_longer_than_the_cap_even_with_a_larger_count() -> None:
    assert len(expand("FREQ=DAILY", FIRST)) == MAX_OCCURRENCES
    assert len(expand("FREQ=DAILY;COUNT=500", FIRST)) == MAX_OCCURRENCES


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("", "one RRULE line"),
        ("BYMONTHDAY=15", "FREQ is required"),
        ("FREQ=HOURLY", "daily at most"),
        ("FREQ=MINUTELY;COUNT=3", "daily at most"),
        ("FREQ=SECONDLY", "daily at most"),
        ("FREQ=FORTNIGHTLY", "not a valid RRULE"),
        ("FREQ=MONTHLY;BYMONTHDAY=15\nFREQ=DAILY", "one RRULE line"),
        ("FREQ=MONTHLY;COUNT=abc", "not a valid RRULE"),
        ("FREQ=MONTHLY;WKST=ZZ", "not a valid RRULE"),
        ("FREQ=MONTHLY;BYDAY=ZZ", "not a valid RRULE"),
        ("FREQ=MONTHLY;BYHOUR=25", "not a valid RRULE"),
        ("FREQ=MONTHLY;UNTIL=20270101", "not a valid RRULE"),  # naive UNTIL, aware start
        ("FREQ=MONTHLY;UNTIL=20200101T000000Z", "no date on or after"),
        ("FREQ=MONTHLY;COUNT=0", "no date"),
        ("FREQ=MONTHLY;" + "BYMONTHDAY=15;" * 60, "one RRULE line"),
    ],
)
def test_bad_rules_are_refused_naming_the_recurrence_field(rule: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        expand(rule, FIRST)
    assert set(caught.value.fields) == {"recurrence"}
    assert says in caught.value.fields["recurrence"]


def test_a_zero_interval_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        expand("FREQ=MONTHLY;INTERVAL=0", FIRST)
    assert "recurrence" in caught.value.fields


def _expand_or_exit(rule: str) -> None:
    try:
        expand(rule, FIRST)
    except ValidationFailed as exc:
        os._exit(0 if "recurrence" in exc.fields else 2)
    os._exit(1)


def test_a_rule_that_never_matches_is_refused_promptly() -> None:
    # In a child process, so the runaway search can be stopped after the second allowed.
    child = multiprocessing.get_context("fork").Process(
        target=_expand_or_exit, args=("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",)
    )
    child.start()
    child.join(timeout=1)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("expanding the rule took more than 1 s")
    assert child.exitcode == 0, "the rule was not refused naming recurrence"

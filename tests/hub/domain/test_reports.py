"""Reporting periods: what a month, a quarter and a year take, in Vietnam's time, and the
period strings refused with the field named."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.reports import FINAL_OUTCOMES, Period, PeriodKind


@pytest.mark.parametrize(
    ("text", "kind", "first", "last", "months"),
    [
        ("2026-11", PeriodKind.MONTH, date(2026, 11, 1), date(2026, 11, 30), 1),
        ("2028-02", PeriodKind.MONTH, date(2028, 2, 1), date(2028, 2, 29), 1),
        ("2026-12", PeriodKind.MONTH, date(2026, 12, 1), date(2026, 12, 31), 1),
        ("2026-Q1", PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31), 3),
        ("2026-q3", PeriodKind.QUARTER, date(2026, 7, 1), date(2026, 9, 30), 3),
        ("2026-Q4", PeriodKind.QUARTER, date(2026, 10, 1), date(2026, 12, 31), 3),
        ("2026", PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31), 12),
    ],
)
def test_a_period_takes_its_whole_months(
    text: str, kind: PeriodKind, first: date, last: date, months: int
) -> None:
    period = Period.parse(text)
    assert period.kind is kind
    assert (period.first_day, period.last_day) == (first, last)
    assert period.next_day == last + timedelta(days=1)
    assert len(period.month_starts()) == months
    assert period.month_starts()[0] == first and period.month_starts()[-1].day == 1
    assert str(Period.parse(str(period))) == str(period)
    # Midnight in Vietnam, which is 17:00 UTC the day before.
    assert period.start.isoformat() == f"{first.isoformat()}T00:00:00+07:00"
    assert period.start.utcoffset() == timedelta(hours=7)
    assert period.end - period.start == timedelta(days=(last - first).days + 1)


def test_each_period_is_named_as_documents_name_it() -> None:
    assert Period.parse("2026-Q4").label() == (
        "rp.label.quarter",
        {"quarter": "IV", "year": "2026"},
    )
    assert Period.parse("2026-03").label() == ("rp.label.month", {"month": "03", "year": "2026"})
    assert Period.parse("2026").label() == ("rp.label.year", {"year": "2026"})


def test_the_canonical_spelling() -> None:
    assert str(Period.parse(" 2026-q4 ")) == "2026-Q4"
    assert str(Period.parse("2026-07")) == "2026-07"
    assert Period.parse("2026-Q4").start < datetime.fromisoformat("2026-10-01T00:00:01+07:00")


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "26-Q4", "2026-1", "2026-W48",
             "Q4-2026", "2026/11", "1999", "2101-01", "２０２６"],
)  # fmt: skip
def test_anything_else_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Period.parse(text)
    assert set(caught.value.fields) == {"period"}
    assert "2026-Q4" in caught.value.fields["period"]


def test_final_outcomes_are_the_states_nothing_leaves() -> None:
    from hub.domain.petitions import PetitionStatus, allowed_next

    assert {s for s in PetitionStatus if not allowed_next(s)} == FINAL_OUTCOMES

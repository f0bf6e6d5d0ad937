"""Alert drafts and the degraded-for-long-enough rule."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain.alerts import MAX_DETAIL_BYTES, AlertDraft, AlertKind, DegradedWatch, Verdict
from hub.domain.errors import ValidationFailed
from hub.domain.link_grade import Grade


def test_an_alert_is_unique_by_kind_office_and_hearing() -> None:
    a = AlertDraft(AlertKind.SITE_OFFLINE, 5)
    assert a.open_key == "site_offline:5:0"
    assert AlertDraft(AlertKind.SITE_OFFLINE, 5, 9).open_key == "site_offline:5:9"
    assert AlertDraft(AlertKind.SITE_DEGRADED, 5, 9, {"grade": "bad"}).open_key == (
        "site_degraded:5:9"
    )


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kind": "site_on_fire", "office_id": 1}, "kind"),
        ({"kind": "site_offline", "office_id": 0}, "office_id"),
        ({"kind": "site_offline", "office_id": True}, "office_id"),
        ({"kind": "site_offline", "office_id": 1, "hearing_id": -3}, "hearing_id"),
        ({"kind": "site_not_connected_at_start", "office_id": 1}, "hearing_id"),
        ({"kind": "site_offline", "office_id": 1, "detail": {"x": float("nan")}}, "detail"),
        ({"kind": "site_offline", "office_id": 1, "detail": {"x": object()}}, "detail"),
        ({"kind": "site_offline", "office_id": 1, "detail": ["a"]}, "detail"),
        (
            {"kind": "site_offline", "office_id": 1, "detail": {"x": "y" * MAX_DETAIL_BYTES}},
            "detail",
        ),
    ],
)
def test_a_bad_alert_is_refused_naming_the_field(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        AlertDraft(**fields)
    assert named in caught.value.fields


def test_degraded_opens_after_the_delay_and_closes_on_the_first_good_grade() -> None:
    watch = DegradedWatch(after=30)
    assert watch.grade(1, Grade.GOOD, 0) is Verdict.NONE
    assert watch.grade(1, Grade.POOR, 10) is Verdict.NONE
    assert watch.since(1) == 10
    assert watch.grade(1, Grade.BAD, 25) is Verdict.NONE
    assert watch.grade(1, Grade.POOR, 40) is Verdict.OPEN
    assert watch.worst(1) is Grade.BAD
    assert watch.grade(1, Grade.POOR, 50) is Verdict.NONE  # opened once
    assert watch.grade(1, Grade.UNKNOWN, 55) is Verdict.NONE  # no figures: no change
    assert watch.grade(1, Grade.GOOD, 60) is Verdict.CLOSE
    assert watch.since(1) is None
    assert watch.grade(1, Grade.GOOD, 61) is Verdict.NONE


def test_a_good_grade_in_between_starts_the_spell_again() -> None:
    watch = DegradedWatch(after=30)
    watch.grade(1, Grade.POOR, 0)
    assert watch.grade(1, Grade.GOOD, 20) is Verdict.NONE  # never opened: nothing to close
    assert watch.grade(1, Grade.POOR, 25) is Verdict.NONE
    assert watch.grade(1, Grade.POOR, 50) is Verdict.NONE
    assert watch.grade(1, Grade.POOR, 55) is Verdict.OPEN


def test_offices_and_hearings_are_watched_apart_and_forgotten_on_leaving() -> None:
    watch = DegradedWatch(after=5)
    watch.grade(1, Grade.BAD, 0, hearing_id=7)
    watch.grade(2, Grade.BAD, 3, hearing_id=7)
    assert watch.grade(1, Grade.BAD, 5, hearing_id=7) is Verdict.OPEN
    assert watch.grade(2, Grade.BAD, 5, hearing_id=7) is Verdict.NONE
    assert watch.grade(1, Grade.BAD, 6) is Verdict.NONE  # outside the hearing: its own spell
    assert watch.forget(1, 7) is True
    assert watch.forget(2, 7) is False
    assert watch.since(1, 7) is None


def test_the_delay_must_be_positive() -> None:
    with pytest.raises(ValidationFailed):
        DegradedWatch(after=0)

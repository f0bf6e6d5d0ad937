"""Hearing drafts and the hearing status workflow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.hearings import (
    MAX_SITES,
    HearingDraft,
    HearingKind,
    HearingStatus,
    check_transition,
)
from tests.hub.client import VN

START = datetime(2026, 12, 15, 8, 0, tzinfo=VN)


def draft(**changes: Any) -> HearingDraft:
    fields: dict[str, Any] = {
        "title": "Tiếp công dân định kỳ tháng 12",
        "kind": HearingKind.PERIODIC,
        "host_office_id": 1,
        "site_office_ids": (2, 5, 10),
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
    }
    fields.update(changes)
    return HearingDraft(**fields)


def refused(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        draft(**changes)
    assert caught.value.status == 422
    return caught.value.fields


def test_a_valid_periodic_hearing_with_three_sites_is_accepted() -> None:
    hearing = draft(recurrence="FREQ=MONTHLY;BYMONTHDAY=15", chair_user_id=2)
    assert hearing.site_office_ids == (2, 5, 10)
    assert hearing.recurrence == "FREQ=MONTHLY;BYMONTHDAY=15"


@pytest.mark.parametrize("name", ["starts_at", "ends_at"])
def test_times_without_a_utc_offset_are_refused(name: str) -> None:
    naive = {"starts_at": START, "ends_at": START + timedelta(hours=2)}[name].replace(tzinfo=None)
    fields = refused(**{name: naive})
    assert "offset" in fields[name]


@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1)])
def test_end_must_come_after_start(length: timedelta) -> None:
    assert refused(ends_at=START + length)["ends_at"] == "must be after starts_at"


def test_a_hearing_lasts_at_most_twelve_hours() -> None:
    draft(ends_at=START + timedelta(hours=12))
    fields = refused(ends_at=START + timedelta(hours=12, seconds=1))
    assert "12 hours" in fields["ends_at"]


def test_offsets_are_compared_as_instants() -> None:
    # 08:00 in Hà Nội is 01:00 UTC: an end at 02:00Z is one hour later, not six hours earlier.
    from datetime import UTC

    draft(ends_at=datetime(2026, 12, 15, 2, 0, tzinfo=UTC))
    assert "ends_at" in refused(ends_at=datetime(2026, 12, 15, 0, 30, tzinfo=UTC))


def test_a_site_listed_twice_is_refused() -> None:
    assert refused(site_office_ids=(2, 5, 2))["site_office_ids"] == "lists an office twice"


def test_the_host_is_not_also_a_site() -> None:
    assert "host" in refused(site_office_ids=(1, 2))["site_office_ids"]


def test_there_is_a_ceiling_on_sites() -> None:
    draft(site_office_ids=tuple(range(2, 2 + MAX_SITES)))
    assert "at most" in refused(site_office_ids=tuple(range(2, 3 + MAX_SITES)))["site_office_ids"]


@pytest.mark.parametrize("kind", [HearingKind.ADHOC, HearingKind.REGULAR])
def test_only_periodic_hearings_recur(kind: HearingKind) -> None:
    draft(kind=kind)  # fine without a rule
    fields = refused(kind=kind, recurrence="FREQ=MONTHLY;BYMONTHDAY=15")
    assert fields["recurrence"] == "only periodic hearings recur"


@pytest.mark.parametrize("title", ["", "   ", "x" * 301])
def test_title_is_required_and_bounded(title: str) -> None:
    assert "title" in refused(title=title)


def test_problems_in_several_fields_are_reported_together() -> None:
    fields = refused(title="", site_office_ids=(2, 2), recurrence="x", kind=HearingKind.ADHOC)
    assert set(fields) == {"title", "site_office_ids", "recurrence"}


# --- status workflow -------------------------------------------------------------------------

S = HearingStatus
ALLOWED = {(S.SCHEDULED, S.LIVE), (S.SCHEDULED, S.CANCELLED), (S.LIVE, S.ENDED)}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_status_moves_scheduled_live_ended_or_cancelled_before_start(
    current: HearingStatus, target: HearingStatus
) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
        return
    with pytest.raises(Conflict) as caught:
        check_transition(current, target)
    assert caught.value.status == 409
    # The message names both states, so staff know why the button did nothing.
    assert f"is {current} cannot become {target}" in caught.value.message
    assert caught.value.fields["status"] == f"{current} -> {target} is not allowed"


def test_a_live_hearing_cannot_be_cancelled_and_says_what_is_allowed() -> None:
    with pytest.raises(Conflict) as caught:
        check_transition(S.LIVE, S.CANCELLED)
    assert caught.value.message.endswith("allowed: ended")


def test_final_states_say_so() -> None:
    for final in (S.ENDED, S.CANCELLED):
        with pytest.raises(Conflict) as caught:
            check_transition(final, S.LIVE)
        assert "none (final state)" in caught.value.message

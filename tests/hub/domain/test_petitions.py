"""Petitions: crowd rules, the handling workflow, drafts, and folding for search."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.petitions import (
    DRAFT_FIELDS,
    EDITABLE_FIELDS,
    PetitionDraft,
    PetitionStatus,
    PetitionType,
    Source,
    allowed_next,
    check_transition,
    fold,
    max_representatives,
)

RECEIVED = date(2026, 11, 2)


def draft(**changes: Any) -> PetitionDraft:
    fields: dict[str, Any] = {
        "type": PetitionType.COMPLAINT,
        "office_id": 2,
        "petitioner_name": "Nguyễn Văn An",
        "content": "Khiếu nại quyết định thu hồi đất.",
        "received_on": RECEIVED,
    }
    fields.update(changes)
    return PetitionDraft(**fields)


def refused(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        draft(**changes)
    return caught.value.fields


# --- crowd cases (đông người) ------------------------------------------------------------------


@pytest.mark.parametrize(("people", "most"), [(5, 2), (6, 2), (10, 2), (11, 5), (12, 5), (300, 5)])
def test_crowds_of_5_to_10_pick_2_representatives_and_of_11_or_more_pick_5(
    people: int, most: int
) -> None:
    assert max_representatives(people) == most
    reps = tuple(f"Người đại diện {i}" for i in range(most))
    draft(crowd=True, people_count=people, representatives=reps)
    fields = refused(crowd=True, people_count=people, representatives=(*reps, "Thêm một người"))
    assert fields["representatives"] == (f"{people} people choose at most {most} representatives")


@pytest.mark.parametrize("people", [1, 4])
def test_a_crowd_flag_needs_at_least_five_people(people: int) -> None:
    fields = refused(crowd=True, people_count=people)
    assert "at least 5 people" in fields["people_count"]


@pytest.mark.parametrize("people", [5, 11])
def test_five_or_more_people_without_the_crowd_flag_is_refused(people: int) -> None:
    assert "set crowd to true" in refused(crowd=False, people_count=people)["crowd"]


def test_a_small_group_may_all_be_named() -> None:
    draft(people_count=3, representatives=("A", "B", "C"))
    assert "representatives" in refused(people_count=3, representatives=("A", "B", "C", "D"))


@pytest.mark.parametrize("people", [0, -1, 100001])
def test_people_count_is_bounded(people: int) -> None:
    assert "between 1 and 100000" in refused(people_count=people)["people_count"]


# --- other fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"petitioner_name": ""}, "petitioner_name"),
        ({"petitioner_name": "   "}, "petitioner_name"),
        ({"petitioner_name": "x" * 201}, "petitioner_name"),
        ({"content": "  "}, "content"),
        ({"content": "x" * 20001}, "content"),
        ({"petitioner_address": "x" * 501}, "petitioner_address"),
        ({"petitioner_id_number": "0331-8000"}, "petitioner_id_number"),
        ({"petitioner_id_number": "1" * 21}, "petitioner_id_number"),
        ({"handling_deadline": RECEIVED - timedelta(days=1)}, "handling_deadline"),
        ({"subject_field": "x" * 301}, "subject_field"),
        ({"respondent": "x" * 301}, "respondent"),
        ({"competent_body": "x" * 301}, "competent_body"),
        ({"national_code": ""}, "national_code"),
        ({"national_code": "x" * 65}, "national_code"),
    ],
)
def test_bad_fields_are_refused_by_name(changes: dict[str, Any], field: str) -> None:
    assert field in refused(**changes)


def test_a_deadline_on_the_day_received_is_fine() -> None:
    draft(handling_deadline=RECEIVED, national_code="KNTC-2026-0001")


# --- workflow ------------------------------------------------------------------------------------

P = PetitionStatus
ALLOWED = {
    (P.RECEIVED, P.ACCEPTED),
    (P.RECEIVED, P.TRANSFERRED),
    (P.RECEIVED, P.RETURNED),
    (P.RECEIVED, P.FILED),
    (P.ACCEPTED, P.RESOLVED),
    (P.ACCEPTED, P.SUSPENDED),
    (P.SUSPENDED, P.ACCEPTED),
}


@pytest.mark.parametrize("current", list(P))
@pytest.mark.parametrize("target", list(P))
def test_the_handling_workflow(current: PetitionStatus, target: PetitionStatus) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
        return
    with pytest.raises(Conflict) as caught:
        check_transition(current, target)
    assert f"a petition that is {current} cannot become {target}" in caught.value.message
    assert caught.value.fields == {"status": f"{current} -> {target} is not allowed"}


def test_the_refusal_lists_what_is_allowed_next() -> None:
    with pytest.raises(Conflict) as caught:
        check_transition(P.RECEIVED, P.RESOLVED)
    assert caught.value.message.endswith("allowed: accepted, filed, returned, transferred")
    assert allowed_next(P.ACCEPTED) == [P.RESOLVED, P.SUSPENDED]
    assert allowed_next(P.RESOLVED) == []


def test_a_suspended_case_resumes_and_is_then_resolved() -> None:
    path = [P.RECEIVED, P.ACCEPTED, P.SUSPENDED, P.ACCEPTED, P.RESOLVED]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)


# --- folding for search --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Nguyễn Văn Đức", "nguyen van duc"),
        ("ĐÀ NẴNG", "da nang"),
        ("đất đai", "dat dai"),
        ("Hưng Yên", "hung yen"),
        ("Bắc Giang", "bac giang"),
        ("Phường Lê Chân, Hải Phòng", "phuong le chan, hai phong"),
        ("Khiếu nại, tố cáo", "khieu nai, to cao"),
        ("HY-2026-000001", "hy-2026-000001"),
    ],
)
def test_fold_drops_vietnamese_diacritics_including_d_with_stroke(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_treats_composed_and_decomposed_input_alike() -> None:
    import unicodedata

    word = "Nguyễn Thị Hường"
    assert fold(unicodedata.normalize("NFD", word)) == fold(word) == "nguyen thi huong"


# --- the one declaration of a petition's fields ------------------------------------------------


def test_a_draft_survives_its_record_and_back() -> None:
    original = draft(
        crowd=True,
        people_count=12,
        representatives=("Trần Văn Bình", "Lê Thị Cúc"),
        source=Source.POST,
        handling_deadline=RECEIVED + timedelta(days=30),
        national_code="QG-1",
    )
    record = original.record()
    assert set(record) == set(DRAFT_FIELDS)
    # Stored as plain values: enum values, a list of representatives.
    assert record["type"] == "complaint" and type(record["type"]) is str
    assert record["representatives"] == ["Trần Văn Bình", "Lê Thị Cúc"]
    assert PetitionDraft.from_fields(record) == original


def test_the_record_trims_the_name_and_address_and_the_checks_still_run() -> None:
    record = draft(petitioner_name="  Nguyễn Văn An ", petitioner_address=" Thôn 1 ").record()
    assert (record["petitioner_name"], record["petitioner_address"]) == ("Nguyễn Văn An", "Thôn 1")
    with pytest.raises(ValidationFailed) as caught:
        PetitionDraft.from_fields({**record, "people_count": 7})  # 7 people is a crowd case
    assert set(caught.value.fields) == {"crowd"}


def test_every_draft_field_is_a_column_of_the_petitions_table() -> None:
    from hub.storage.tables import PetitionRow

    columns = set(PetitionRow.__table__.columns.keys())
    assert set(DRAFT_FIELDS) <= columns
    assert set(EDITABLE_FIELDS) == set(DRAFT_FIELDS) - {"office_id", "received_on"}

"""The wire formats follow the domain's one declaration of a petition's fields."""

from __future__ import annotations

from hub.api.schemas import PetitionBody, PetitionPatch
from hub.domain.petitions import DRAFT_FIELDS, EDITABLE_FIELDS


def test_a_petition_body_carries_exactly_the_drafts_fields() -> None:
    assert set(PetitionBody.model_fields) == set(DRAFT_FIELDS)


def test_a_petition_patch_edits_exactly_the_editable_fields_and_the_status() -> None:
    # status_on: the day of the status change (an acceptance's deadline counts from it).
    assert set(PetitionPatch.model_fields) == set(EDITABLE_FIELDS) | {
        "status",
        "status_note",
        "status_on",
    }

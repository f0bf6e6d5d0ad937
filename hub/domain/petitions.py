"""Petitions (đơn thư): types, crowd rules, the handling workflow."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from hub.domain.errors import Conflict, ValidationFailed


class PetitionType(enum.StrEnum):
    """Khiếu nại, tố cáo, kiến nghị, phản ánh, or several at once."""

    COMPLAINT = "complaint"
    DENUNCIATION = "denunciation"
    RECOMMENDATION = "recommendation"
    FEEDBACK = "feedback"
    MIXED = "mixed"


class PetitionStatus(enum.StrEnum):
    """Handling state: received, then accepted (thụ lý), transferred (chuyển đơn), returned
    with guidance (trả lại và hướng dẫn) or filed (lưu đơn); accepted cases are resolved or
    suspended (tạm đình chỉ) and resumed."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    TRANSFERRED = "transferred"
    RETURNED = "returned"
    FILED = "filed"
    SUSPENDED = "suspended"
    RESOLVED = "resolved"


_TRANSITIONS: dict[PetitionStatus, frozenset[PetitionStatus]] = {
    PetitionStatus.RECEIVED: frozenset(
        {
            PetitionStatus.ACCEPTED,
            PetitionStatus.TRANSFERRED,
            PetitionStatus.RETURNED,
            PetitionStatus.FILED,
        }
    ),
    PetitionStatus.ACCEPTED: frozenset({PetitionStatus.RESOLVED, PetitionStatus.SUSPENDED}),
    PetitionStatus.SUSPENDED: frozenset({PetitionStatus.ACCEPTED}),
    PetitionStatus.TRANSFERRED: frozenset(),
    PetitionStatus.RETURNED: frozenset(),
    PetitionStatus.FILED: frozenset(),
    PetitionStatus.RESOLVED: frozenset(),
}


class Source(enum.StrEnum):
    """How the petition reached the office."""

    IN_PERSON = "in_person"
    POST = "post"
    TRANSFERRED = "transferred"
    NATIONAL_ASSEMBLY = "national_assembly"
    FATHERLAND_FRONT = "fatherland_front"
    ONLINE = "online"
    OTHER = "other"


def check_transition(current: PetitionStatus, target: PetitionStatus) -> None:
    """Raise Conflict naming both states when the petition cannot move to `target`."""
    if target not in _TRANSITIONS[current]:
        allowed = ", ".join(sorted(_TRANSITIONS[current])) or "none (final state)"
        raise Conflict(
            f"a petition that is {current} cannot become {target}; allowed: {allowed}",
            {"status": f"{current} -> {target} is not allowed"},
        )


def allowed_next(current: PetitionStatus) -> list[PetitionStatus]:
    """The states a petition may move to next, for forms and error messages."""
    return sorted(_TRANSITIONS[current])


def max_representatives(people_count: int) -> int:
    """Crowd cases choose representatives: 5-10 people at most 2, 11 or more at most 5."""
    if people_count >= 11:
        return 5
    if people_count >= 5:
        return 2
    return people_count


def fold(text: str) -> str:
    """Lowercase without diacritics ('Nguyễn Văn Đức' -> 'nguyen van duc'), for search."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@dataclass(frozen=True)
class PetitionDraft:
    """A received petition, checked on construction."""

    type: PetitionType
    office_id: int
    petitioner_name: str
    content: str
    received_on: date
    source: Source = Source.IN_PERSON
    petitioner_address: str = ""
    petitioner_id_number: str = ""
    crowd: bool = False
    people_count: int = 1
    representatives: tuple[str, ...] = ()
    subject_field: str = ""
    respondent: str = ""
    request: str = ""
    competent_body: str = ""
    handling_deadline: date | None = None
    national_code: str | None = None

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> PetitionDraft:
        """A draft from its fields by name (a request body, a stored record merged with an
        edit): enums from their values, representatives from any sequence; other keys ignored."""
        given = {name: values[name] for name in DRAFT_FIELDS if name in values}
        if "type" in given:
            given["type"] = PetitionType(given["type"])
        if "source" in given:
            given["source"] = Source(given["source"])
        if "representatives" in given:
            given["representatives"] = tuple(given["representatives"])
        return cls(**given)

    def record(self) -> dict[str, Any]:
        """The draft's fields as a record stores them: enums as their values, representatives
        as a list, the petitioner's name and address trimmed."""
        out = {name: getattr(self, name) for name in DRAFT_FIELDS}
        out.update(
            type=str(self.type),
            source=str(self.source),
            representatives=list(self.representatives),
            petitioner_name=self.petitioner_name.strip(),
            petitioner_address=self.petitioner_address.strip(),
        )
        return out

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not self.petitioner_name.strip() or len(self.petitioner_name) > 200:
            errors["petitioner_name"] = "must be 1-200 characters"
        if not self.content.strip():
            errors["content"] = "must not be empty"
        elif len(self.content) > 20000:
            errors["content"] = "at most 20000 characters"
        if len(self.petitioner_address) > 500:
            errors["petitioner_address"] = "at most 500 characters"
        if self.petitioner_id_number and not self.petitioner_id_number.isalnum():
            errors["petitioner_id_number"] = "letters and digits only"
        elif len(self.petitioner_id_number) > 20:
            errors["petitioner_id_number"] = "at most 20 characters"
        if self.people_count < 1 or self.people_count > 100000:
            errors["people_count"] = "must be between 1 and 100000"
        elif self.crowd and self.people_count < 5:
            errors["people_count"] = "a crowd case (đông người) has at least 5 people"
        elif not self.crowd and self.people_count >= 5:
            errors["crowd"] = "5 or more people on one matter is a crowd case: set crowd to true"
        elif len(self.representatives) > max_representatives(self.people_count):
            errors["representatives"] = (
                f"{self.people_count} people choose at most "
                f"{max_representatives(self.people_count)} representatives"
            )
        if self.handling_deadline and self.handling_deadline < self.received_on:
            errors["handling_deadline"] = "must not be before received_on"
        for name in ("subject_field", "respondent", "competent_body"):
            if len(getattr(self, name)) > 300:
                errors[name] = "at most 300 characters"
        if self.national_code is not None and not (0 < len(self.national_code) <= 64):
            errors["national_code"] = "must be 1-64 characters"
        if errors:
            raise ValidationFailed("invalid petition", errors)


# The one list of a petition's own fields: request bodies, records and edits follow it.
DRAFT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PetitionDraft))
# Fixed once registered: the office that received the petition and the day it did.
FIXED_FIELDS = frozenset({"office_id", "received_on"})
EDITABLE_FIELDS: tuple[str, ...] = tuple(n for n in DRAFT_FIELDS if n not in FIXED_FIELDS)

"""The reception register (sổ tiếp công dân): one row per citizen received, as the register
form of Thông tư 04/2021/TT-TTCP lists it (date; citizen's name, address, ID number; content;
petition type and number of people; the body that already handled it; handling direction;
result follow-up; notes), with the national database's code as its stable key."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from hub.domain.errors import ValidationFailed
from hub.domain.petitions import PetitionType


class ReceptionHandling(enum.StrEnum):
    """What the reception decided for the citizen (hướng xử lý): take the petition in (tiếp
    nhận), return it with guidance to the competent body (trả lại và hướng dẫn), or transfer
    it there (chuyển đơn)."""

    ACCEPT = "accept"
    RETURN_WITH_GUIDANCE = "return_with_guidance"
    TRANSFER = "transfer"


@dataclass(frozen=True)
class ReceptionDraft:
    """A register row, checked on construction. `national_code` is given when the row comes
    from the national database; the hub makes one for a row it registers itself."""

    office_id: int
    received_on: date
    petitioner_name: str
    content: str
    type: PetitionType
    handling: ReceptionHandling
    petitioner_address: str = ""
    petitioner_id_number: str = ""
    crowd: bool = False
    people_count: int = 1
    handled_before: str = ""
    follow_up: str = ""
    notes: str = ""
    petition_id: int | None = None
    national_code: str | None = None

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> ReceptionDraft:
        """A draft from its fields by name: enums from their values; other keys ignored."""
        given = {name: values[name] for name in RECEPTION_FIELDS if name in values}
        if "type" in given:
            given["type"] = PetitionType(given["type"])
        if "handling" in given:
            given["handling"] = ReceptionHandling(given["handling"])
        return cls(**given)

    def record(self) -> dict[str, Any]:
        """The fields as the table stores them: enums as their values, names trimmed."""
        out = {name: getattr(self, name) for name in RECEPTION_FIELDS}
        out.update(
            type=str(self.type),
            handling=str(self.handling),
            petitioner_name=self.petitioner_name.strip(),
            petitioner_address=self.petitioner_address.strip(),
        )
        return out

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not self.petitioner_name.strip() or len(self.petitioner_name) > 200:
            errors["petitioner_name"] = "must be 1-200 characters"
        if len(self.petitioner_address) > 500:
            errors["petitioner_address"] = "at most 500 characters"
        if self.petitioner_id_number and not self.petitioner_id_number.isalnum():
            errors["petitioner_id_number"] = "letters and digits only"
        elif len(self.petitioner_id_number) > 20:
            errors["petitioner_id_number"] = "at most 20 characters"
        if not self.content.strip():
            errors["content"] = "must not be empty"
        elif len(self.content) > 20000:
            errors["content"] = "at most 20000 characters"
        if self.people_count < 1 or self.people_count > 100000:
            errors["people_count"] = "must be between 1 and 100000"
        elif self.crowd and self.people_count < 5:
            errors["people_count"] = "a crowd case (đông người) has at least 5 people"
        elif not self.crowd and self.people_count >= 5:
            errors["crowd"] = "5 or more people on one matter is a crowd case: set crowd to true"
        if len(self.handled_before) > 300:
            errors["handled_before"] = "at most 300 characters"
        for name in ("follow_up", "notes"):
            if len(getattr(self, name)) > 5000:
                errors[name] = "at most 5000 characters"
        if self.national_code is not None and not (0 < len(self.national_code) <= 64):
            errors["national_code"] = "must be 1-64 characters"
        if errors:
            raise ValidationFailed("invalid reception register row", errors)


RECEPTION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ReceptionDraft))


def local_national_code(office_code: str, year: int, number: int) -> str:
    """The code the hub gives a register row it registers itself, until the national
    database's own replaces it: office, 'TCD', year, a per-office-year number."""
    return f"{office_code}-TCD-{year}-{number:06d}"

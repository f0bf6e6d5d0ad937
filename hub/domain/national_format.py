"""The exchange format with the national reception database (docs/export-format.md): the
fields of a petition and of a reception register row, their types and code lists, and the
conversion of one row between its JSON or CSV form and typed values, with a reason per field
for every value that does not fit. No I/O: the services read and write the files."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.domain.petitions import PetitionStatus, PetitionType, Source
from hub.domain.reception import ReceptionHandling

FORMAT = "tcd-hub-national"
VERSION = 1


class Record(enum.StrEnum):
    """The two kinds of rows a file carries."""

    PETITION = "petition"
    RECEPTION = "reception"


# The JSON document's list of each kind.
JSON_LISTS = {Record.PETITION: "petitions", Record.RECEPTION: "reception_register"}


class FieldType(enum.StrEnum):
    """How a field is written (docs/export-format.md, "Types")."""

    STRING = "string"
    DATE = "date"
    DATETIME = "datetime"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CODE = "code"
    LIST = "list of strings"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record."""

    name: str
    type: FieldType
    description: str
    required: bool = False
    # May be null (JSON null, an empty CSV cell); otherwise an absent value is the default.
    nullable: bool = False
    codes: tuple[str, ...] = ()
    max_length: int | None = None
    # Written on export, not read on import (the importing hub keeps its own).
    export_only: bool = False


def _codes(enum_type: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(str(member) for member in enum_type)


_SHARED_PERSON = (
    FieldSpec("petitioner_name", FieldType.STRING, "the citizen's full name", True, max_length=200),
    FieldSpec("petitioner_address", FieldType.STRING, "the citizen's address", max_length=500),
    FieldSpec(
        "petitioner_id_number",
        FieldType.STRING,
        "the citizen's identity card number (letters and digits)",
        max_length=20,
    ),
)

PETITION_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "national_code",
        FieldType.STRING,
        "the national database's code of the case: the key on import; null for a case the "
        "national database has not coded yet (then case_code is the key)",
        nullable=True,
        max_length=64,
    ),
    FieldSpec(
        "case_code",
        FieldType.STRING,
        "the receiving hub's case code (office-year-number); the key when national_code is null",
        max_length=40,
    ),
    FieldSpec("office", FieldType.STRING, "code of the office that received it", True),
    FieldSpec("type", FieldType.CODE, "petition type", True, codes=_codes(PetitionType)),
    FieldSpec("status", FieldType.CODE, "handling state", True, codes=_codes(PetitionStatus)),
    FieldSpec("source", FieldType.CODE, "how it reached the office", True, codes=_codes(Source)),
    FieldSpec("received_on", FieldType.DATE, "the day it was received", True),
    FieldSpec(
        "handling_deadline", FieldType.DATE, "the handling deadline, if one runs", nullable=True
    ),
    *_SHARED_PERSON,
    FieldSpec("crowd", FieldType.BOOLEAN, "a crowd case (đông người): 5 or more people"),
    FieldSpec("people_count", FieldType.INTEGER, "number of people on the matter (1-100000)"),
    FieldSpec(
        "representatives",
        FieldType.LIST,
        "a crowd's chosen representatives (5-10 people: at most 2; 11 or more: at most 5)",
    ),
    FieldSpec("subject_field", FieldType.STRING, "subject field (land, ...)", max_length=300),
    FieldSpec(
        "respondent", FieldType.STRING, "the body or person complained about", max_length=300
    ),
    FieldSpec("content", FieldType.STRING, "the petition's content", True, max_length=20000),
    FieldSpec("request", FieldType.STRING, "what the petitioner asks"),
    FieldSpec(
        "competent_body", FieldType.STRING, "the body competent to resolve it", max_length=300
    ),
    FieldSpec(
        "updated_at", FieldType.DATETIME, "when the exporting hub last changed it", export_only=True
    ),
)

RECEPTION_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "national_code",
        FieldType.STRING,
        "the row's code: the national database's, or the hub's own (office-TCD-year-number) "
        "until it has one; the key on import",
        True,
        max_length=64,
    ),
    FieldSpec("office", FieldType.STRING, "code of the office that received the citizen", True),
    FieldSpec("received_on", FieldType.DATE, "the day the citizen was received", True),
    *_SHARED_PERSON,
    FieldSpec("content", FieldType.STRING, "what the citizen raised", True, max_length=20000),
    FieldSpec("type", FieldType.CODE, "petition type", True, codes=_codes(PetitionType)),
    FieldSpec("crowd", FieldType.BOOLEAN, "a crowd (đông người): 5 or more people"),
    FieldSpec("people_count", FieldType.INTEGER, "number of people received (1-100000)"),
    FieldSpec(
        "handled_before",
        FieldType.STRING,
        "the body that already handled the matter, if any",
        max_length=300,
    ),
    FieldSpec(
        "handling",
        FieldType.CODE,
        "the handling direction decided",
        True,
        codes=_codes(ReceptionHandling),
    ),
    FieldSpec("follow_up", FieldType.STRING, "the result followed up", max_length=5000),
    FieldSpec("notes", FieldType.STRING, "notes", max_length=5000),
    FieldSpec(
        "petition_national_code",
        FieldType.STRING,
        "the national code of the petition the citizen came about",
        nullable=True,
        max_length=64,
    ),
    FieldSpec(
        "petition_case_code",
        FieldType.STRING,
        "that petition's case code (used when it has no national code)",
        nullable=True,
        max_length=40,
    ),
    FieldSpec(
        "updated_at", FieldType.DATETIME, "when the exporting hub last changed it", export_only=True
    ),
)

FIELDS: dict[Record, tuple[FieldSpec, ...]] = {
    Record.PETITION: PETITION_FIELDS,
    Record.RECEPTION: RECEPTION_FIELDS,
}


def _union_columns() -> tuple[str, ...]:
    names: list[str] = ["record"]
    for specs in FIELDS.values():
        names.extend(s.name for s in specs if s.name not in names)
    return tuple(names)


# A CSV file's columns: the record kind, then every field of either kind (a row leaves the
# other kind's columns empty).
CSV_COLUMNS: tuple[str, ...] = _union_columns()

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Refused(Exception):
    """One value does not fit its field (the reason)."""


def _parse_value(spec: FieldSpec, raw: Any, from_csv: bool) -> Any:
    """A typed value from one raw JSON value or CSV cell; _Refused with the reason."""
    if from_csv and raw == "" and spec.type is not FieldType.STRING:
        raw = None
    if from_csv and raw == "" and spec.nullable:
        raw = None
    if raw is None:
        if spec.required:
            raise _Refused("missing")
        if spec.nullable:
            return None
        return _DEFAULTS[spec.type]
    if spec.type in (FieldType.STRING, FieldType.CODE):
        if not isinstance(raw, str):
            raise _Refused("must be a string")
        if "\x00" in raw:
            # No field has a use for one, and PostgreSQL cannot store it.
            raise _Refused("contains a NUL character")
        if spec.required and not raw.strip():
            raise _Refused("missing")
        if spec.max_length is not None and len(raw) > spec.max_length:
            raise _Refused(f"at most {spec.max_length} characters")
        if spec.codes and raw not in spec.codes:
            raise _Refused(f"'{raw}' is not one of: {', '.join(spec.codes)}")
        return raw
    if spec.type is FieldType.DATE:
        if not isinstance(raw, str) or not _DATE.match(raw):
            raise _Refused(f"'{raw}' is not a date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise _Refused(f"'{raw}' is not a date (YYYY-MM-DD)") from None
    if spec.type is FieldType.INTEGER:
        if from_csv:
            if not isinstance(raw, str) or not re.fullmatch(r"-?\d{1,9}", raw):
                raise _Refused(f"'{raw}' is not a whole number")
            return int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _Refused("must be a whole number")
        return raw
    if spec.type is FieldType.BOOLEAN:
        if from_csv:
            if raw not in ("true", "false"):
                raise _Refused(f"'{raw}' is not true or false")
            return raw == "true"
        if not isinstance(raw, bool):
            raise _Refused("must be true or false")
        return raw
    if spec.type is FieldType.LIST:
        if from_csv:
            try:
                raw = json.loads(raw)
            except ValueError:
                raise _Refused("must be a JSON array of strings") from None
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise _Refused("must be a list of strings")
        if any("\x00" in v for v in raw):
            raise _Refused("contains a NUL character")
        return list(raw)
    # DATETIME is export_only and never parsed.
    return raw


_DEFAULTS: dict[FieldType, Any] = {
    FieldType.STRING: "",
    FieldType.CODE: "",
    FieldType.INTEGER: None,
    FieldType.BOOLEAN: False,
    FieldType.LIST: [],
    FieldType.DATE: None,
    FieldType.DATETIME: None,
}


def parse_row(
    record: Record, raw: Mapping[str, Any], *, from_csv: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """One row's typed values (fields absent from the row take their defaults) and a reason
    per field that does not fit; unknown fields are refused by name."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    specs = {s.name: s for s in FIELDS[record]}
    for name in raw:
        if name in specs or name == "record":
            continue
        if from_csv:
            # Another kind's column: it must be left empty.
            if raw[name] not in ("", None):
                errors[name] = f"not a field of a {record} row"
        else:
            errors[name] = "unknown field"
    for spec in specs.values():
        if spec.export_only:
            continue
        try:
            value = _parse_value(spec, raw.get(spec.name), from_csv)
        except _Refused as exc:
            errors[spec.name] = str(exc)
            continue
        if value is not None or spec.nullable:
            values[spec.name] = value
    return values, errors


def json_value(spec: FieldSpec, value: Any) -> Any:
    """A typed value as the JSON document writes it."""
    if value is None:
        return None
    if spec.type is FieldType.DATE:
        return value.isoformat()
    if spec.type is FieldType.DATETIME:
        assert isinstance(value, datetime)
        return value.isoformat()
    if spec.type is FieldType.LIST:
        return list(value)
    return value


def csv_cell(spec: FieldSpec, value: Any) -> str:
    """A typed value as a CSV cell."""
    if value is None:
        return ""
    if spec.type is FieldType.BOOLEAN:
        return "true" if value else "false"
    if spec.type is FieldType.LIST:
        return json.dumps(list(value), ensure_ascii=False)
    if spec.type in (FieldType.DATE, FieldType.DATETIME):
        return str(value.isoformat())
    return str(value)

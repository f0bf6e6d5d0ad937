"""The exchange format's fields and their documentation, and one row's parsing from JSON and
CSV with a reason per field."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from hub.domain.national_format import (
    CSV_COLUMNS,
    FIELDS,
    PETITION_FIELDS,
    RECEPTION_FIELDS,
    Record,
    csv_cell,
    json_value,
    parse_row,
)

DOC = Path(__file__).parents[3] / "docs" / "export-format.md"


def _section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_the_documentation_lists_every_field_and_every_code() -> None:
    text = DOC.read_text()
    for record, title in ((Record.PETITION, "## Petition"), (Record.RECEPTION, "## Reception")):
        table = _section(text, title)
        documented = re.findall(r"^\| `([a-z_]+)` \| ([a-z ]+) \|", table, re.MULTILINE)
        assert [(s.name, str(s.type)) for s in FIELDS[record]] == documented
    codes = _section(text, "## Code lists")
    for spec in (*PETITION_FIELDS, *RECEPTION_FIELDS):
        for code in spec.codes:
            assert f"| `{code}` |" in codes, (spec.name, code)
    header = re.search(r"^`(record, .*?)`$", text, re.MULTILINE | re.DOTALL)
    assert header is not None
    assert [c.strip() for c in header.group(1).split(",")] == list(CSV_COLUMNS)


def test_a_json_row_parses_to_typed_values_with_defaults() -> None:
    values, errors = parse_row(
        Record.PETITION,
        {
            "national_code": None,
            "case_code": "HY-2026-000001",
            "office": "HY",
            "type": "complaint",
            "status": "received",
            "source": "post",
            "received_on": "2026-11-02",
            "petitioner_name": "Lê Thị Hà",
            "content": "Nội dung",
            "crowd": True,
            "people_count": 6,
            "representatives": ["A", "B"],
        },
        from_csv=False,
    )
    assert errors == {}
    assert values["received_on"] == date(2026, 11, 2) and values["national_code"] is None
    assert values["representatives"] == ["A", "B"] and values["people_count"] == 6
    assert values["petitioner_address"] == "" and "people_count" in values
    assert "updated_at" not in values  # export only


def test_json_values_of_the_wrong_type_are_refused_by_field() -> None:
    _, errors = parse_row(
        Record.RECEPTION,
        {
            "national_code": 5,
            "office": "HY",
            "received_on": "2026-1-2",
            "petitioner_name": "",
            "content": "x",
            "type": "feedback",
            "handling": "accept",
            "crowd": "true",
            "people_count": True,
        },
        from_csv=False,
    )
    assert errors == {
        "national_code": "must be a string",
        "received_on": "'2026-1-2' is not a date (YYYY-MM-DD)",
        "petitioner_name": "missing",
        "crowd": "must be true or false",
        "people_count": "must be a whole number",
    }


def test_csv_cells_round_trip_through_their_text() -> None:
    specs = {s.name: s for s in PETITION_FIELDS}
    assert csv_cell(specs["crowd"], True) == "true"
    assert csv_cell(specs["representatives"], ["Trần, Bình", "Lê"]) == '["Trần, Bình", "Lê"]'
    assert csv_cell(specs["handling_deadline"], None) == ""
    assert json_value(specs["received_on"], date(2026, 1, 5)) == "2026-01-05"
    values, errors = parse_row(
        Record.PETITION,
        {
            "record": "petition",
            "national_code": "",
            "case_code": "X-1",
            "office": "HY",
            "type": "mixed",
            "status": "filed",
            "source": "other",
            "received_on": "2026-01-05",
            "handling_deadline": "",
            "petitioner_name": "A",
            "content": "B",
            "crowd": "false",
            "people_count": "3",
            "representatives": '["Trần, Bình"]',
            "handled_before": "",
        },
        from_csv=True,
    )
    assert errors == {}
    assert values["national_code"] is None and values["handling_deadline"] is None
    assert values["people_count"] == 3 and values["crowd"] is False
    assert values["representatives"] == ["Trần, Bình"]
    _, errors = parse_row(
        Record.PETITION, {"record": "petition", "handled_before": "x"}, from_csv=True
    )
    assert errors["handled_before"] == "not a field of a petition row"

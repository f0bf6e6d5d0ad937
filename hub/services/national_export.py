"""Export of petitions and reception register rows for the national database, as JSON or CSV
(hub.domain.national_format, docs/export-format.md): an office's subtree, optionally only what
changed since a day."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.clock import LOCAL_TZ, now
from hub.domain.national_format import (
    CSV_COLUMNS,
    FIELDS,
    FORMAT,
    JSON_LISTS,
    VERSION,
    Record,
    csv_cell,
    json_value,
)
from hub.services.scope import in_subtree
from hub.storage.tables import OfficeRow, PetitionRow, ReceptionRow

Rows = dict[Record, list[dict[str, Any]]]


def since_moment(since: date) -> datetime:
    """The start of `since` in Vietnam: an incremental export takes what changed from then."""
    return datetime.combine(since, time(0), LOCAL_TZ)


async def collect(session: AsyncSession, office: OfficeRow | None, since: date | None) -> Rows:
    """Every petition and register row of `office`'s subtree (of every office when None;
    changed since the day, when given), as typed values by field name, oldest first."""
    petitions = (
        select(PetitionRow, OfficeRow.code)
        .join(OfficeRow, OfficeRow.id == PetitionRow.office_id)
        .order_by(PetitionRow.id)
    )
    linked = aliased(PetitionRow)
    register = (
        select(ReceptionRow, OfficeRow.code, linked.national_code, linked.case_code)
        .join(OfficeRow, OfficeRow.id == ReceptionRow.office_id)
        .outerjoin(linked, linked.id == ReceptionRow.petition_id)
        .order_by(ReceptionRow.id)
    )
    if office is not None:
        petitions = petitions.where(in_subtree(OfficeRow.path, office.path))
        register = register.where(in_subtree(OfficeRow.path, office.path))
    if since is not None:
        petitions = petitions.where(PetitionRow.updated_at >= since_moment(since))
        register = register.where(ReceptionRow.updated_at >= since_moment(since))
    out: Rows = {Record.PETITION: [], Record.RECEPTION: []}
    for row, code in (await session.execute(petitions)).all():
        values = _own_fields(row, Record.PETITION)
        # Not a field of the format: the row's id, for the audit of an export.
        values.update(office=code, _id=row.id)
        out[Record.PETITION].append(values)
    for entry, code, petition_nc, petition_cc in (await session.execute(register)).all():
        values = _own_fields(entry, Record.RECEPTION)
        values.update(office=code, petition_national_code=petition_nc)
        values["petition_case_code"] = petition_cc
        out[Record.RECEPTION].append(values)
    return out


def _own_fields(row: PetitionRow | ReceptionRow, record: Record) -> dict[str, Any]:
    """The record's fields that are columns of its row (office and petition links aside)."""
    return {
        spec.name: getattr(row, spec.name)
        for spec in FIELDS[record]
        if hasattr(row, spec.name) and spec.name != "office"
    }


def petition_ids(rows: Rows) -> list[int]:
    """The ids of the petitions in an export (what an audit of it names)."""
    return [int(values["_id"]) for values in rows[Record.PETITION]]


def to_json(rows: Rows, office: OfficeRow | None, since: date | None) -> dict[str, Any]:
    """The JSON document of an export."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now().astimezone(LOCAL_TZ).isoformat(),
        "office": office.code if office else None,
        "since": since.isoformat() if since else None,
    }
    for record, key in JSON_LISTS.items():
        document[key] = [
            {spec.name: json_value(spec, values.get(spec.name)) for spec in FIELDS[record]}
            for values in rows[record]
        ]
    return document


def to_csv(rows: Rows) -> str:
    """The CSV text of an export: a header of CSV_COLUMNS, then one line per row, petitions
    first; each row leaves the other kind's columns empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in (Record.PETITION, Record.RECEPTION):
        specs = {spec.name: spec for spec in FIELDS[record]}
        for values in rows[record]:
            line = [str(record)]
            for column in CSV_COLUMNS[1:]:
                spec = specs.get(column)
                line.append(csv_cell(spec, values.get(column)) if spec else "")
            writer.writerow(line)
    return buffer.getvalue()

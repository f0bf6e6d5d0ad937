"""Import of petitions and reception register rows from a national database file (JSON or CSV,
docs/export-format.md): idempotent by key (a petition's national code, else its case code; a
register row's national code), each row written whole or not at all (a savepoint per row), and
a report of what was created, updated, left unchanged, and refused with a reason per field."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import now
from hub.domain.errors import ValidationFailed
from hub.domain.national_format import (
    CSV_COLUMNS,
    FORMAT,
    JSON_LISTS,
    VERSION,
    Record,
    parse_row,
)
from hub.domain.petitions import DRAFT_FIELDS, PetitionDraft, PetitionStatus
from hub.domain.reception import RECEPTION_FIELDS, ReceptionDraft
from hub.domain.users import Action
from hub.services import deadlines
from hub.services.access import Actor
from hub.services.petitions import next_case_code, personal_text, search_text
from hub.storage.tables import (
    OfficeRow,
    PetitionHistoryRow,
    PetitionRow,
    ReceptionRow,
    SequenceRow,
)

IMPORT_NOTE = "imported from a national database file"


class FileRefused(ValidationFailed):
    """The file as a whole cannot be read (not JSON or CSV of this format): nothing is written."""


@dataclass(frozen=True)
class RawRow:
    """One row as the file gave it, with where it was (for the report)."""

    label: str
    record: Record | None
    values: Mapping[str, Any]
    from_csv: bool
    # Why the row cannot be read at all (an unknown kind, too many cells), when it cannot.
    problem: dict[str, str] | None = None


def read_file(data: bytes) -> list[RawRow]:
    """The rows of a JSON document or a CSV file of the exchange format; FileRefused when the
    file is neither. A CSV row of an unknown kind is kept and refused on import."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused("the file is not UTF-8 text", {"file": "not UTF-8"}) from None
    if text.lstrip().startswith("{"):
        return list(_json_rows(text))
    return list(_csv_rows(text))


def _json_rows(text: str) -> Iterator[RawRow]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise FileRefused(f"the file is not valid JSON: {exc}", {"file": "invalid JSON"}) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise FileRefused(f"not a {FORMAT} document", {"format": f"must be {FORMAT}"})
    if document.get("version") != VERSION:
        raise FileRefused(
            f"version {document.get('version')!r} is not supported",
            {"version": f"must be {VERSION}"},
        )
    for record, key in JSON_LISTS.items():
        items = document.get(key, [])
        if not isinstance(items, list):
            raise FileRefused(f"{key} must be a list", {key: "must be a list"})
        for index, item in enumerate(items):
            label = f"{key}[{index}]"
            if isinstance(item, dict):
                yield RawRow(label, record, item, False)
            else:
                yield RawRow(label, record, {}, False, {"row": "must be a JSON object"})


def _csv_rows(text: str) -> Iterator[RawRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if "record" not in header:
        raise FileRefused(
            "not a CSV file of the exchange format (no 'record' column)",
            {"record": "the first column must be 'record'"},
        )
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise FileRefused(
            f"unknown columns: {', '.join(unknown)}", dict.fromkeys(unknown, "unknown column")
        )
    for line in reader:
        label = f"line {reader.line_num}"
        kind = line.get("record") or ""
        values = {k: v for k, v in line.items() if k is not None}
        record = Record(kind) if kind in set(map(str, Record)) else None
        if record is None:
            codes = ", ".join(map(str, Record))
            yield RawRow(label, None, values, True, {"record": f"'{kind}' is not one of: {codes}"})
        elif None in line:
            problem = {"record": "more cells than the header has columns"}
            yield RawRow(label, record, values, True, problem)
        else:
            yield RawRow(label, record, values, True)


@dataclass
class Report:
    """What an import did, by kind and in all."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    by_record: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            str(r): {"created": 0, "updated": 0, "unchanged": 0, "refused": 0} for r in Record
        }
    )

    def count(self, record: Record, outcome: str) -> None:
        if outcome == "created":
            self.created += 1
        elif outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1
        self.by_record[str(record)][outcome] += 1

    def refuse(self, row: RawRow, reasons: dict[str, str]) -> None:
        keys = (row.values.get("national_code"), row.values.get("case_code"))
        key = next((k for k in keys if isinstance(k, str) and k), None)
        record = str(row.record) if row.record else None
        self.refused.append({"row": row.label, "record": record, "key": key, "reasons": reasons})
        if row.record is not None:
            self.by_record[str(row.record)]["refused"] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "by_record": self.by_record,
        }


class _RowRefused(Exception):
    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__("refused")
        self.reasons = reasons


@dataclass
class _Context:
    actor: Actor | None
    offices: dict[str, OfficeRow]
    by_id: dict[int, OfficeRow] = field(init=False)

    def office(self, code: Any) -> OfficeRow | None:
        office = self.offices.get(code) if isinstance(code, str) else None
        if office is None or (self.actor is not None and not self.actor.sees(office.path)):
            # Out of scope reads as unknown: nothing about other offices leaks.
            return None
        return office

    def owns(self, office_id: int) -> bool:
        if self.actor is None:
            return True
        office = self.by_id.get(office_id)
        return office is not None and self.actor.sees(office.path)

    def __post_init__(self) -> None:
        self.by_id = {o.id: o for o in self.offices.values()}


async def import_rows(
    session: AsyncSession, rows: list[RawRow], actor: Actor | None
) -> dict[str, Any]:
    """Import the rows (petitions first, so that register rows can name them) in the caller's
    transaction, each in a savepoint of its own; the report. `actor` None is the operator at
    the command line (every office); an actor imports only into its scope."""
    if actor is not None:
        actor.require(Action.EDIT_PETITIONS)
    offices = (await session.execute(select(OfficeRow))).scalars().all()
    context = _Context(actor, {o.code: o for o in offices})
    report = Report()
    order = {Record.PETITION: 0, Record.RECEPTION: 1, None: 2}
    for row in sorted(rows, key=lambda r: order[r.record]):
        if row.problem is not None or row.record is None:
            report.refuse(row, row.problem or {"record": "unknown"})
            continue
        try:
            async with session.begin_nested():
                if row.record is Record.PETITION:
                    outcome = await _petition(session, context, row)
                else:
                    outcome = await _reception(session, context, row)
        except _RowRefused as exc:
            report.refuse(row, exc.reasons)
            continue
        except DBAPIError as exc:
            # A constraint the checks above did not foresee: the row's savepoint is rolled
            # back, so nothing of it stays, and the next rows go on.
            report.refuse(row, {"database": str(exc.orig).splitlines()[0][:300]})
            continue
        report.count(row.record, outcome)
    return report.as_dict()


# --- petitions ---------------------------------------------------------------------------------


async def _petition(session: AsyncSession, context: _Context, row: RawRow) -> str:
    values, errors = parse_row(Record.PETITION, row.values, from_csv=row.from_csv)
    office = context.office(values.get("office"))
    if "office" in values and office is None:
        errors["office"] = f"unknown office '{values['office']}'"
    national_code = values.get("national_code")
    case_code = values.get("case_code") or None
    if not national_code and not case_code and "national_code" not in errors:
        errors["national_code"] = "missing: a petition needs national_code or case_code (its key)"
    draft = _draft(PetitionDraft, values, office, errors)
    if errors or draft is None:
        raise _RowRefused(errors)
    assert office is not None
    target = await _petition_target(session, national_code, case_code)
    status = str(PetitionStatus(values["status"]))
    if target is None:
        await _create_petition(session, context, draft, office, case_code, status)
        return "created"
    if not context.owns(target.office_id):
        raise _RowRefused({"national_code": "already the key of a petition outside your scope"})
    fixed = {}
    if target.office_id != office.id:
        fixed["office"] = "a petition's office cannot change"
    if target.received_on != draft.received_on:
        fixed["received_on"] = (
            f"a petition's received_on cannot change (it is {target.received_on})"
        )
    if fixed:
        raise _RowRefused(fixed)
    record = draft.record()
    changed = [n for n in DRAFT_FIELDS if getattr(target, n) != record[n]]
    if record.get("handling_deadline") is None and "handling_deadline" in changed:
        # No deadline in the file is none given, not none running: the hub's rules keep theirs.
        changed.remove("handling_deadline")
    if not changed and target.status == status:
        return "unchanged"
    for name in changed:
        setattr(target, name, record[name])
    # As for an edit here: a deadline the file changes is kept as typed in.
    await deadlines.on_edit(session, target, {n: record[n] for n in changed})
    stamp = now()
    if target.status != status:
        session.add(
            PetitionHistoryRow(
                petition_id=target.id,
                at=stamp,
                from_status=target.status,
                to_status=status,
                user_id=context.actor.user_id if context.actor else None,
                note=IMPORT_NOTE,
            )
        )
        target.status = status
    target.search_text = search_text(draft, target.case_code)
    target.personal_text = personal_text(draft)
    target.updated_at = stamp
    await session.flush()
    return "updated"


async def _petition_target(
    session: AsyncSession, national_code: str | None, case_code: str | None
) -> PetitionRow | None:
    """The petition a row is about, by its key: the national code, else the case code. A case
    code that names another case than the national code does, or a national code missing from
    a row whose case has one here, is refused."""
    by_national: PetitionRow | None = None
    if national_code:
        found = (
            (
                await session.execute(
                    select(PetitionRow).where(PetitionRow.national_code == national_code)
                )
            )
            .scalars()
            .all()
        )
        if len(found) > 1:
            raise _RowRefused(
                {"national_code": f"names {len(found)} petitions here; it must name one"}
            )
        by_national = found[0] if found else None
    by_case: PetitionRow | None = None
    if case_code:
        by_case = (
            await session.execute(select(PetitionRow).where(PetitionRow.case_code == case_code))
        ).scalar_one_or_none()
    if by_national is not None:
        if by_case is not None and by_case.id != by_national.id:
            raise _RowRefused(
                {"case_code": f"is another petition's here than national code {national_code}'s"}
            )
        return by_national
    if by_case is None:
        return None
    if by_case.national_code and national_code != by_case.national_code:
        # The case is known here under another national code (or the row lost it).
        raise _RowRefused(
            {"national_code": f"case {case_code} here has national code {by_case.national_code}"}
        )
    # The national database coded a case that went out without a code: the row gives it one.
    return by_case


_CASE_CODE = re.compile(r"^(?P<office>.+)-(?P<year>\d{4})-(?P<number>\d{1,9})$")


async def _create_petition(
    session: AsyncSession,
    context: _Context,
    draft: PetitionDraft,
    office: OfficeRow,
    case_code: str | None,
    status: str,
) -> None:
    if case_code is None:
        case_code = await next_case_code(session, office, draft.received_on.year)
    else:
        await _keep_counter_ahead(session, case_code)
    stamp = now()
    user_id = context.actor.user_id if context.actor else None
    row = PetitionRow(
        **draft.record(),
        case_code=case_code,
        status=status,
        search_text=search_text(draft, case_code),
        personal_text=personal_text(draft),
        created_by=user_id,
        created_at=stamp,
        updated_at=stamp,
    )
    # The deadline's bookkeeping, as for a petition registered here: a deadline the file
    # carries is kept as one typed in (another system counted it), none runs from the rules.
    await deadlines.on_created(session, row, manual=row.handling_deadline is not None)
    session.add(row)
    await session.flush()
    session.add(
        PetitionHistoryRow(
            petition_id=row.id,
            at=stamp,
            from_status=None,
            to_status=status,
            user_id=user_id,
            note=IMPORT_NOTE,
        )
    )
    await session.flush()


async def _keep_counter_ahead(session: AsyncSession, case_code: str) -> None:
    """An imported case code of this hub's form (OFFICE-YEAR-NUMBER) moves its office-year's
    counter past it, so that the next petition registered here does not take the same code."""
    match = _CASE_CODE.match(case_code)
    if match is None:
        return
    name = f"{match['office']}-{match['year']}"
    number = int(match["number"])
    dialect = session.bind.dialect.name
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(SequenceRow).values(
        name=name, value=number
    )
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[SequenceRow.name],
            set_={"value": case((SequenceRow.value < number, number), else_=SequenceRow.value)},
        )
    )


# --- reception register ------------------------------------------------------------------------


async def _reception(session: AsyncSession, context: _Context, row: RawRow) -> str:
    values, errors = parse_row(Record.RECEPTION, row.values, from_csv=row.from_csv)
    office = context.office(values.get("office"))
    if "office" in values and office is None:
        errors["office"] = f"unknown office '{values['office']}'"
    petition = await _linked_petition(session, context, values, errors)
    values["petition_id"] = petition.id if petition else None
    draft = _draft(ReceptionDraft, values, office, errors)
    if errors or draft is None:
        raise _RowRefused(errors)
    assert office is not None
    national_code = str(values["national_code"])
    target = (
        await session.execute(
            select(ReceptionRow).where(ReceptionRow.national_code == national_code)
        )
    ).scalar_one_or_none()
    record = draft.record()
    stamp = now()
    if target is None:
        session.add(
            ReceptionRow(
                **record,
                created_by=context.actor.user_id if context.actor else None,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        await session.flush()
        return "created"
    if not context.owns(target.office_id):
        raise _RowRefused({"national_code": "already the key of a row outside your scope"})
    if target.office_id != office.id:
        raise _RowRefused({"office": "a register row's office cannot change"})
    changed = [n for n in RECEPTION_FIELDS if getattr(target, n) != record[n]]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(target, name, record[name])
    target.updated_at = stamp
    await session.flush()
    return "updated"


async def _linked_petition(
    session: AsyncSession, context: _Context, values: dict[str, Any], errors: dict[str, str]
) -> PetitionRow | None:
    """The petition a register row names (by national code, else case code), in scope."""
    national_code = values.pop("petition_national_code", None)
    case_code = values.pop("petition_case_code", None)
    found: PetitionRow | None = None
    if national_code:
        found = (
            (
                await session.execute(
                    select(PetitionRow).where(PetitionRow.national_code == national_code)
                )
            )
            .scalars()
            .first()
        )
        if found is None and not case_code:
            errors["petition_national_code"] = f"no petition here has national code {national_code}"
    if found is None and case_code:
        found = (
            await session.execute(select(PetitionRow).where(PetitionRow.case_code == case_code))
        ).scalar_one_or_none()
        if found is None:
            errors["petition_case_code"] = f"no petition here has case code {case_code}"
    if found is not None and not context.owns(found.office_id):
        errors["petition_case_code"] = "no such petition in your scope"
        return None
    return found


def _draft(
    kind: type[PetitionDraft] | type[ReceptionDraft],
    values: dict[str, Any],
    office: OfficeRow | None,
    errors: dict[str, str],
) -> Any:
    """The domain's own checks of the row (crowd rules, lengths, deadlines ...), their reasons
    added to `errors` under the file's field names; None when the row could not be built."""
    fields = dict(values)
    fields["office_id"] = office.id if office else 0
    try:
        return kind.from_fields(fields)
    except ValidationFailed as exc:
        for name, reason in exc.fields.items():
            errors.setdefault("office" if name == "office_id" else name, reason)
        return None
    except (TypeError, ValueError, KeyError):
        # A field the domain needs did not parse: its reason is in `errors` already.
        if not errors:
            errors["row"] = "incomplete row"
        return None

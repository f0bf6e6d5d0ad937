"""Periodic reports (báo cáo định kỳ): the reporting period, what counts as a final outcome,
and the report's tables as the summary forms lay them out (Thông tư 04/2021/TT-TTCP and the
Government Inspectorate's reporting forms: reception, petition handling), shared by the page,
the XLSX export and the tests. No I/O: hub.services.reports makes the figures."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from hub.clock import LOCAL_TZ
from hub.domain.alerts import AlertKind
from hub.domain.errors import ValidationFailed
from hub.domain.hearings import HearingKind
from hub.domain.petitions import PetitionStatus, PetitionType


class PeriodKind(enum.StrEnum):
    """A month (2026-11), a quarter (2026-Q4) or a year (2026)."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


# ASCII digits only: int() would read '２０２６' (full-width) as 2026 too.
_PERIOD = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|[Qq](?P<quarter>[1-4])))?$", re.ASCII
)
PERIOD_HINT = "a month 2026-11, a quarter 2026-Q4 or a year 2026"


@dataclass(frozen=True)
class Period:
    """A reporting period: whole months, in Vietnam's time."""

    kind: PeriodKind
    year: int
    # The month (1-12), the quarter (1-4), or 0 for a year.
    number: int = 0

    def __post_init__(self) -> None:
        top = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.YEAR: 0}[self.kind]
        low = 0 if self.kind is PeriodKind.YEAR else 1
        if not (2000 <= self.year <= 2100) or not (low <= self.number <= top):
            raise ValidationFailed(
                f"invalid period: expected {PERIOD_HINT}", {"period": f"expected {PERIOD_HINT}"}
            )

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026-11', '2026-Q4' or '2026'; ValidationFailed naming `period` otherwise."""
        match = _PERIOD.match(text.strip())
        if match is None:
            raise ValidationFailed(
                f"invalid period {text!r}: expected {PERIOD_HINT}",
                {"period": f"expected {PERIOD_HINT}"},
            )
        year = int(match["year"])
        if match["month"]:
            return cls(PeriodKind.MONTH, year, int(match["month"]))
        if match["quarter"]:
            return cls(PeriodKind.QUARTER, year, int(match["quarter"]))
        return cls(PeriodKind.YEAR, year)

    def __str__(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.year:04d}-{self.number:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}"

    @property
    def first_month(self) -> int:
        """The period's first month (1-12)."""
        return {
            PeriodKind.MONTH: self.number,
            PeriodKind.QUARTER: 3 * self.number - 2,
            PeriodKind.YEAR: 1,
        }[self.kind]

    @property
    def months(self) -> int:
        """How many months it takes."""
        return {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[self.kind]

    @property
    def first_day(self) -> date:
        """Its first day."""
        return date(self.year, self.first_month, 1)

    @property
    def next_day(self) -> date:
        """The first day after it (the bound the queries use: first_day <= d < next_day)."""
        month = self.first_month - 1 + self.months
        return date(self.year + month // 12, month % 12 + 1, 1)

    @property
    def last_day(self) -> date:
        """Its last day."""
        return date.fromordinal(self.next_day.toordinal() - 1)

    @property
    def start(self) -> datetime:
        """Midnight of its first day, Vietnam's time (aware)."""
        return datetime.combine(self.first_day, time(0), LOCAL_TZ)

    @property
    def end(self) -> datetime:
        """Midnight after its last day, Vietnam's time (aware): start <= t < end."""
        return datetime.combine(self.next_day, time(0), LOCAL_TZ)

    def label(self) -> tuple[str, dict[str, str]]:
        """The message key and parameters that name it for people ('Quý IV năm 2026': a
        quarter in Roman numerals, as administrative documents write it)."""
        if self.kind is PeriodKind.MONTH:
            return "rp.label.month", {"month": f"{self.number:02d}", "year": str(self.year)}
        if self.kind is PeriodKind.QUARTER:
            roman = ("I", "II", "III", "IV")[self.number - 1]
            return "rp.label.quarter", {"quarter": roman, "year": str(self.year)}
        return "rp.label.year", {"year": str(self.year)}

    def month_starts(self) -> list[date]:
        """The first day of each of its months."""
        out = []
        for i in range(self.months):
            month = self.first_month - 1 + i
            out.append(date(self.year + month // 12, month % 12 + 1, 1))
        return out


# A petition whose handling has come to an end (hub.domain.petitions.PetitionStatus): moved on
# to the competent body, returned with guidance, filed or resolved. Accepted and suspended
# cases are still being resolved, and a received one awaits its decision.
FINAL_OUTCOMES = frozenset(
    {
        PetitionStatus.TRANSFERRED,
        PetitionStatus.RETURNED,
        PetitionStatus.FILED,
        PetitionStatus.RESOLVED,
    }
)

# The order of rows and columns in every table (the forms' order).
TYPES: tuple[str, ...] = tuple(str(t) for t in PetitionType)
STATUSES: tuple[str, ...] = tuple(str(s) for s in PetitionStatus)
HEARING_KINDS: tuple[str, ...] = tuple(str(k) for k in HearingKind)
ALERT_KINDS: tuple[str, ...] = tuple(str(k) for k in AlertKind)
# The reception table's rows: regular reception by staff (thường xuyên: petitions brought in
# person, and hearings of kind regular) and the leaders' periodic and ad hoc receptions.
RECEPTION_ROWS = ("regular", "leaders")
RECEPTION_COLUMNS = ("visits", "people", "cases_new", "cases_repeated")
CROWD_COLUMNS = ("delegations", "people", "cases_new", "cases_repeated")
# A subject field left empty on the petition.
NO_SUBJECT = ""


@dataclass(frozen=True)
class Column:
    """A table's column: its key in the figures and the message key of its heading."""

    key: str
    label: str


@dataclass(frozen=True)
class Row:
    """A table's row: its label (a message key, or text as it is when `literal`) and values
    by column key."""

    key: str
    label: str
    values: Mapping[str, int]
    literal: bool = False


@dataclass(frozen=True)
class Table:
    """One table of the report: one section on the page, one sheet of the workbook. `total`:
    whether a total row (and, with `row_totals`, a total column) sums the rows."""

    key: str
    title: str
    columns: Sequence[Column]
    rows: Sequence[Row]
    total: bool = True
    row_totals: bool = False

    def column_sum(self, key: str) -> int:
        """The total of one column (what the total row shows)."""
        return sum(row.values.get(key, 0) for row in self.rows)

    def row_sum(self, row: Row) -> int:
        """The total of one row (what the total column shows)."""
        return sum(row.values.get(c.key, 0) for c in self.columns)

    def grand_total(self) -> int:
        """Every figure of the table added up (the total row's total column)."""
        return sum(self.row_sum(row) for row in self.rows)


def tables(figures: Mapping[str, Any]) -> list[Table]:
    """The report's figures (hub.services.reports.report) laid out as its tables, in order."""
    hearings = figures["hearings"]
    reception = figures["reception"]
    crowd = figures["crowd_delegations"]
    petitions = figures["petitions"]
    incidents = figures["connection_incidents"]
    overdue = figures["overdue"]
    due_week = figures["due_week"]
    type_columns = [Column(t, f"ptype.{t}") for t in TYPES]
    return [
        Table(
            "hearings",
            "rp.t.hearings",
            [
                Column("held", "rp.c.held"),
                Column("online", "rp.c.online"),
                Column("in_person", "rp.c.in_person"),
                Column("sites_connected", "rp.c.sites_connected"),
                Column("site_drops", "rp.c.site_drops"),
            ],
            [Row(k, f"hkind.{k}", hearings["by_kind"][k]) for k in HEARING_KINDS],
        ),
        Table(
            "reception",
            "rp.t.reception",
            [Column(c, f"rp.c.{c}") for c in RECEPTION_COLUMNS],
            [Row(k, f"rp.r.{k}", reception[k]) for k in RECEPTION_ROWS],
        ),
        Table(
            "crowd",
            "rp.t.crowd",
            [Column(c, f"rp.c.{c}") for c in CROWD_COLUMNS],
            [Row(k, f"rp.r.{k}", crowd[k]) for k in RECEPTION_ROWS],
        ),
        Table(
            "petitions_by_type",
            "rp.t.by_type",
            [Column(s, f"pstatus.{s}") for s in STATUSES],
            [Row(t, f"ptype.{t}", petitions["by_type_status"][t]) for t in TYPES],
            row_totals=True,
        ),
        Table(
            "petitions_by_subject",
            "rp.t.by_subject",
            type_columns,
            [
                Row(
                    s["subject_field"] or "-",
                    s["subject_field"] or "rp.no_subject",
                    s["by_type"],
                    literal=bool(s["subject_field"]),
                )
                for s in petitions["by_subject"]
            ],
            row_totals=True,
        ),
        Table(
            "overdue",
            "rp.t.overdue",
            [Column("overdue", "rp.c.overdue"), Column("due_week", "rp.c.due_week")],
            [
                Row(
                    t,
                    f"ptype.{t}",
                    {"overdue": overdue["by_type"][t], "due_week": due_week["by_type"][t]},
                )
                for t in TYPES
            ],
        ),
        Table(
            "incidents",
            "rp.t.incidents",
            [Column("total", "rp.c.incidents"), Column("during_hearings", "rp.c.in_hearings")],
            [Row(k, f"alert.{k}", incidents["by_kind"][k]) for k in ALERT_KINDS],
        ),
    ]

"""The periodic report as an XLSX workbook (openpyxl): a summary sheet, then one sheet per table
of hub.domain.reports.tables, each with bold headings, set column widths, dates as dd/mm/yyyy
and its totals as =SUM(...) formulas, so that a spreadsheet recomputes them when a figure is
corrected by hand. CPU work: callers run it off the event loop (asyncio.to_thread)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from hub.clock import LOCAL_TZ
from hub.domain.reports import Period, Table, tables
from hub.i18n import Translator

DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
# A table's header row and its first data row (1-based), below the title and the period.
HEADER_ROW = 4
FIRST_ROW = HEADER_ROW + 1
LABEL_WIDTH = 44
FIGURE_WIDTH = 16
# Excel refuses these in sheet names, and names longer than 31 characters.
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_name(text: str) -> str:
    """A title as Excel accepts it for a sheet's name."""
    return text.translate(_SHEET_FORBIDDEN).strip()[:31]


def _local_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).date()


def _local_naive(iso: str) -> datetime:
    # Spreadsheets have no time zones: the time as read in Vietnam.
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).replace(tzinfo=None)


def _period_name(t: Translator, figures: Mapping[str, Any]) -> str:
    key, params = Period.parse(figures["period"]).label()
    return t(key, **params)


def _period_cells(ws: Worksheet, t: Translator, figures: Mapping[str, Any], row: int) -> None:
    """Office and period on one row: text, then the first and last day as dates."""
    ws.cell(row, 1, f"{figures['office_name']} · {_period_name(t, figures)}")
    ws.cell(row, 2, t("rp.s.first_day")).font = BOLD
    first = ws.cell(row, 3, date.fromisoformat(figures["first_day"]))
    ws.cell(row, 4, t("rp.s.last_day")).font = BOLD
    last = ws.cell(row, 5, date.fromisoformat(figures["last_day"]))
    first.number_format = last.number_format = DATE_FORMAT


def _table_sheet(wb: Workbook, t: Translator, table: Table, figures: Mapping[str, Any]) -> str:
    """One table on a sheet of its own; the address of its grand total cell."""
    ws = wb.create_sheet(sheet_name(t(f"rp.sheet.{table.key}")))
    ws.cell(1, 1, t(table.title)).font = TITLE
    _period_cells(ws, t, figures, 2)
    headings = [t("rp.item"), *(t(c.label) for c in table.columns)]
    if table.row_totals:
        headings.append(t("rp.row_total"))
    for col, text in enumerate(headings, start=1):
        cell = ws.cell(HEADER_ROW, col, text)
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    last_figure_col = 1 + len(table.columns)
    for i, row in enumerate(table.rows):
        r = FIRST_ROW + i
        ws.cell(r, 1, row.label if row.literal else t(row.label))
        for j, column in enumerate(table.columns, start=2):
            ws.cell(r, j, row.values.get(column.key, 0))
        if table.row_totals:
            span = f"B{r}:{get_column_letter(last_figure_col)}{r}"
            ws.cell(r, last_figure_col + 1, f"=SUM({span})").font = BOLD
    last_row = FIRST_ROW + len(table.rows) - 1
    total_row = last_row + 1
    grand = f"B{total_row}"
    if table.total:
        ws.cell(total_row, 1, t("rp.total")).font = BOLD
        for col in range(2, len(headings) + 1):
            letter = get_column_letter(col)
            # No rows (no subject field recorded at all): B5:B4 would sum the header row.
            formula = f"=SUM({letter}{FIRST_ROW}:{letter}{last_row})" if table.rows else "=0"
            ws.cell(total_row, col, formula).font = BOLD
        grand = f"{get_column_letter(len(headings))}{total_row}"
    ws.column_dimensions["A"].width = LABEL_WIDTH
    for col in range(2, len(headings) + 1):
        ws.column_dimensions[get_column_letter(col)].width = FIGURE_WIDTH
    ws.row_dimensions[HEADER_ROW].height = 32
    ws.freeze_panes = ws.cell(FIRST_ROW, 2)
    return f"'{ws.title}'!{grand}"


def workbook(figures: Mapping[str, Any], lang: str = "vi") -> bytes:
    """The report (hub.services.reports.report) as the bytes of an XLSX file."""
    t = Translator(lang)
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = sheet_name(t("rp.sheet.summary"))
    laid_out = tables(figures)
    grand = {table.key: _table_sheet(wb, t, table, figures) for table in laid_out}
    summary.cell(1, 1, t("rp.title")).font = TITLE
    facts: list[tuple[str, Any, str | None]] = [
        (t("rp.office"), figures["office_name"], None),
        (t("rp.period"), _period_name(t, figures), None),
        (t("rp.s.first_day"), date.fromisoformat(figures["first_day"]), DATE_FORMAT),
        (t("rp.s.last_day"), date.fromisoformat(figures["last_day"]), DATE_FORMAT),
        (t("rp.s.as_of"), _local_naive(figures["as_of"]), DATETIME_FORMAT),
        (t("rp.s.generated"), _local_day(figures["generated_at"]), DATE_FORMAT),
    ]
    row = 3
    for label, value, number_format in facts:
        summary.cell(row, 1, label).font = BOLD
        cell = summary.cell(row, 2, value)
        if number_format:
            cell.number_format = number_format
        row += 1
    row += 1
    summary.cell(row, 1, t("rp.item")).font = BOLD
    summary.cell(row, 2, t("rp.total")).font = BOLD
    # The headline figures are the tables' own totals, referred to, not copied.
    headline = [
        ("rp.s.hearings", "hearings", "B"),
        ("rp.s.visits", "reception", "B"),
        ("rp.s.delegations", "crowd", "B"),
        ("rp.s.received", "petitions_by_type", None),
        ("rp.s.overdue", "overdue", "B"),
        ("rp.s.due_week", "overdue", "C"),
        ("rp.s.incidents", "incidents", "B"),
    ]
    for label, key, column in headline:
        row += 1
        summary.cell(row, 1, t(label))
        ref = grand[key]
        if column is not None:
            sheet, cell_ref = ref.rsplit("!", 1)
            ref = f"{sheet}!{column}{cell_ref.lstrip('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}"
        summary.cell(row, 2, f"={ref}")
    summary.column_dimensions["A"].width = LABEL_WIDTH
    summary.column_dimensions["B"].width = 44
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

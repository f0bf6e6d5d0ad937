"""The report's workbook for an office with nothing to count: every sheet is there, every total
is still a formula (none sums a header), and openpyxl reads it back."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook

from hub.domain.reports import Period, tables
from hub.services import reports
from hub.services.report_workbook import sheet_name, workbook
from hub.storage.db import Database
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree


async def test_an_empty_report_still_has_its_formulas(db: Database, tree: Tree) -> None:
    async with db.transaction() as session:
        figures = await reports.report(
            session, tree.staff_bg, None, Period.parse("2026-10"), datetime(2026, 12, 1, tzinfo=VN)
        )
    assert figures["petitions"]["received"] == 0 and figures["petitions"]["by_subject"] == []
    wb = load_workbook(io.BytesIO(workbook(figures, "en")))
    assert wb.sheetnames[0] == "Summary" and len(wb.sheetnames) == 1 + len(tables(figures))
    subjects = wb["By subject"]
    # No row: the total row follows the header at once, and sums nothing.
    assert subjects["A5"].value == "Total"
    assert [subjects.cell(5, c).value for c in range(2, 8)] == ["=0"] * 6
    hearings = wb["Hearings"]
    assert hearings["B8"].value == "=SUM(B5:B7)"
    assert [hearings.cell(r, 2).value for r in (5, 6, 7)] == [0, 0, 0]


def test_sheet_names_are_what_excel_accepts() -> None:
    assert sheet_name("Đơn theo loại [2026/Q4]: *?") == "Đơn theo loại  2026 Q4"
    assert len(sheet_name("x" * 40)) == 31

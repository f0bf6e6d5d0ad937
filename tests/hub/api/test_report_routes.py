"""The periodic report over HTTP: GET /api/v1/reports answers the figures counted by hand from
the known seed (tests/hub/reports_seed.py), scoped and validated; the page /reports and its
XLSX export show the same figures, the workbook's totals being =SUM formulas."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from hub.api.keys import DATABASE
from hub.domain.reports import tables
from hub.services.auth import actor_for_user
from hub.storage.tables import UserRow
from tests.hub import reports_seed
from tests.hub.client import Api, ThreadedHub, assert_error
from tests.hub.reports_seed import EXPECTED_TOP_Q3, PERIOD, Actors, Offices


@pytest.fixture(scope="module")
def report_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHub]:
    """A demo hub of this module's own (the shared one's figures are other tests' business),
    with the report seed written into its database."""
    hub = ThreadedHub.start(tmp_path_factory.mktemp("reports"))
    try:
        offices = Offices(
            top=hub.office("HY"),
            child=hub.office("HY.VANLAM"),
            leaf=hub.office("HY.PHOHIEN"),
            outside=hub.office("BG"),
            above=hub.office("TW"),
        )

        async def seed() -> None:
            assert hub.server.app is not None
            db = hub.server.app[DATABASE]
            async with db.transaction() as session:
                users = {
                    u.username: await actor_for_user(session, u)
                    for u in (await session.execute(select(UserRow))).scalars()
                }
            actors = Actors(users["staff.hungyen"], users["staff.bacgiang"], users["admin"])
            await reports_seed.seed(db, offices, actors)

        hub.run(seed())
        yield hub
    finally:
        hub.close()


@pytest.fixture
async def api(report_hub: ThreadedHub) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(report_hub.url, session, report_hub.tokens)


async def _report(api: Api, hub: ThreadedHub, user: str = "staff.hungyen") -> dict[str, Any]:
    reply = await api.get(
        "/api/v1/reports", user=user, params={"office_id": hub.office("HY"), "period": PERIOD}
    )
    assert reply.status == 200, reply.text
    return reply.json


async def test_the_json_equals_the_counts_made_by_hand(api: Api, report_hub: ThreadedHub) -> None:
    body = await _report(api, report_hub)
    for section, expected in EXPECTED_TOP_Q3.items():
        assert body[section] == expected, section
    assert body["office_name"] == "Ban Tiếp công dân tỉnh Hưng Yên"
    assert (body["first_day"], body["last_day"]) == ("2026-07-01", "2026-09-30")
    # A leader of the same office reads the same figures; the office defaults to one's own.
    leader = await api.get("/api/v1/reports", user="leader.hungyen", params={"period": PERIOD})
    assert leader.status == 200 and leader.json["petitions"] == body["petitions"]


async def test_scope_role_and_period_are_checked(api: Api, report_hub: ThreadedHub) -> None:
    hy = report_hub.office("HY")
    for user, office in (("staff.bacgiang", hy), ("staff.hungyen", report_hub.office("TW"))):
        reply = await api.get(
            "/api/v1/reports", user=user, params={"office_id": office, "period": PERIOD}
        )
        assert_error(reply, 404)
    # Operators watch links; the register's figures are not theirs.
    reply = await api.get("/api/v1/reports", user="operator.hungyen", params={"period": PERIOD})
    assert_error(reply, 403)
    for bad in ("2026-13", "2026-Q5", "26-Q3", "Q3-2026", "2026-7", "2026-W30"):
        reply = await api.get("/api/v1/reports", user="staff.hungyen", params={"period": bad})
        assert_error(reply, 422, field="period", says="2026-Q4")
    reply = await api.get("/api/v1/reports", user="staff.hungyen")
    assert_error(reply, 422, field="period")
    reply = await api.get("/api/v1/reports", user="staff.hungyen", params={"period": "2099"})
    assert_error(reply, 422, field="period", says="not begun")
    reply = await api.get(
        "/api/v1/reports", user="staff.hungyen", params={"period": PERIOD, "office_id": "x"}
    )
    assert_error(reply, 422, field="office_id")
    # The quarter written in lower case is the same period.
    again = await api.get(
        "/api/v1/reports", user="staff.hungyen", params={"office_id": hy, "period": "2026-q3"}
    )
    assert again.status == 200 and again.json["period"] == PERIOD


class _Tables(HTMLParser):
    """The figures of the page's report tables: {table: {row: {column: int}}}."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict[str, dict[str, int]]] = {}
        self._table: str | None = None
        self._row: str | None = None
        self._col: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("data-table"):
            self._table = a["data-table"]
            self.found[str(self._table)] = {}
        elif tag == "tr" and self._table and a.get("data-row"):
            self._row = a["data-row"]
        elif tag == "td" and self._row and a.get("data-col"):
            self._col, self._text = a["data-col"], ""

    def handle_data(self, data: str) -> None:
        if self._col:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._col and self._table and self._row:
            self.found[self._table].setdefault(self._row, {})[self._col] = int(self._text.strip())
            self._col = None
        elif tag == "table":
            self._table = None


def _expected_cells(body: dict[str, Any]) -> dict[str, dict[str, dict[str, int]]]:
    """What the tables must show for the JSON's figures: each row's values, its total when the
    table has a total column, and the column totals."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for table in tables(body):
        rows: dict[str, dict[str, int]] = {}
        for row in table.rows:
            rows[row.key] = {c.key: row.values[c.key] for c in table.columns}
            if table.row_totals:
                rows[row.key]["_total"] = sum(rows[row.key].values())
        total = {c.key: sum(r[c.key] for r in rows.values()) for c in table.columns}
        if table.row_totals:
            total["_total"] = sum(total.values())
        rows["_total"] = total
        out[table.key] = rows
    return out


async def test_the_page_shows_the_json_figures(api: Api, report_hub: ThreadedHub) -> None:
    body = await _report(api, report_hub)
    reply = await api.get(
        "/reports",
        user="staff.hungyen",
        params={"office_id": report_hub.office("HY"), "period": PERIOD},
    )
    assert reply.status == 200, reply.text[:500]
    assert reply.headers["Content-Type"].startswith("text/html")
    parser = _Tables()
    parser.feed(reply.text)
    assert parser.found == _expected_cells(body)
    # By hand: the reception table's visits column is 4 + 3, the overdue table's total 4.
    assert parser.found["reception"]["_total"]["visits"] == 7
    assert parser.found["overdue"]["_total"]["overdue"] == 4
    assert parser.found["petitions_by_type"]["_total"]["_total"] == 7
    assert (
        "Báo cáo tổng hợp" in reply.text
        and "Quý III năm 2026: Từ ngày 01/07/2026 đến ngày 30/09/2026" in reply.text
    )
    assert "/static/vendor/chart.umd.min.js" in reply.text
    assert (
        f'href="/reports/export.xlsx?office_id={report_hub.office("HY")}&amp;period={PERIOD}"'
        in (reply.text)
    )
    # Navigation leads there; a bad period is said on the form, an office outside is a 404.
    assert 'href="/reports"' in reply.text
    bad = await api.get("/reports", user="staff.hungyen", params={"period": "2026-Q9"})
    assert bad.status == 422 and "Kỳ báo cáo không hợp lệ" in bad.text
    outside = await api.get(
        "/reports", user="staff.bacgiang", params={"office_id": report_hub.office("HY")}
    )
    assert outside.status == 404
    assert (await api.get("/reports", user="operator.hungyen")).status == 403
    # No period: the current quarter.
    default = await api.get("/reports", user="staff.hungyen")
    assert default.status == 200 and 'data-period="20' in default.text


def _sum_of(ws: Worksheet, formula: str) -> int:
    """Evaluate '=SUM(B5:B7)' (one rectangular range) over the sheet's cell values."""
    assert formula.startswith("=SUM(") and formula.endswith(")"), formula
    cells = ws[formula[5:-1]]
    flat = [c for row in cells for c in row] if isinstance(cells, tuple) else [cells]
    values = [c.value for c in flat]
    assert all(isinstance(v, int) for v in values), values
    return sum(values)  # type: ignore[arg-type]


async def test_the_workbook_has_a_sheet_per_table_with_sum_formulas(
    api: Api, report_hub: ThreadedHub, tmp_path: Path
) -> None:
    body = await _report(api, report_hub)
    reply = await api.session.get(
        report_hub.url + "/reports/export.xlsx",
        params={"office_id": report_hub.office("HY"), "period": PERIOD},
        headers={"Authorization": f"Bearer {report_hub.tokens.token('staff.hungyen')}"},
    )
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in reply.headers["Content-Disposition"]
    data = await reply.read()
    (tmp_path / "report.xlsx").write_bytes(data)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [
        "Tổng hợp",
        "Phiên tiếp",
        "Tiếp công dân",
        "Đoàn đông người",
        "Đơn theo loại",
        "Đơn theo lĩnh vực",
        "Đơn quá hạn",
        "Sự cố kết nối",
    ]
    expected = _expected_cells(body)
    for table, sheet in zip(tables(body), wb.sheetnames[1:], strict=True):
        ws = wb[sheet]
        assert ws["A1"].font.b and ws["A4"].font.b
        # Dates are dates, shown dd/mm/yyyy.
        assert ws["C2"].value == datetime(2026, 7, 1) and ws["E2"].value == datetime(2026, 9, 30)
        assert ws["C2"].number_format == "dd/mm/yyyy"
        assert ws.column_dimensions["A"].width == 44 and ws.column_dimensions["B"].width == 16
        columns = [c.key for c in table.columns] + (["_total"] if table.row_totals else [])
        headers = [c for c in ws[4] if c.value is not None]
        assert len(headers) == 1 + len(columns) and all(c.font.b for c in headers)
        rows = [r.key for r in table.rows]
        for i, key in enumerate(rows):
            r = 5 + i
            for j, col in enumerate(columns):
                cell = ws.cell(r, 2 + j)
                if col == "_total":
                    last = chr(ord("A") + len(table.columns))
                    assert cell.value == f"=SUM(B{r}:{last}{r})"
                    assert _sum_of(ws, cell.value) == expected[table.key][key]["_total"]
                else:
                    assert cell.value == expected[table.key][key][col], (sheet, key, col)
        total_row = 5 + len(rows)
        assert ws.cell(total_row, 1).value == "Tổng cộng" and ws.cell(total_row, 1).font.b
        for j, col in enumerate(columns):
            letter = chr(ord("B") + j)
            formula = ws.cell(total_row, 2 + j).value
            assert formula == f"=SUM({letter}5:{letter}{total_row - 1})", (sheet, col)
            if col == "_total":
                # Sums the row totals, which are formulas themselves: add theirs.
                row_sums = [_sum_of(ws, ws.cell(5 + i, 2 + j).value) for i in range(len(rows))]
                assert sum(row_sums) == expected[table.key]["_total"]["_total"]
            else:
                assert _sum_of(ws, formula) == expected[table.key]["_total"][col], (sheet, col)
    # By hand: 7 visits, 4 overdue, 7 petitions received; the summary refers to those totals.
    assert _sum_of(wb["Tiếp công dân"], wb["Tiếp công dân"]["B7"].value) == 7
    assert _sum_of(wb["Đơn quá hạn"], wb["Đơn quá hạn"]["B10"].value) == 4
    summary = wb["Tổng hợp"]
    assert summary["A1"].value == "Báo cáo tổng hợp"
    assert wb["Phiên tiếp"]["A2"].value == "Ban Tiếp công dân tỉnh Hưng Yên · Quý III năm 2026"
    facts = {summary.cell(r, 1).value: summary.cell(r, 2) for r in range(3, 20)}
    assert facts["Từ ngày"].value == datetime(2026, 7, 1)
    assert facts["Từ ngày"].number_format == "dd/mm/yyyy"
    assert facts["Đến ngày"].value == datetime(2026, 9, 30)
    assert facts["Đơn quá hạn tính đến"].value == datetime(2026, 10, 1, 0, 0)
    assert facts["Số phiên đã tổ chức"].value == "='Phiên tiếp'!B8"
    assert facts["Lượt tiếp công dân"].value == "='Tiếp công dân'!B7"
    assert facts["Số đơn tiếp nhận"].value == "='Đơn theo loại'!I10"
    assert facts["Số đơn quá hạn"].value == "='Đơn quá hạn'!B10"
    assert _sum_of(wb["Phiên tiếp"], wb["Phiên tiếp"]["B8"].value) == 3
    assert date.fromisoformat(body["last_day"]) == date(2026, 9, 30)

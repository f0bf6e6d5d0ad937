"""The report page in Chromium: its six charts are drawn (Chart.js from npm, under the CSP) with
the figures the JSON API gives for the known seed, its tables say the same, the language switch
gives English labels, and its export downloads a workbook openpyxl opens."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hub.api.keys import DATABASE
from hub.services.auth import actor_for_user
from hub.storage.tables import OfficeRow, UserRow
from tests.fixtures_hub import HubServer
from tests.hub import reports_seed
from tests.hub.reports_seed import EXPECTED_TOP_Q3, PERIOD, Actors, Offices
from tests.ui.browser import ConsoleWatch, OpenContext, ready

pytestmark = pytest.mark.browser

# Each chart's datasets as the page must draw them, from the figures counted by hand.
TYPES = ["complaint", "denunciation", "recommendation", "feedback", "mixed"]
STATUSES = ["received", "accepted", "transferred", "returned", "filed", "suspended", "resolved"]
P = EXPECTED_TOP_Q3["petitions"]
R = EXPECTED_TOP_Q3["reception"]
H = EXPECTED_TOP_Q3["hearings"]["by_kind"]
EXPECTED_CHARTS: dict[str, list[list[int]]] = {
    "types": [[P["by_type"][k] for k in TYPES]],  # 2, 1, 1, 2, 1
    "outcomes": [[P["by_status"][k] for k in STATUSES]],
    "subjects": [[4, 1, 1, 1]],
    "hearings": [
        [H[k]["online"] for k in ("periodic", "adhoc", "regular")],  # 1, 0, 0
        [H[k]["in_person"] for k in ("periodic", "adhoc", "regular")],  # 0, 1, 1
    ],
    "reception": [
        [R["regular"][c], R["leaders"][c]]
        for c in ("visits", "people", "cases_new", "cases_repeated")
    ],
    "incidents": [[1, 1, 0, 1, 0]],
}

_CHART_DATA = """(name) => {
  const canvas = document.querySelector(`#chart-${name} canvas`);
  const chart = window.Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
  return {
    data: chart.data.datasets.map((d) => d.data),
    labels: chart.data.labels,
    width: canvas.width,
    height: canvas.height,
    inked,
  };
}"""


async def _seed(hub: HubServer) -> int:
    assert hub.app is not None
    db = hub.app[DATABASE]
    async with db.transaction() as session:
        by_code = {o.code: o.id for o in (await session.execute(select(OfficeRow))).scalars()}
        users = {
            u.username: await actor_for_user(session, u)
            for u in (await session.execute(select(UserRow))).scalars()
        }
    offices = Offices(
        by_code["HY"], by_code["HY.VANLAM"], by_code["HY.PHOHIEN"], by_code["BG"], by_code["TW"]
    )
    actors = Actors(users["staff.hungyen"], users["staff.bacgiang"], users["admin"])
    await reports_seed.seed(db, offices, actors)
    return offices.top


async def test_the_page_draws_its_charts_from_the_reports_figures(
    hub: HubServer, open_context: OpenContext
) -> None:
    top = await _seed(hub)
    watch = ConsoleWatch()
    context = await open_context("staff.hungyen")
    page = watch.watch(await context.new_page())
    await page.goto(f"/reports?office_id={top}&period={PERIOD}")
    await ready(page)
    assert await page.locator("#rp-charts").get_attribute("data-drawn") == "true"
    drawn: dict[str, dict[str, Any]] = {}
    for name, expected in EXPECTED_CHARTS.items():
        chart = await page.evaluate(_CHART_DATA, name)
        assert chart["data"] == expected, name
        # Drawn on a canvas of real size, not merely configured.
        assert chart["width"] > 100 and chart["height"] > 100, (name, chart)
        assert chart["inked"] > 500, (name, chart["inked"])
        drawn[name] = chart
    assert drawn["types"]["labels"] == [
        "Khiếu nại",
        "Tố cáo",
        "Kiến nghị",
        "Phản ánh",
        "Nhiều nội dung",
    ]
    assert drawn["subjects"]["labels"] == [
        "Đất đai",
        "Môi trường",
        "Xây dựng",
        "Chưa xác định lĩnh vực",
    ]
    # The tables under the charts hold the same figures.
    visits = page.locator('[data-table="reception"] [data-row="_total"] [data-col="visits"]')
    assert (await visits.inner_text()).strip() == "7"
    overdue = page.locator('[data-table="overdue"] [data-row="_total"] [data-col="overdue"]')
    assert (await overdue.inner_text()).strip() == "4"

    # The export link downloads the workbook of the same report.
    async with page.expect_download() as caught:
        await page.locator("#rp-export").click()
    download = await caught.value
    path = await download.path()
    assert path is not None
    wb = load_workbook(io.BytesIO(path.read_bytes()))
    assert wb["Tiếp công dân"]["B5"].value == 4 and wb["Tiếp công dân"]["B7"].value == "=SUM(B5:B6)"

    # In English the charts' labels follow the switch.
    await page.locator('a[data-lang="en"]').click()
    await ready(page)
    english = await page.evaluate(_CHART_DATA, "types")
    assert english["labels"][:2] == ["Complaint", "Denunciation"]
    assert english["data"] == EXPECTED_CHARTS["types"]
    assert watch.take() == []

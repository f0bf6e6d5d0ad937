"""The operator board in real Chromium: a site's link figures, the hub's and its browser's own
(client_stats), and its grade show in its row while it sits in a hearing."""

from __future__ import annotations

import re

import pytest

from tests.browser.sites import HubApi, OpenSite

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_the_board_shows_a_sites_resolution_and_candidate_type(
    open_site: OpenSite, api: HubApi
) -> None:
    operator = await open_site("operator")
    await operator.page.goto("/operator")
    await operator.page.wait_for_selector("#op-live[data-state=connected]", timeout=10_000)
    site = await open_site("leader")
    office_id = site.user["office_id"]
    row = f'#op-table tr[data-office-id="{office_id}"]'
    # Before any hearing: nothing measured, so the figures say nothing.
    assert (await operator.page.text_content(f"{row} td.figures") or "").strip() == "—"

    offices = await api.offices_by_code()
    hearing_id = await api.live_hearing(
        "Phiên thử bảng giám sát", host_office_id=office_id, site_office_ids=[offices["HY"]["id"]]
    )
    await site.join(hearing_id)

    # The browser's own figures (every 3 s) come with the hub's next measurement (every 3 s).
    cell = f'{row} td.figures[data-candidate-type="host"]'
    await operator.page.wait_for_selector(cell, timeout=20_000)
    resolution = await operator.page.get_attribute(cell, "data-resolution")
    assert resolution and re.fullmatch(r"\d+x\d+", resolution), resolution
    width, height = (int(n) for n in resolution.split("x"))
    # The fake camera is capped at 320x240 (tests/browser/sites.py); the encoder may scale
    # it down under load, never up.
    assert 0 < width <= 320 and 0 < height <= 240
    text = await operator.page.text_content(f"{row} td.figures") or ""
    assert f"gửi {width}×{height}" in text and "host (trực tiếp)" in text, text
    assert "kbit/s" in text, f"the hub's bitrate is missing: {text}"
    grade = f"{row} td.grade-cell"
    # The hub grades the link from its own figures: a loopback link is good.
    await operator.page.wait_for_selector(f"{grade} .grade--good", timeout=20_000)
    assert (await operator.page.text_content(f"{grade} .grade--good")) == "Tốt"
    # A status with another grade recolours the row (fed through the board's hook).
    status = await operator.page.evaluate("(id) => window.tcdOperator.state.get(id)", office_id)
    assert status["hearing_id"] == hearing_id
    await operator.page.evaluate(
        """([id, hearing]) => window.tcdOperator.apply({office_id: id, online: true,
             hearing_id: hearing, state: "admitted", since: new Date().toISOString(),
             grade: "poor"})""",
        [office_id, hearing_id],
    )
    assert (await operator.page.text_content(f"{grade} .grade--poor")) == "Kém"
    assert await operator.page.get_attribute(row, "data-grade") == "poor"
    # In a hearing on a poor link: its presence is degraded (the hub's rule, when the status
    # does not say).
    assert await operator.page.get_attribute(row, "data-presence") == "degraded"
    assert (await operator.page.text_content(f"{row} .conn--degraded")) == "Đường truyền kém"
    errors = operator.console_errors + site.console_errors
    assert not errors, errors

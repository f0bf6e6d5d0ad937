"""A site's self-test in real Chromium against a real hub (on its media workers): on loopback
with the fake camera and microphone it scores good; with the camera blocked it scores bad,
saying why; either way the result is kept and an operator sees it, over the API and on the
board."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser.sites import CHROMIUM_ARGS, CHROMIUM_EXECUTABLE, PASSWORD, HubApi, OpenSite
from tests.fixtures_hub import HubServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

# The whole run: devices, the tone, 10 s looped through the hub, the POST.
RUN_TIMEOUT_MS = 45_000


async def run_self_test(page: Page) -> dict[str, Any]:
    """Start the test, confirm the tone as a user would, wait until the result is kept."""
    await page.click("#st-start")
    await page.wait_for_selector("#st-heard:not([disabled])", timeout=15_000)
    await page.click("#st-heard")
    await page.wait_for_selector("#self-test[data-saved]", timeout=RUN_TIMEOUT_MS)
    assert await page.get_attribute("#self-test", "data-saved") == "true", await page.text_content(
        "#st-error"
    )
    result: dict[str, Any] = await page.evaluate("() => window.tcdSelfTest.kept")
    return result


async def results_seen_by(hub: HubServer, operator: str, office_id: int) -> list[dict[str, Any]]:
    """The office's results as an operator reads them over the API."""
    async with aiohttp.ClientSession() as session:
        client = HubApi(hub.url, session)
        await client.login(operator)
        body = await client.get(f"/api/v1/self-tests?office_id={office_id}")
    items: list[dict[str, Any]] = body["items"]
    return items


async def board_cell(operator: Page, office_id: int) -> tuple[str | None, str]:
    """The self-test cell of an office's row on the operator board: (score, text)."""
    cell = f'#op-table tr[data-office-id="{office_id}"] td.self-test-cell'
    await operator.goto("/operator")
    await operator.wait_for_selector(f"{cell} .st-score", timeout=10_000)
    return await operator.get_attribute(cell, "data-score"), (
        await operator.text_content(cell) or ""
    )


async def test_a_self_test_on_loopback_scores_good_and_operators_see_it(
    hub: HubServer, open_site: OpenSite
) -> None:
    site = await open_site("staff.hungyen")
    office_id = site.user["office_id"]
    # Reached from the kiosk's screen, as a site's PC would.
    await site.page.goto("/site")
    await site.page.click("#kiosk-self-test")
    await site.page.wait_for_url("**/self-test")
    kept = await run_self_test(site.page)

    figures = kept["figures"]
    print("self-test figures on loopback:", figures)
    assert (kept["score"], kept["reasons"]) == ("good", []), kept
    # Its own fake camera came back through the hub (capped at 320x240, 15 fps in these tests).
    assert 0 < figures["video_height"] <= 240 and figures["video_fps"] >= 10, figures
    assert figures["loss_pct"] < 10 and figures["rtt_ms"] < 400, figures
    assert figures["audio_level"] > 0 and figures["mic_level"] > 0.01, figures
    assert figures["candidate_type"] == "host" and figures["seconds"] >= 9, figures
    for check in ("camera", "microphone", "speaker", "loop"):
        assert await site.page.get_attribute(f"#st-{check}", "data-result") == "good", check
    assert (await site.page.text_content("#st-score")) == "Tốt"
    assert "Đã lưu kết quả" in (await site.page.text_content("#st-saved") or "")

    seen = await results_seen_by(hub, "operator.hungyen", office_id)
    assert seen[0]["id"] == kept["id"] and seen[0]["score"] == "good"
    operator = await open_site("operator")
    score, text = await board_cell(operator.page, office_id)
    assert score == "good" and text.startswith("Tốt"), text
    errors = site.console_errors + operator.console_errors
    assert not errors, errors


@pytest.fixture
async def chromium_asking_for_permission() -> AsyncIterator[Browser]:
    """Chromium with the fake devices but without --use-fake-ui-for-media-stream: it grants
    the camera and microphone only as its context's permissions say, as a browser whose user
    (or policy) blocked them does."""
    # (A missing Chromium is reported by the `chromium` fixture, which open_site needs first.)
    assert os.access(CHROMIUM_EXECUTABLE, os.X_OK), CHROMIUM_EXECUTABLE
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM_EXECUTABLE, headless=True, args=args
        )
        try:
            yield browser
        finally:
            await browser.close()


async def test_a_self_test_with_the_camera_blocked_scores_bad_and_operators_see_why(
    hub: HubServer, open_site: OpenSite, chromium_asking_for_permission: Browser
) -> None:
    # The microphone allowed, the camera not: getUserMedia for video is refused.
    context = await chromium_asking_for_permission.new_context(
        base_url=hub.url, permissions=["microphone"]
    )
    try:
        signed = await context.request.post(
            "/api/v1/auth/login", data={"username": "staff.bacgiang", "password": PASSWORD}
        )
        assert signed.ok, await signed.text()
        office_id = (await signed.json())["user"]["office_id"]
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto("/self-test")
        kept = await run_self_test(page)

        # Bad for the camera alone: the microphone, the speaker and the call were fine.
        assert (kept["score"], kept["reasons"]) == ("bad", ["camera_blocked"]), kept
        assert await page.get_attribute("#st-camera", "data-result") == "bad"
        assert await page.get_attribute("#st-microphone", "data-result") == "good"
        assert kept["figures"]["audio_level"] > 0, kept["figures"]
        assert "video_height" not in kept["figures"], kept["figures"]
        reasons = await page.text_content("#st-reasons") or ""
        assert "Trình duyệt bị chặn quyền dùng camera" in reasons, reasons
        assert (await page.text_content("#st-score")) == "Không đạt"
        assert not errors, errors
    finally:
        await context.close()

    seen = await results_seen_by(hub, "operator", office_id)
    assert (seen[0]["id"], seen[0]["score"], seen[0]["reasons"]) == (
        kept["id"],
        "bad",
        ["camera_blocked"],
    )
    operator = await open_site("operator")
    score, text = await board_cell(operator.page, office_id)
    assert score == "bad" and text.startswith("Không đạt"), text
    title = await operator.page.get_attribute(
        f'#op-table tr[data-office-id="{office_id}"] td.self-test-cell', "title"
    )
    assert title == "Trình duyệt bị chặn quyền dùng camera", title

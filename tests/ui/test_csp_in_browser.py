"""The Content-Security-Policy in real Chromium: every main page runs with it and none breaks
it (no refused script, style, connection or image), and no other site can frame a page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.fixtures_hub import HubServer
from tests.ui.browser import (
    CHROMIUM_ARGS,
    CHROMIUM_EXECUTABLE,
    HubApi,
    OpenContext,
    ready,
    vn_now,
)

pytestmark = pytest.mark.browser

# Run before any page script, outside the page's CSP: every violation the page reports.
_COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} refused ${event.blockedURI} at ${where}`);
});
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Chromium with a fake camera, so the join page and the kiosk run their media code too."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM_EXECUTABLE,
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class CspWatch:
    """CSP complaints of a page: the console's and the securitypolicyviolation events'."""

    def __init__(self) -> None:
        self.console: list[str] = []

    def watch(self, page: Page) -> Page:
        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text or "Refused to" in message.text:
                self.console.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        return page

    async def violations(self, page: Page) -> list[str]:
        events: list[str] = await page.evaluate("window.__cspViolations || []")
        return [*self.console, *(f"{page.url}: {e}" for e in events)]


async def _ids(api: HubApi) -> tuple[int, int]:
    petitions = await api.call("GET", "/api/v1/petitions", limit=1)
    hearings = await api.call("GET", "/api/v1/hearings", limit=1)
    return int(petitions["items"][0]["id"]), int(hearings["items"][0]["id"])


async def _guest(api: HubApi) -> tuple[int, int, str]:
    """(hearing id, guest id, the guest page's path) of a police guest of a new hearing."""
    offices = await api.office_ids()
    starts = vn_now().replace(microsecond=0) + timedelta(days=1)
    hearing = await api.call(
        "POST",
        "/api/v1/hearings",
        {
            "title": "Phiên có khách mời",
            "kind": "adhoc",
            "host_office_id": offices["TW"],
            "site_office_ids": [offices["HY"]],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        },
    )
    guests = f"/api/v1/hearings/{hearing['id']}/guests"
    police = {"name": "Trần Văn Bình", "agency": "Công an tỉnh Hưng Yên", "agency_kind": "police"}
    guest = await api.call("POST", guests, police)
    link = await api.call("POST", f"{guests}/{guest['id']}/link")
    return int(hearing["id"]), int(guest["id"]), f"/guest/{link['token']}"


async def _visit(page: Page, path: str, *, wait_ready: bool = True) -> None:
    await page.goto(path)
    if wait_ready:
        await ready(page)
    else:
        await page.wait_for_load_state("load")
    # Let late scripts (socket connection, polling, media) run too.
    await page.wait_for_timeout(1_500)


async def test_main_pages_run_under_the_csp_without_a_violation(
    hub: HubServer, staff_api: HubApi, open_context: OpenContext
) -> None:
    petition_id, hearing_id = await _ids(staff_api)
    offices = await staff_api.office_ids()
    delegation = await staff_api.call(
        "POST",
        "/api/v1/delegations",
        {
            "receiving_office_id": offices["TW"],
            "home_office_id": offices["HY"],
            "received_on": "2026-12-01",
            "people_count": 6,
            "matter": "Khiếu nại thu hồi đất",
            "petition_ids": [petition_id],
        },
    )
    guest_hearing, guest_id, guest_page = await _guest(staff_api)
    pages = {
        # The guest's page (its link: a session of its own, no sign-in) last: it makes the
        # context a guest's.
        None: ["/schedule", "/login", "/no/such/page", guest_page],
        "staff": [
            "/staff",
            "/staff/deadlines",
            "/staff/calendar",
            "/staff/hearings/new",
            f"/staff/hearings/{hearing_id}",
            "/staff/petitions",
            "/staff/petitions/new",
            f"/staff/petitions/{petition_id}",
            "/staff/delegations",
            "/staff/delegations/new",
            f"/staff/delegations/{delegation['id']}",
            "/self-test",
            "/site",
            f"/staff/hearings/{guest_hearing}/guests/{guest_id}/card",
        ],
        "leader": ["/leader", "/reports", f"/hearings/{hearing_id}/join"],
        "operator": ["/operator", "/operator/sites/1"],
    }
    found: list[str] = []
    visited = 0

    async def walk(username: str | None, paths: list[str]) -> None:
        nonlocal visited
        context = await open_context(username)
        await context.add_init_script(_COLLECT_VIOLATIONS)
        watch = CspWatch()
        page = watch.watch(await context.new_page())
        for path in paths:
            live = path == "/site" or path.endswith("/join") or path.startswith("/guest/")
            await _visit(page, path, wait_ready=not live)
            found.extend(await watch.violations(page))
            visited += 1
        await context.close()

    # Each role in a browser profile of its own, side by side (the staff's long list in two
    # halves): a page's CSP does not depend on what another profile does meanwhile.
    staff = pages.pop("staff")
    walks = [walk(u, p) for u, p in pages.items()]
    walks += [walk("staff", staff[: len(staff) // 2]), walk("staff", staff[len(staff) // 2 :])]
    await asyncio.gather(*walks)
    assert visited == 23
    assert found == []


@pytest.fixture
async def framing_site() -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Another server on 127.0.0.1: the same site as the hub (ports do not count), so the
    SameSite=Strict session cookie goes along into its frames. Returns its page's URL."""
    runners: list[web.AppRunner] = []

    async def serve(target: str) -> str:
        async def framing(_request: web.Request) -> web.Response:
            body = f'<iframe id="victim" src="{target}" width="800" height="600"></iframe>'
            return web.Response(text=body, content_type="text/html")

        app = web.Application()
        app.router.add_get("/", framing)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}/"

    try:
        yield serve
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_a_same_site_page_cannot_frame_a_signed_in_page(
    hub: HubServer,
    staff_api: HubApi,
    open_context: OpenContext,
    framing_site: Callable[[str], Awaitable[str]],
) -> None:
    petition_id, _ = await _ids(staff_api)
    context = await open_context("staff")
    framing_url = await framing_site(f"{hub.url}/staff/petitions/{petition_id}")
    page = await context.new_page()
    await page.goto(framing_url)
    await page.wait_for_timeout(2_000)
    framed = [f for f in page.frames if f is not page.main_frame]
    assert len(framed) == 1
    # A refused frame is left on Chromium's error page; the petition never renders in it.
    assert framed[0].url.startswith("chrome-error://"), framed[0].url
    assert await framed[0].locator("#petition-title").count() == 0

"""Fixtures for the browser tests: headless Debian Chromium with a fake camera, the real hub on
an ephemeral port, and signed-in sites; plus the join-to-first-frame report in the summary."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.serve import hub_settings, prepare, served
from tests.browser.sites import (
    CHROMIUM_ARGS,
    CHROMIUM_EXECUTABLE,
    HubApi,
    JoinTiming,
    OpenSite,
    SitePage,
)
from tests.fixtures_hub import HubServer
from tests.fixtures_teardown import bounded

JOIN_TIMINGS = pytest.StashKey[list[JoinTiming]]()
LAUNCH_SECONDS = pytest.StashKey[list[float]]()
REPORT_PATH = Path("test-results") / "browser-join-timings.json"


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail under CI, where `make test` has installed everything."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture
async def chromium(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """Debian's headless Chromium (Playwright cannot download its own browsers here)."""
    if not os.access(CHROMIUM_EXECUTABLE, os.X_OK):
        _unavailable(f"{CHROMIUM_EXECUTABLE} is missing (`make test` installs it as root)")
    started = time.perf_counter()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM_EXECUTABLE, headless=True, args=list(CHROMIUM_ARGS)
        )
        request.config.stash.setdefault(LAUNCH_SECONDS, []).append(time.perf_counter() - started)
        try:
            yield browser
        finally:
            await bounded(browser.close(), 30, "closing Chromium")


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubServer]:
    """The real hub (API, pages, signaling, rooms) on 127.0.0.1, migrated and seeded, served by
    `tcd-hub serve` in a process of its own, as in production: the browsers' timings then do
    not include this test process's own work (Playwright's driver shares no loop with the hub)."""
    settings = hub_settings(tmp_path / "hub")
    await prepare(settings)
    async with served(settings, tmp_path) as server:
        yield server


@pytest.fixture
async def api(hub: HubServer) -> AsyncIterator[HubApi]:
    """The API signed in as the central office's staff member, who schedules hearings."""
    async with aiohttp.ClientSession() as session:
        client = HubApi(hub.url, session)
        await client.login("staff")
        yield client


@pytest.fixture
async def open_site(hub: HubServer, chromium: Browser) -> AsyncIterator[OpenSite]:
    """Opens a browser context signed in as a demo user; all are closed after the test."""
    opened: list[SitePage] = []

    async def open_(username: str) -> SitePage:
        site = await SitePage.open(chromium, hub.url, username)
        opened.append(site)
        return site

    try:
        yield open_
    finally:
        for site in opened:
            await site.close()


@pytest.fixture
def join_timings(request: pytest.FixtureRequest) -> Callable[[JoinTiming], None]:
    """Records a browser's join-to-first-remote-frame for the end-of-run summary."""
    store = request.config.stash.setdefault(JOIN_TIMINGS, [])
    return store.append


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print join-to-first-remote-frame (median, max) of every browser measured in this run."""
    timings = config.stash.get(JOIN_TIMINGS, [])
    launches = config.stash.get(LAUNCH_SECONDS, [])
    if not timings and not launches:
        return
    terminalreporter.section("browser join-to-first-remote-frame (loopback)", sep="-")
    if timings:
        joins = [t.from_join_ms for t in timings]
        opens = [t.from_page_open_ms for t in timings]
        alls = [t.all_remotes_ms for t in timings]
        terminalreporter.line(
            f"{len(timings)} browsers joining a room with others publishing (timed from join(),"
            " or from admission for sites that waited); goal: median <= 400 ms"
        )
        for label, values in (
            ("join() -> first remote frame", joins),
            ("page open -> first remote frame", opens),
            ("join() -> every remote playing", alls),
        ):
            terminalreporter.line(
                f"  {label:34} median {statistics.median(values):6.0f} ms"
                f"   max {max(values):6.0f} ms"
            )
        for t in timings:
            terminalreporter.line(
                f"  {t.site:16} join->frame {t.from_join_ms:5.0f} ms, open->frame "
                f"{t.from_page_open_ms:5.0f} ms, {t.remotes} remote(s), waited "
                f"{t.waited_ms:5.0f} ms; steps {t.steps}"
            )
        report = config.rootpath / REPORT_PATH
        report.parent.mkdir(exist_ok=True)
        report.write_text(json.dumps([asdict(t) for t in timings], indent=2))
        terminalreporter.line(f"  (written to {REPORT_PATH})")
    if launches:
        terminalreporter.line(
            f"Chromium start (Playwright + launch): median {statistics.median(launches):.2f} s, "
            f"max {max(launches):.2f} s over {len(launches)} launch(es)"
        )

"""Fixtures of the page tests: Debian's headless Chromium and the seeded hub on a free port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import NoReturn

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.fixtures_hub import HubFactory, HubServer
from tests.fixtures_teardown import bounded
from tests.ui.browser import (
    CHROMIUM_ARGS,
    CHROMIUM_EXECUTABLE,
    HubApi,
    new_context,
    sign_in_api,
)


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail under CI, where `make test` has installed everything."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium (Playwright cannot download its own browsers here)."""
    if not os.access(CHROMIUM_EXECUTABLE, os.X_OK):
        _unavailable(f"{CHROMIUM_EXECUTABLE} is missing (`make test` installs it as root)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM_EXECUTABLE, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await bounded(chromium.close(), 30, "closing Chromium")


@pytest.fixture
async def hub(hub_server: HubFactory) -> HubServer:
    """The real hub, migrated and seeded with the demo offices, accounts and records."""
    return await hub_server()


@pytest.fixture
async def staff_api(hub: HubServer) -> AsyncIterator[HubApi]:
    """The JSON API as the central office's staff member, to prepare what pages show."""
    async with aiohttp.ClientSession() as session:
        client = HubApi(hub.url, session)
        await client.login("staff")
        yield client


@pytest.fixture
async def open_context(
    browser: Browser, hub: HubServer
) -> AsyncIterator[Callable[..., Awaitable[BrowserContext]]]:
    """Opens browser profiles on the hub, signed in as a demo user when one is named; closes
    them before the hub stops, so no page's socket holds the hub's shutdown up."""
    contexts: list[BrowserContext] = []

    async def open_(
        username: str | None = None, viewport: dict[str, int] | None = None
    ) -> BrowserContext:
        context = await new_context(browser, hub.url, viewport)
        contexts.append(context)
        if username:
            await sign_in_api(context, username)
        return context

    try:
        yield open_
    finally:
        for context in contexts:
            await bounded(context.close(), 30, "closing a browser context")

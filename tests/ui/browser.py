"""Driving the pages in headless Chromium: launch options, signing in, waiting for a page's
scripts, and collecting browser console errors (a page must log none)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Error, Page

CHROMIUM_EXECUTABLE = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "demo"
VN = timezone(timedelta(hours=7))
LAPTOP = {"width": 1366, "height": 768}
ROOM_SCREEN = {"width": 1920, "height": 1080}

# open_context(username=None, viewport=None): a browser profile on the hub, maybe signed in.
OpenContext = Callable[..., Awaitable[BrowserContext]]

# True once no element on the page still says it is loading.
_READY_JS = (
    "() => document.readyState === 'complete' && !document.querySelector('[aria-busy=\"true\"]')"
)


@dataclass
class ConsoleWatch:
    """Every console error and uncaught exception of the pages it watches."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        """Start collecting from `page`; returns it."""

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{page.url}: console: {message.text}")

        def on_error(error: Error) -> None:
            self.errors.append(f"{page.url}: uncaught: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_error)
        return page

    def take(self) -> list[str]:
        """The errors so far, forgetting them."""
        out, self.errors = self.errors, []
        return out


async def new_context(
    browser: Browser, base_url: str, viewport: dict[str, int] | None = None
) -> BrowserContext:
    """A fresh browser profile as an office PC in Vietnam would have it."""
    context = await browser.new_context(
        base_url=base_url,
        viewport=viewport or LAPTOP,  # type: ignore[arg-type]
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    # Pages answer in well under a second here; a missing element should fail fast.
    context.set_default_timeout(10_000)
    return context


async def sign_in_api(context: BrowserContext, username: str) -> None:
    """Sign the context in through the API (sets the session and CSRF cookies)."""
    response = await context.request.post(
        "/api/v1/auth/login", data={"username": username, "password": PASSWORD}
    )
    assert response.ok, f"sign-in of {username} failed: {response.status} {await response.text()}"


async def ready(page: Page, wait_ms: float = 10_000) -> None:
    """Wait until the page and its scripts have finished loading their data."""
    await page.wait_for_function(_READY_JS, timeout=wait_ms)


async def open_page(page: Page, path: str) -> None:
    """Go to `path` and wait until it is ready."""
    await page.goto(path)
    await ready(page)


class HubApi:
    """The JSON API as a signed-in user, for preparing data the pages then show."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session
        self.token = ""

    async def login(self, username: str) -> dict[str, Any]:
        """Sign in; later calls carry the bearer token."""
        out: dict[str, Any] = await self.call(
            "POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD}
        )
        self.token = str(out["token"])
        return out

    async def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """One API call; raises with the hub's message on an error status."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method,
            self.base_url + path,
            json=body,
            params={k: str(v) for k, v in query.items()},
            headers=headers,
        ) as response:
            data = await response.json()
            if response.status >= 400:
                raise AssertionError(f"{method} {path}: {response.status} {json.dumps(data)}")
            return data

    async def office_ids(self) -> dict[str, int]:
        """Office ids by code."""
        data = await self.call("GET", "/api/v1/offices")
        return {o["code"]: o["id"] for o in data["items"]}


def vn_now() -> datetime:
    """Now, in Vietnam's offset."""
    return datetime.now(VN)

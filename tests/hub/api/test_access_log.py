"""The serving process's access log (hub.api.security.AccessLogger, what `tcd-hub serve`
runs with) keeps no guest link token: whoever reads the logs must not be able to open a live
hearing with what they read."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web

from hub.api.security import AccessLogger, loggable_path

TOKEN = "g.QeWDAWG7LfPQF0njZN1CcnqGJ_hvSMO5hK57L-h_vsM"


def test_a_guest_page_is_logged_without_its_token() -> None:
    assert loggable_path(f"/guest/{TOKEN}") == "/guest/[token]"
    assert loggable_path(f"/guest/{TOKEN}?lang=en") == "/guest/[token]"
    assert loggable_path("/staff/hearings/7?created=1") == "/staff/hearings/7?created=1"


async def test_the_access_log_of_a_served_guest_page_names_no_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/guest/{token}", page)
    app.router.add_get("/static/app.css", page)
    runner = web.AppRunner(app, access_log_class=AccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        with caplog.at_level(logging.INFO, logger="aiohttp.access"):
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{url}/guest/{TOKEN}") as response:
                    assert response.status == 200
                # The page's own files name it as their Referer: not logged either.
                headers = {"Referer": f"{url}/guest/{TOKEN}"}
                async with session.get(f"{url}/static/app.css", headers=headers) as response:
                    assert response.status == 200
    finally:
        await runner.cleanup()
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 2, lines
    assert '"GET /guest/[token]" 200' in lines[0]
    assert all(TOKEN not in line for line in lines)

"""The hearing page says whether its session log verifies: a seeded hearing's log does; after
a row is changed in the database the page says it was altered, at which event; a user outside
the hearing's scope still gets 404."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select, text

from hub.storage.db import Database
from hub.storage.tables import HearingRow, LogEventRow
from tests.fixtures_hub import HubServer
from tests.ui.browser import PASSWORD


@pytest.fixture
async def client(hub: HubServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def _sign_in(client: aiohttp.ClientSession, username: str) -> None:
    client.cookie_jar.clear()
    async with client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    ) as response:
        assert response.status == 200


async def test_the_hearing_page_says_whether_its_log_verifies(
    hub: HubServer, client: aiohttp.ClientSession
) -> None:
    db = Database(hub.settings.effective_database_url)
    try:
        async with db.transaction() as session:
            hearing_id = (
                await session.execute(
                    select(HearingRow.id).where(HearingRow.title.like("%Văn Lâm%"))
                )
            ).scalar_one()
        path = f"/staff/hearings/{hearing_id}"
        for username in ("leader.hungyen", "staff.hungyen"):
            await _sign_in(client, username)
            async with client.get(path) as response:
                assert response.status == 200
                page = await response.text()
            assert 'id="hd-log-integrity" data-ok="true"' in page
            assert "Nhật ký toàn vẹn: chuỗi mã băm của 1 sự kiện khớp." in page

        async with db.transaction() as session:
            event_id = (
                await session.execute(
                    select(LogEventRow.id).where(LogEventRow.hearing_id == hearing_id)
                )
            ).scalar_one()
            await session.execute(
                text("UPDATE log_events SET detail = '{}' WHERE id = :i"), {"i": event_id}
            )
        async with client.get(path) as response:
            page = await response.text()
        assert 'id="hd-log-integrity" data-ok="false"' in page
        assert f"chuỗi mã băm đứt tại sự kiện {event_id} (event hash)" in page

        await _sign_in(client, "staff.bacgiang")
        async with client.get(path) as response:
            assert response.status == 404
    finally:
        await db.close()

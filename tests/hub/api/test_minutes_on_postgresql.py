"""The minutes on PostgreSQL: drafted, saved under versions (also by two editors at once),
signed off and read-only after, exported as a PDF, as on SQLite."""

from __future__ import annotations

import pytest

from tests.hub.api.test_minutes_routes import HOA, _ok, check_two_editors_at_once, hold_hearing
from tests.hub.client import Api, ThreadedHub, assert_error

pytestmark = pytest.mark.postgres


async def test_minutes_from_draft_to_sign_off(pg_api: Api, pg_hub: ThreadedHub) -> None:
    heard = await hold_hearing(pg_api, pg_hub)
    url = f"/api/v1/hearings/{heard.hearing_id}/minutes"
    draft = await _ok(await pg_api.get(url, user="staff.hungyen"))
    assert draft["content"]["petitions"][0]["petitioner"] == HOA
    saved = await _ok(
        await pg_api.call(
            "PUT", url, user="staff.hungyen", json={"version": 0, "content": draft["content"]}
        )
    )
    assert saved["version"] == 1
    stale = await pg_api.call(
        "PUT", url, user="staff", json={"version": 0, "content": draft["content"]}
    )
    assert_error(stale, 409, field="version")
    signed = await _ok(await pg_api.post(f"{url}/sign", user="leader.hungyen", json={"version": 1}))
    assert signed["status"] == "signed" and signed["content"]["number"].endswith("/BB-HY")
    after = await pg_api.call(
        "PUT", url, user="staff.hungyen", json={"version": 2, "content": draft["content"]}
    )
    assert_error(after, 409, says="read-only")
    pdf = await pg_api.get(f"{url}.pdf", user="staff.hungyen")
    assert pdf.status == 200 and pdf.content.startswith(b"%PDF-")


async def test_two_editors_at_once_on_postgresql(pg_api: Api, pg_hub: ThreadedHub) -> None:
    await check_two_editors_at_once(pg_api, pg_hub)

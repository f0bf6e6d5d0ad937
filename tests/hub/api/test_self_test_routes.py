"""Self-test results over the API: a site keeps its own, operators read them in scope (an
office's, or each office's last), a bad one reaches the alert seam, bad input is refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.keys import SELF_TEST_HOOKS
from hub.storage.tables import SelfTestRow
from tests.hub.client import Api, ThreadedHub, assert_error, assert_list

GOOD_FIGURES = {
    "rtt_ms": 2.5,
    "loss_pct": 0.0,
    "video_fps": 14.8,
    "video_width": 320,
    "video_height": 240,
    "audio_level": 0.31,
    "mic_level": 0.5,
    "seconds": 10,
    "candidate_type": "host",
}


@pytest.fixture
def bad_results(hub: ThreadedHub) -> Iterator[list[tuple[int, str, list[Any]]]]:
    """What the alert seam (SelfTestHooks.on_bad) is handed while the test runs."""
    seen: list[tuple[int, str, list[Any]]] = []

    async def hook(session: AsyncSession, row: SelfTestRow) -> None:
        assert session.in_transaction()  # the result's own transaction
        seen.append((row.office_id, row.score, list(row.reasons)))

    hooks = hub.server.app[SELF_TEST_HOOKS]
    hooks.on_bad.append(hook)
    try:
        yield seen
    finally:
        hooks.on_bad.remove(hook)


@pytest.fixture
def passed_results(hub: ThreadedHub) -> Iterator[list[int]]:
    """The ids of results SelfTestHooks.on_passed is handed (where an alert would clear)."""
    seen: list[int] = []

    async def hook(_session: AsyncSession, row: SelfTestRow) -> None:
        seen.append(row.id)

    hooks = hub.server.app[SELF_TEST_HOOKS]
    hooks.on_passed.append(hook)
    try:
        yield seen
    finally:
        hooks.on_passed.remove(hook)


async def test_a_site_keeps_its_result_and_its_operators_read_it(
    api: Api,
    hub: ThreadedHub,
    bad_results: list[tuple[int, str, list[Any]]],
    passed_results: list[int],
) -> None:
    hy = hub.office("HY")
    posted = await api.post(
        "/api/v1/self-tests",
        user="staff.hungyen",
        json={"score": "good", "reasons": [], "figures": GOOD_FIGURES},
    )
    assert posted.status == 201, posted.text
    result = posted.json
    assert (result["office_id"], result["score"], result["reasons"]) == (hy, "good", [])
    assert result["figures"] == GOOD_FIGURES and result["at"].endswith("+07:00")
    assert bad_results == [] and passed_results == [result["id"]]

    bad = await api.post(
        "/api/v1/self-tests",
        user="leader.hungyen",
        json={"score": "bad", "reasons": ["camera_blocked", "speaker_unconfirmed"]},
    )
    assert bad.status == 201, bad.text
    assert bad_results == [(hy, "bad", ["camera_blocked", "speaker_unconfirmed"])]
    assert passed_results == [result["id"]]

    # The bad one raised Hưng Yên's self_test_failed alert, outside any hearing.
    raised = assert_list(
        await api.get(
            f"/api/v1/alerts?office={hy}&kind=self_test_failed&open=true", user="operator"
        )
    )
    assert [(a["office_id"], a["hearing_id"]) for a in raised] == [(hy, None)], raised
    assert raised[0]["detail"]["self_test_id"] == bad.json["id"]
    assert raised[0]["detail"]["reasons"] == ["camera_blocked", "speaker_unconfirmed"]

    # Hưng Yên's operator and the central one see both, newest first; the last per office too.
    for user in ("operator.hungyen", "operator"):
        items = assert_list(await api.get(f"/api/v1/self-tests?office_id={hy}", user=user))
        assert [i["id"] for i in items[:2]] == [bad.json["id"], result["id"]]
        assert (
            items[0]["user_name"] and items[0]["office_name"] == "Ban Tiếp công dân tỉnh Hưng Yên"
        )
        last = assert_list(await api.get("/api/v1/self-tests?latest=true", user=user))
        assert [i["id"] for i in last if i["office_id"] == hy] == [bad.json["id"]]
        assert len({i["office_id"] for i in last}) == len(last)

    # A test that passes afterwards clears the alert (kept, closed, with what cleared it).
    again = await api.post("/api/v1/self-tests", user="staff.hungyen", json={"score": "good"})
    assert again.status == 201, again.text
    closed = assert_list(
        await api.get(f"/api/v1/alerts?office={hy}&kind=self_test_failed", user="operator")
    )
    mine = next(a for a in closed if a["id"] == raised[0]["id"])
    assert mine["open"] is False and mine["detail"]["passed_self_test_id"] == again.json["id"]
    assert passed_results == [result["id"], again.json["id"]]


async def test_out_of_scope_offices_are_not_found(api: Api, hub: ThreadedHub) -> None:
    tw, bg = hub.office("TW"), hub.office("BG")
    posted = await api.post("/api/v1/self-tests", user="staff", json={"score": "good"})
    assert posted.status == 201, posted.text
    # Hưng Yên's operator sees neither the centre's results nor Bắc Giang's, nor their being.
    for office in (tw, bg, 999_999):
        assert_error(
            await api.get(f"/api/v1/self-tests?office_id={office}", user="operator.hungyen"),
            404,
            says="not found",
        )
    listed = assert_list(await api.get("/api/v1/self-tests", user="operator.hungyen"))
    assert tw not in {i["office_id"] for i in listed}


async def test_bad_results_are_refused_by_field_and_nothing_is_kept(
    api: Api, hub: ThreadedHub
) -> None:
    def count() -> int:
        return len(assert_list(hub.call("GET", "/api/v1/self-tests?limit=200", user="admin")))

    before = count()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"score": "great"}, "score", "score"),
        ({"score": "good", "reasons": ["camera_blocked"]}, "score", "must be bad"),
        ({"score": "bad", "reasons": []}, "score", "must be good"),
        ({"score": "bad", "reasons": ["cosmic_rays"]}, "reasons", "unknown reason"),
        ({"score": "okay", "reasons": ["fps_low", "fps_low"]}, "reasons", "twice"),
        (
            {"score": "good", "figures": {"loss_pct": 140}},
            "figures",
            "loss_pct: input should be less than or equal to 100",
        ),
        ({"score": "good", "figures": {"rtt_ms": "fast"}}, "figures", "rtt_ms"),
        ({"score": "good", "figures": {"cpu": 3}}, "figures", "cpu"),
        ({"score": "good", "office_id": hub.office("BG")}, "office_id", "extra"),
        ({"reasons": []}, "score", "required"),
    ]
    for body, field, says in cases:
        assert_error(
            await api.post("/api/v1/self-tests", user="staff.hungyen", json=body),
            422,
            field=field,
            says=says,
        )
    # Operators watch links; they do not sit at a site to test one.
    assert_error(
        await api.post("/api/v1/self-tests", user="operator", json={"score": "good"}),
        403,
        says="operator",
    )
    assert_error(await api.get("/api/v1/self-tests?office_id=abc", user="operator"), 422)
    assert_error(await api.post("/api/v1/self-tests", json={"score": "good"}), 401)
    assert count() == before

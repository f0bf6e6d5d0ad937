"""Deadlines over the API: set on registering and on acceptance from the seeded holiday table,
extended, overridden by an office, moved by a change of the holiday table; the register's
due=overdue|week views in each caller's scope; the counts reports read; the alert raised once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.api.keys import DATABASE, DEADLINE_TASK
from hub.storage.tables import DeadlineAlertRow
from tests.hub.client import (
    Api,
    ThreadedHub,
    assert_error,
    assert_list,
    petition_body,
    today_vn,
    unique,
)


async def register(api: Api, body: dict[str, Any], user: str = "staff.hungyen") -> dict[str, Any]:
    reply = await api.post("/api/v1/petitions", user=user, json=body)
    assert reply.status == 201, reply.text
    return reply.json


@pytest.fixture
def office(hub: ThreadedHub) -> Iterator[int]:
    """A commune of Hải Phòng of the test's own: its overrides touch no other test."""
    code = unique("HP.X").upper()
    reply = hub.call(
        "POST",
        "/api/v1/offices",
        user="admin",
        json={
            "code": code,
            "name": f"Xã {code}",
            "level": "commune",
            "parent_id": hub.office("HP"),
        },
    )
    assert reply.status == 201, reply.text
    yield int(reply.json["id"])


async def test_received_the_friday_before_tet_the_intake_deadline_skips_weekends_and_tet(
    api: Api, hub: ThreadedHub
) -> None:
    # Fri 13/2/2026; the seeded table has Tết Mon 16 - Fri 20 Feb. Ten working days:
    # 23-27 Feb and 2-6 March.
    petition = await register(api, petition_body(hub.office("HY"), received_on="2026-02-13"))
    assert petition["handling_deadline"] == "2026-03-06"
    assert petition["deadline"] == {
        "rule": "intake",
        "started_on": "2026-02-13",
        "extensions": 0,
        "max_extensions": 0,
        "count": "working",
        "law": "Thông tư 05/2021/TT-TTCP (xử lý đơn)",
    }


async def test_a_deadline_typed_in_is_kept_and_clearing_it_goes_back_to_the_rule(
    api: Api, hub: ThreadedHub
) -> None:
    body = petition_body(hub.office("HY"), received_on="2026-10-05", handling_deadline="2026-10-30")
    petition = await register(api, body)
    assert (petition["handling_deadline"], petition["deadline"]["rule"]) == ("2026-10-30", "manual")
    reply = await api.patch(
        f"/api/v1/petitions/{petition['id']}",
        user="staff.hungyen",
        json={"handling_deadline": None},
    )
    assert reply.status == 200, reply.text
    # Mon 5/10/2026: ten working days end Mon 19/10.
    assert (reply.json["handling_deadline"], reply.json["deadline"]["rule"]) == (
        "2026-10-19",
        "intake",
    )
    # Accepted with a deadline typed in: that one, not the rule's.
    accepted = await api.patch(
        f"/api/v1/petitions/{petition['id']}",
        user="staff.hungyen",
        json={"status": "accepted", "status_on": "2026-10-07", "handling_deadline": "2026-11-02"},
    )
    assert accepted.status == 200, accepted.text
    assert (accepted.json["handling_deadline"], accepted.json["deadline"]["rule"]) == (
        "2026-11-02",
        "manual",
    )
    assert accepted.json["deadline"]["started_on"] == "2026-10-07"


async def test_an_accepted_denunciation_runs_thirty_days_extended_twice_at_most(
    api: Api, hub: ThreadedHub
) -> None:
    body = petition_body(hub.office("HY"), type="denunciation", received_on="2026-07-28")
    petition = await register(api, body)
    url = f"/api/v1/petitions/{petition['id']}"
    reply = await api.patch(
        url, user="staff.hungyen", json={"status": "accepted", "status_on": "2026-08-03"}
    )
    assert reply.status == 200, reply.text
    # Mon 3/8/2026 + 30 days: Wed 2/9, Quốc khánh (1/9 and 2/9 seeded): Thu 3/9.
    assert reply.json["handling_deadline"] == "2026-09-03"
    assert reply.json["deadline"]["rule"] == "denunciation_resolution"
    first = await api.post(f"{url}/extensions", user="staff.hungyen", json={"reason": "phức tạp"})
    assert first.status == 200, first.text
    assert first.json["handling_deadline"] == "2026-10-02"  # 60 days: Fri 2/10
    second = await api.post(
        f"{url}/extensions", user="staff.hungyen", json={"reason": "đặc biệt phức tạp"}
    )
    # 90 days: Sun 1/11, so Mon 2/11.
    assert (second.json["handling_deadline"], second.json["deadline"]["extensions"]) == (
        "2026-11-02",
        2,
    )
    assert [h["note"] for h in second.json["history"]][-2:] == [
        "Gia hạn lần 1, hạn mới 02/10/2026: phức tạp",
        "Gia hạn lần 2, hạn mới 02/11/2026: đặc biệt phức tạp",
    ]
    third = await api.post(f"{url}/extensions", user="staff.hungyen", json={"reason": "nữa"})
    assert_error(third, 409, field="extensions")
    assert_error(
        await api.post(f"{url}/extensions", user="staff.hungyen", json={"reason": ""}),
        422,
        field="reason",
    )
    # Another province's staff: the petition does not exist for them.
    assert_error(
        await api.post(f"{url}/extensions", user="staff.bacgiang", json={"reason": "x"}), 404
    )


async def test_acceptance_day_must_lie_between_receipt_and_today(
    api: Api, hub: ThreadedHub
) -> None:
    petition = await register(api, petition_body(hub.office("HY"), received_on="2026-08-03"))
    url = f"/api/v1/petitions/{petition['id']}"
    for day in ("2026-08-02", (today_vn() + timedelta(days=1)).isoformat()):
        reply = await api.patch(
            url, user="staff.hungyen", json={"status": "accepted", "status_on": day}
        )
        assert_error(reply, 422, field="status_on")


async def test_an_office_override_sets_its_own_days_and_its_communes_inherit_them(
    api: Api, hub: ThreadedHub, office: int
) -> None:
    running = await register(api, petition_body(office, received_on="2026-02-13"), user="admin")
    assert running["handling_deadline"] == "2026-03-06"
    reply = await api.put(
        f"/api/v1/offices/{office}/deadline-rules/intake", user="admin", json={"days": 5}
    )
    assert reply.status == 200, reply.text
    intake = next(r for r in reply.json["rules"] if r["rule"] == "intake")
    assert (intake["law_days"], intake["days"], intake["override_office_id"]) == (10, 5, office)
    # The running deadline moved: five working days after Fri 13/2/2026 are 23-27 Feb.
    again = await api.get(f"/api/v1/petitions/{running['id']}", user="admin")
    assert again.json["handling_deadline"] == "2026-02-27"
    fresh = await register(api, petition_body(office, received_on="2026-10-05"), user="admin")
    assert fresh["handling_deadline"] == "2026-10-12"  # Mon 5/10 + 5 working days: Mon 12/10
    # Remote area: complaints 45 days, 60 when complex.
    remote = await api.put(
        f"/api/v1/offices/{office}/deadline-rules/complaint_resolution",
        user="admin",
        json={"days": 45},
    )
    complaint = next(r for r in remote.json["rules"] if r["rule"] == "complaint_resolution")
    assert (complaint["days"], complaint["extension_days"]) == (45, 15)
    accepted = await api.patch(
        f"/api/v1/petitions/{fresh['id']}",
        user="admin",
        json={"status": "accepted", "status_on": "2026-10-06"},
    )
    # Tue 6/10/2026 + 45 days: Fri 20/11.
    assert accepted.json["handling_deadline"] == "2026-11-20"
    extended = await api.post(
        f"/api/v1/petitions/{fresh['id']}/extensions", user="admin", json={"reason": "phức tạp"}
    )
    # + 60 days: Sat 5/12, so Mon 7/12.
    assert extended.json["handling_deadline"] == "2026-12-07"

    back = await api.delete(f"/api/v1/offices/{office}/deadline-rules/intake", user="admin")
    assert next(r for r in back.json["rules"] if r["rule"] == "intake")["days"] == 10
    moved_back = await api.get(f"/api/v1/petitions/{running['id']}", user="admin")
    assert moved_back.json["handling_deadline"] == "2026-03-06"


async def test_overrides_are_for_admins_in_scope(api: Api, hub: ThreadedHub) -> None:
    hy = hub.office("HY")
    url = f"/api/v1/offices/{hy}/deadline-rules/intake"
    assert_error(await api.put(url, user="staff.hungyen", json={"days": 5}), 403)
    assert_error(await api.get(f"/api/v1/offices/{hy}/deadline-rules", user="staff.bacgiang"), 404)
    assert (
        await api.get(f"/api/v1/offices/{hy}/deadline-rules", user="staff.hungyen")
    ).status == 200
    assert_error(await api.put(url, user="admin", json={"days": 0}), 422, field="days")
    assert_error(
        await api.put(
            f"/api/v1/offices/{hy}/deadline-rules/forever", user="admin", json={"days": 5}
        ),
        404,
    )


async def test_the_holiday_table_is_seeded_and_a_new_day_off_moves_running_deadlines(
    api: Api, hub: ThreadedHub, office: int
) -> None:
    days = assert_list_items(await api.get("/api/v1/calendar-days?year=2026", user="staff.hungyen"))
    by_day = {d["day"]: d for d in days}
    assert {"2026-01-01", "2026-02-17", "2026-04-30", "2026-05-01", "2026-09-02"} <= set(by_day)
    assert by_day["2026-08-22"]["kind"] == "workday"
    assert all(d["day"].startswith("2026-") for d in days)
    petition = await register(api, petition_body(office, received_on="2026-10-05"), user="admin")
    assert petition["handling_deadline"] == "2026-10-19"
    url = "/api/v1/calendar-days/2026-10-12"
    assert_error(await api.put(url, user="staff", json={"kind": "holiday", "name": "x"}), 403)
    reply = await api.put(url, user="admin", json={"kind": "holiday", "name": "Nghỉ đột xuất"})
    try:
        assert reply.status == 200, reply.text
        moved = await api.get(f"/api/v1/petitions/{petition['id']}", user="admin")
        assert moved.json["handling_deadline"] == "2026-10-20"  # one working day fewer
    finally:
        assert (await api.delete(url, user="admin")).status == 200
    back = await api.get(f"/api/v1/petitions/{petition['id']}", user="admin")
    assert back.json["handling_deadline"] == "2026-10-19"
    assert_error(
        await api.put("/api/v1/calendar-days/2026-10-16", user="admin",
                      json={"kind": "workday", "name": "thứ Sáu"}),
        422, field="kind",
    )  # fmt: skip
    assert_error(await api.delete("/api/v1/calendar-days/2026-10-13", user="admin"), 404)


def assert_list_items(reply: Any) -> list[dict[str, Any]]:
    assert reply.status == 200, reply.text
    return list(reply.json["items"])


@pytest.fixture(scope="module")
def due_batch(hub: ThreadedHub) -> dict[str, Any]:
    """Petitions sharing one word: overdue, due this week, later, and closed, in Hưng Yên and
    in Bắc Giang."""
    word = unique("han")
    today = today_vn()
    specs: dict[str, tuple[str, str, int | date, int | None]] = {
        # key: (office, user, received, deadline typed in or None for the rule's)
        "hy_overdue": ("HY", "staff.hungyen", -10, -1),
        # Received in March 2026: intake's ten working days are long past.
        "hy_rule_overdue": ("HY.VANLAM", "staff.hungyen", date(2026, 3, 2), None),
        "hy_week": ("HY", "staff.hungyen", -3, 6),
        "hy_today": ("HY", "staff.hungyen", -3, 0),
        "hy_later": ("HY", "staff.hungyen", -3, 7),
        "hy_closed": ("HY", "staff.hungyen", -10, -2),
        "bg_overdue": ("BG", "staff.bacgiang", -10, -1),
        "bg_week": ("BG", "staff.bacgiang", -2, 1),
    }  # fmt: skip
    made: dict[str, Any] = {"word": word}
    for key, (code, user, received, deadline) in specs.items():
        day = received if isinstance(received, date) else today + timedelta(days=received)
        body = petition_body(
            hub.office(code), received_on=day.isoformat(), content=f"Đơn {word} số {key}."
        )
        if deadline is not None:
            body["handling_deadline"] = (today + timedelta(days=deadline)).isoformat()
        reply = hub.call("POST", "/api/v1/petitions", user=user, json=body)
        assert reply.status == 201, reply.text
        made[key] = reply.json["id"]
    closed = hub.call(
        "PATCH", f"/api/v1/petitions/{made['hy_closed']}", user="staff.hungyen",
        json={"status": "filed"},
    )  # fmt: skip
    assert closed.status == 200, closed.text
    return made


def ids_of(reply: Any, batch: dict[str, Any]) -> set[str]:
    names = {v: k for k, v in batch.items() if k != "word"}
    return {names[i["id"]] for i in assert_list(reply) if i["id"] in names}


@pytest.mark.parametrize(
    ("user", "due", "expected"),
    [
        ("staff.hungyen", "overdue", {"hy_overdue", "hy_rule_overdue"}),
        ("staff.hungyen", "week", {"hy_week", "hy_today"}),
        ("staff.bacgiang", "overdue", {"bg_overdue"}),
        ("staff.bacgiang", "week", {"bg_week"}),
        ("admin", "overdue", {"hy_overdue", "hy_rule_overdue", "bg_overdue"}),
        ("admin", "week", {"hy_week", "hy_today", "bg_week"}),
        ("leader.hungyen", "overdue", {"hy_overdue", "hy_rule_overdue"}),
    ],
)
async def test_due_lists_overdue_and_this_week_in_the_callers_scope(
    api: Api, due_batch: dict[str, Any], user: str, due: str, expected: set[str]
) -> None:
    # With the word (the full-text path) and without it (the index path, every petition in
    # scope: the batch's are among them, each listed one is in its view).
    with_text = await api.get(
        "/api/v1/petitions", user=user, params={"text": due_batch["word"], "due": due}
    )
    assert ids_of(with_text, due_batch) == expected
    assert with_text.json["total"] == len(expected)
    listed = await api.get("/api/v1/petitions", user=user, params={"due": due, "limit": "200"})
    items = assert_list(listed)
    today = today_vn().isoformat()
    week_end = (today_vn() + timedelta(days=6)).isoformat()
    for item in items:
        assert item["status"] in ("received", "accepted")
        deadline = item["handling_deadline"]
        assert deadline < today if due == "overdue" else today <= deadline <= week_end
    if listed.json["total"] <= 200:
        assert ids_of(listed, due_batch) == expected


async def test_due_takes_only_overdue_or_week(api: Api) -> None:
    reply = await api.get("/api/v1/petitions", user="staff.hungyen", params={"due": "month"})
    assert_error(reply, 422, field="due")


async def test_reports_count_overdue_and_due_within_in_scope(
    api: Api, hub: ThreadedHub, due_batch: dict[str, Any]
) -> None:
    hy = await api.get("/api/v1/deadlines/counts", user="staff.hungyen")
    bg = await api.get("/api/v1/deadlines/counts", user="staff.bacgiang")
    everyone = await api.get("/api/v1/deadlines/counts", user="admin")
    for reply in (hy, bg, everyone):
        assert reply.status == 200, reply.text
    assert hy.json["overdue"] >= 2 and bg.json["overdue"] >= 1
    assert everyone.json["overdue"] >= hy.json["overdue"] + bg.json["overdue"]
    assert everyone.json["due_within"] >= hy.json["due_within"] + bg.json["due_within"]
    # The same figures as the register's views.
    listed = await api.get("/api/v1/petitions", user="staff.bacgiang", params={"due": "overdue"})
    assert listed.json["total"] == bg.json["overdue"]
    week = await api.get("/api/v1/petitions", user="staff.bacgiang", params={"due": "week"})
    assert week.json["total"] == bg.json["due_within"]
    assert_error(
        await api.get("/api/v1/deadlines/counts", user="staff.bacgiang",
                      params={"office": str(hub.office("HY"))}),
        422, field="office",
    )  # fmt: skip


async def test_the_alert_the_day_before_is_raised_once_per_petition_and_deadline(
    api: Api, hub: ThreadedHub
) -> None:
    today = today_vn()
    # Due today: inside every day's window (today to the next working day).
    body = petition_body(
        hub.office("HY"),
        received_on=(today - timedelta(days=5)).isoformat(),
        handling_deadline=today.isoformat(),
    )
    petition = await register(api, body)
    task = hub.server.app[DEADLINE_TASK]
    assert task.runs >= 1  # the run at start

    async def alerts_of(pid: int) -> int:
        async with hub.server.app[DATABASE].transaction() as session:
            query = select(func.count()).where(DeadlineAlertRow.petition_id == pid)
            return int((await session.execute(query)).scalar_one())

    # Raised as it was registered (a deadline this close cannot wait for the next daily run,
    # which would come on the day itself); the daily runs add none.
    assert hub.run(alerts_of(petition["id"])) == 1
    hub.run(task.run_once())
    hub.run(task.run_once())
    assert hub.run(alerts_of(petition["id"])) == 1
    # A deadline far off is left to the daily run of its day before.
    far = petition_body(
        hub.office("HY"),
        received_on=(today - timedelta(days=5)).isoformat(),
        handling_deadline=(today + timedelta(days=30)).isoformat(),
    )
    far_off = await register(api, far)
    hub.run(task.run_once())
    assert hub.run(alerts_of(far_off["id"])) == 0
    # The start page shows it to Hưng Yên's staff, not to Bắc Giang's.
    page = await api.get("/staff", user="staff.hungyen")
    assert page.status == 200 and petition["case_code"] in page.text
    other = await api.get("/staff", user="staff.bacgiang")
    assert other.status == 200 and petition["case_code"] not in other.text
    # A new deadline is a new alert (once more, once only).
    later = (today + timedelta(days=1)).isoformat()
    await api.patch(
        f"/api/v1/petitions/{petition['id']}", user="staff.hungyen",
        json={"handling_deadline": later},
    )  # fmt: skip
    assert hub.run(alerts_of(petition["id"])) == 2  # at once
    hub.run(task.run_once())
    assert hub.run(alerts_of(petition["id"])) == 2


async def test_the_deadlines_page_shows_rules_and_holidays_and_edits_only_for_admins(
    api: Api, hub: ThreadedHub
) -> None:
    staff = await api.get("/staff/deadlines?year=2026", user="staff.hungyen")
    assert staff.status == 200
    assert "Thông tư 05/2021/TT-TTCP" in staff.text and "Ngày Văn hóa Việt Nam" in staff.text
    assert 'data-day="2026-08-22"' in staff.text  # the working Saturday
    assert "data-override=" not in staff.text and 'id="dl-day-form"' not in staff.text
    admin = await api.get("/staff/deadlines?year=2027", user="admin")
    assert 'data-override="intake"' in admin.text and 'id="dl-day-form"' in admin.text
    assert 'data-day="2027-02-06"' in admin.text
    # Another province's rules: not in Bắc Giang's scope, the page is a 404 like any record.
    other = await api.get(f"/staff/deadlines?office={hub.office('HY')}", user="staff.bacgiang")
    assert other.status == 404


async def test_a_petition_page_says_what_set_its_deadline_and_offers_the_extension(
    api: Api, hub: ThreadedHub
) -> None:
    body = petition_body(hub.office("HY"), type="denunciation", received_on="2026-07-28")
    petition = await register(api, body)
    url = f"/api/v1/petitions/{petition['id']}"
    await api.patch(
        url, user="staff.hungyen", json={"status": "accepted", "status_on": "2026-08-03"}
    )
    page = await api.get(f"/staff/petitions/{petition['id']}", user="staff.hungyen")
    assert page.status == 200
    assert "giải quyết tố cáo" in page.text and "gia hạn 0/2" in page.text
    assert 'id="pd-extend-form"' in page.text
    leader = await api.get(f"/staff/petitions/{petition['id']}", user="leader.hungyen")
    assert 'id="pd-extend-form"' not in leader.text

"""Hearings over the API: scheduling (periodic series included), changes, start/end/cancel,
petitions heard, the session log, join tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from hub.api.keys import DATABASE
from tests.hub.client import (
    VN,
    Api,
    ThreadedHub,
    assert_error,
    assert_list,
    hearing_body,
    petition_body,
    today_vn,
)


async def create(api: Api, body: dict[str, Any], user: str = "staff") -> dict[str, Any]:
    reply = await api.post("/api/v1/hearings", user=user, json=body)
    assert reply.status == 201, reply.text
    return reply.json


async def log_kinds(api: Api, hearing_id: int, user: str = "staff") -> list[str]:
    return [
        e["kind"]
        for e in assert_list(await api.get(f"/api/v1/hearings/{hearing_id}/log", user=user))
    ]


async def test_staff_schedule_a_monthly_reception_with_three_sites(
    api: Api, hub: ThreadedHub
) -> None:
    year = today_vn().year + 1
    sites = [hub.office("HY"), hub.office("BG"), hub.office("TN")]
    body = {
        "title": "Tiếp công dân định kỳ ngày 15 hằng tháng",
        "kind": "periodic",
        "host_office_id": hub.office("TW"),
        "site_office_ids": sites,
        "chair_user_id": hub.user("leader"),
        "starts_at": f"{year}-01-15T08:00:00+07:00",
        "ends_at": f"{year}-01-15T11:30:00+07:00",
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3",
    }
    hearing = await create(api, body)
    assert hearing["status"] == "scheduled" and hearing["kind"] == "periodic"
    assert sorted(hearing["site_office_ids"]) == sorted(sites)
    assert hearing["chair_name"] == "Lãnh đạo Ban Tiếp công dân Trung ương"
    assert hearing["petitions"] == []
    dates = [o["starts_at"] for o in hearing["occurrences"]]
    assert dates == [f"{year}-{m:02d}-15T08:00:00+07:00" for m in (1, 2, 3)]
    for occurrence in hearing["occurrences"]:
        seen = await api.get(f"/api/v1/hearings/{occurrence['id']}", user="staff.bacgiang")
        assert seen.status == 200
        assert seen.json["ends_at"] == occurrence["starts_at"][:11] + "11:30:00+07:00"
        assert seen.json["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3"
        assert await log_kinds(api, occurrence["id"]) == ["scheduled"]


async def test_times_are_instants_shown_in_vietnam_time(api: Api, hub: ThreadedHub) -> None:
    body = hearing_body(hub.office("TW"))
    body["starts_at"], body["ends_at"] = "2027-05-04T01:00:00Z", "2027-05-04T03:00:00+00:00"
    hearing = await create(api, body)
    assert (hearing["starts_at"], hearing["ends_at"]) == (
        "2027-05-04T08:00:00+07:00",
        "2027-05-04T10:00:00+07:00",
    )


async def test_scheduling_rules_are_enforced_by_field(api: Api, hub: ThreadedHub) -> None:
    tw, hy = hub.office("TW"), hub.office("HY")
    before = hub.counts()
    cases: list[tuple[dict[str, Any], str]] = [
        (hearing_body(tw, [hy], recurrence="FREQ=MONTHLY;BYMONTHDAY=15"), "recurrence"),
        (hearing_body(tw, [hy], kind="periodic", recurrence="FREQ=HOURLY"), "recurrence"),
        (hearing_body(tw, [hy, hy]), "site_office_ids"),
        (hearing_body(tw, [tw]), "site_office_ids"),
        (hearing_body(tw, [hub.office("BG.LUCNGAN.TANSON")]), "site_office_ids"),
        (hearing_body(tw, [99999]), "site_office_ids"),
        (hearing_body(99999), "host_office_id"),
        (hearing_body(tw, hours=13), "ends_at"),
        (hearing_body(tw, chair_user_id=hub.user("staff")), "chair_user_id"),
        (hearing_body(tw, starts_at="2027-05-04T08:00:00"), "starts_at"),
    ]
    for body, field in cases:
        assert_error(await api.post("/api/v1/hearings", user="staff", json=body), 422, field=field)
    assert hub.counts() == before


async def test_a_hearing_runs_scheduled_live_ended_and_refuses_other_moves(
    api: Api, hub: ThreadedHub
) -> None:
    hid = (await create(api, hearing_body(hub.office("TW"), [hub.office("HY")])))["id"]
    path = f"/api/v1/hearings/{hid}"
    assert_error(
        await api.post(f"{path}/end", user="staff"), 409, says="scheduled cannot become ended"
    )
    live = await api.post(f"{path}/start", user="leader")
    assert live.status == 200 and live.json["status"] == "live" and live.json["started_at"]
    assert_error(await api.post(f"{path}/cancel", user="staff"), 409, field="status")
    assert_error(await api.post(f"{path}/start", user="staff"), 409)
    # Time and sites are fixed once a hearing is live; the minutes are not.
    assert_error(
        await api.patch(path, user="staff", json={"starts_at": "2027-01-01T08:00:00+07:00"}),
        409,
        field="starts_at",
    )
    minutes = await api.patch(path, user="staff", json={"minutes": "Biên bản phiên tiếp."})
    assert minutes.status == 200 and minutes.json["minutes"] == "Biên bản phiên tiếp."
    ended = await api.post(f"{path}/end", user="leader")
    assert ended.status == 200 and ended.json["status"] == "ended" and ended.json["ended_at"]
    assert_error(await api.post(f"{path}/start", user="staff"), 409, says="none (final state)")
    assert await log_kinds(api, hid) == ["scheduled", "started", "minutes", "ended"]


async def test_a_scheduled_hearing_is_changed_then_cancelled_with_a_reason(
    api: Api, hub: ThreadedHub
) -> None:
    hid = (await create(api, hearing_body(hub.office("TW"), [hub.office("HY")])))["id"]
    path = f"/api/v1/hearings/{hid}"
    day = today_vn() + timedelta(days=40)
    change = {
        "title": "Tiếp công dân: đổi lịch",
        "site_office_ids": [hub.office("BG"), hub.office("HP")],
        "starts_at": datetime(day.year, day.month, day.day, 14, 0, tzinfo=VN).isoformat(),
        "ends_at": datetime(day.year, day.month, day.day, 16, 0, tzinfo=VN).isoformat(),
        "location": "Hội trường tầng 2",
    }
    changed = await api.patch(path, user="staff", json=change)
    assert changed.status == 200, changed.text
    assert changed.json["title"] == "Tiếp công dân: đổi lịch"
    assert sorted(changed.json["site_office_ids"]) == sorted(change["site_office_ids"])
    assert changed.json["starts_at"] == change["starts_at"]
    # Hưng Yên is no longer invited, so it no longer sees the hearing.
    assert_error(await api.get(path, user="staff.hungyen"), 404)
    assert (await api.get(path, user="staff.bacgiang")).status == 200

    cancelled = await api.post(f"{path}/cancel", user="staff", json={"reason": "Trùng lịch họp"})
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
    assert_error(await api.post(f"{path}/cancel", user="staff"), 409, says="cancelled")
    assert_error(await api.patch(path, user="staff", json={"location": "X"}), 409)
    log = assert_list(await api.get(f"{path}/log", user="staff"))
    assert [e["kind"] for e in log] == ["scheduled", "updated", "cancelled"]
    assert log[-1]["detail"] == {"reason": "Trùng lịch họp"}
    assert log[-1]["user_name"] == "Cán bộ tiếp công dân Trung ương"


async def test_the_list_is_paginated_filtered_and_soonest_first(api: Api, hub: ThreadedHub) -> None:
    host = hub.office("HP.LECHAN")  # no other test hosts hearings here
    made = [
        (await create(api, hearing_body(host, days_ahead=d), user="admin"))["id"]
        for d in (30, 10, 20)
    ]
    cancelled = made[0]
    await api.post(f"/api/v1/hearings/{cancelled}/cancel", user="admin")
    query = f"/api/v1/hearings?office={host}"
    everything = await api.get(query, user="staff")
    assert [h["id"] for h in assert_list(everything)] == [made[1], made[2], made[0]]
    assert everything.json["total"] == 3
    page = await api.get(f"{query}&limit=2&offset=1", user="staff")
    assert [h["id"] for h in assert_list(page)] == [made[2], made[0]]
    assert page.json["total"] == 3
    scheduled = assert_list(await api.get(f"{query}&status=scheduled", user="staff"))
    assert [h["id"] for h in scheduled] == [made[1], made[2]]
    later = (today_vn() + timedelta(days=15)).isoformat()
    since = assert_list(
        await api.get(f"{query}&starts_from={later}T00:00:00%2B07:00", user="staff")
    )
    assert [h["id"] for h in since] == [made[2], made[0]]


async def test_petitions_heard_are_linked_both_ways_and_logged(api: Api, hub: ThreadedHub) -> None:
    hearing = await create(
        api, hearing_body(hub.office("HY"), [hub.office("HY.VANLAM")]), user="staff.hungyen"
    )
    hid = hearing["id"]
    crowd = petition_body(
        hub.office("HY.VANLAM"),
        type="recommendation",
        crowd=True,
        people_count=14,
        representatives=["Trần Thị Bình", "Lê Văn Cường", "Phạm Văn Dũng"],
        content="Kiến nghị về ô nhiễm môi trường từ cụm công nghiệp.",
    )
    created = await api.post("/api/v1/petitions", user="staff.hungyen", json=crowd)
    assert created.status == 201, created.text
    pid = created.json["id"]
    link = f"/api/v1/hearings/{hid}/petitions/{pid}"

    linked = await api.post(link, user="staff.hungyen")
    assert linked.status == 200 and linked.json["heard_from"] is None
    await api.post(f"/api/v1/hearings/{hid}/start", user="leader.hungyen")
    heard = await api.post(link, user="leader.hungyen", json={"heard_from": "now"})
    assert heard.status == 200 and heard.json["heard_from"]
    done = await api.post(link, user="leader.hungyen", json={"heard_to": "now"})
    assert done.status == 200
    assert datetime.fromisoformat(done.json["heard_to"]) >= datetime.fromisoformat(
        done.json["heard_from"]
    )

    petition = (await api.get(f"/api/v1/petitions/{pid}", user="staff.hungyen")).json
    assert [
        {k: h[k] for k in ("hearing_id", "heard_from", "heard_to")} for h in petition["hearings"]
    ] == [
        {
            "hearing_id": hid,
            "heard_from": done.json["heard_from"],
            "heard_to": done.json["heard_to"],
        }
    ]
    shown = (await api.get(f"/api/v1/hearings/{hid}", user="leader.hungyen")).json
    assert [(p["petition_id"], p["crowd"], p["people_count"]) for p in shown["petitions"]] == [
        (pid, True, 14)
    ]
    log = assert_list(await api.get(f"/api/v1/hearings/{hid}/log", user="leader.hungyen"))
    assert [e["kind"] for e in log] == [
        "scheduled",
        "petition_linked",
        "started",
        "petition_heard",
        "petition_heard",
    ]
    assert {e["petition_id"] for e in log if e["kind"].startswith("petition")} == {pid}
    assert log[1]["detail"]["case_code"] == created.json["case_code"]

    assert (await api.delete(link, user="staff.hungyen")).status == 200
    assert_error(await api.delete(link, user="staff.hungyen"), 404)
    assert (await api.get(f"/api/v1/petitions/{pid}", user="staff.hungyen")).json["hearings"] == []
    assert (await api.get(f"/api/v1/hearings/{hid}", user="staff.hungyen")).json["petitions"] == []
    after = assert_list(await api.get(f"/api/v1/hearings/{hid}/log", user="staff.hungyen"))
    assert after[: len(log)] == log and after[-1]["kind"] == "petition_unlinked"


async def test_marks_out_of_order_are_refused(api: Api, hub: ThreadedHub) -> None:
    hid = (await create(api, hearing_body(hub.office("HY")), user="staff.hungyen"))["id"]
    pid = (
        await api.post(
            "/api/v1/petitions", user="staff.hungyen", json=petition_body(hub.office("HY"))
        )
    ).json["id"]
    link = f"/api/v1/hearings/{hid}/petitions/{pid}"
    before = hub.counts()
    assert_error(
        await api.post(link, user="staff.hungyen", json={"heard_to": "now"}), 422, field="heard_to"
    )
    assert hub.counts() == before  # no link half-made
    await api.post(link, user="staff.hungyen", json={"heard_from": "2027-01-01T09:00:00+07:00"})
    assert_error(
        await api.post(link, user="staff.hungyen", json={"heard_to": "2027-01-01T08:00:00+07:00"}),
        422,
        field="heard_to",
    )
    await api.post(f"/api/v1/hearings/{hid}/cancel", user="staff.hungyen")
    other = (
        await api.post(
            "/api/v1/petitions", user="staff.hungyen", json=petition_body(hub.office("HY"))
        )
    ).json["id"]
    assert_error(
        await api.post(f"/api/v1/hearings/{hid}/petitions/{other}", user="staff.hungyen"), 409
    )


async def test_notes_are_added_to_the_log_and_attributed(api: Api, hub: ThreadedHub) -> None:
    hid = (await create(api, hearing_body(hub.office("TW"), [hub.office("HY")])))["id"]
    added = await api.post(
        f"/api/v1/hearings/{hid}/log",
        user="leader.hungyen",
        json={"text": "Điểm cầu Hưng Yên sẵn sàng."},
    )
    assert added.status == 201
    note = assert_list(await api.get(f"/api/v1/hearings/{hid}/log", user="staff"))[-1]
    assert note["kind"] == "note" and note["detail"] == {"text": "Điểm cầu Hưng Yên sẵn sàng."}
    assert (note["user_name"], note["office_name"]) == (
        "Chủ tịch UBND tỉnh Hưng Yên",
        "Ban Tiếp công dân tỉnh Hưng Yên",
    )
    assert datetime.fromisoformat(note["at"]).utcoffset() == timedelta(hours=7)


async def test_join_tokens_are_issued_for_a_seat_of_the_hearing(api: Api, hub: ThreadedHub) -> None:
    hid = (await create(api, hearing_body(hub.office("TW"), [hub.office("HY")])))["id"]
    path = f"/api/v1/hearings/{hid}/join-token"
    mine = await api.post(path, user="leader.hungyen")
    assert mine.status == 201 and mine.json["office_id"] == hub.office("HY")
    assert mine.json["token"].startswith("j.") and mine.json["hearing_id"] == hid
    kiosk = await api.post(path, user="staff", json={"office_id": hub.office("HY")})
    assert kiosk.status == 201 and kiosk.json["office_id"] == hub.office("HY")
    assert_error(
        await api.post(path, user="staff", json={"office_id": hub.office("BG")}),
        422,
        field="office_id",
    )
    await api.post(f"/api/v1/hearings/{hid}/cancel", user="staff")
    assert_error(await api.post(path, user="leader.hungyen"), 409)


async def test_a_hearings_log_verification_in_scope(api: Api, hub: ThreadedHub) -> None:
    made = await api.post(
        "/api/v1/hearings",
        user="staff.hungyen",
        json=hearing_body(hub.office("HY"), [hub.office("HY.VANLAM")]),
    )
    assert made.status == 201, made.text
    hid = made.json["id"]
    await api.post(f"/api/v1/hearings/{hid}/log", user="staff.hungyen", json={"text": "Ghi chú"})
    reply = await api.get(f"/api/v1/hearings/{hid}/log/verify", user="leader.hungyen")
    assert reply.status == 200, reply.text
    assert reply.json == {"hearing_id": hid, "events": 2, "ok": True, "break": None}
    assert_error(await api.get(f"/api/v1/hearings/{hid}/log/verify", user="staff.bacgiang"), 404)

    async def tamper() -> int:
        async with hub.server.app[DATABASE].transaction() as session:
            last = (
                await session.execute(
                    text("SELECT max(id) FROM log_events WHERE hearing_id = :h"), {"h": hid}
                )
            ).scalar_one()
            await session.execute(text("DELETE FROM log_events WHERE id = :i"), {"i": last})
            return int(last)

    hub.run(tamper())
    broken = (await api.get(f"/api/v1/hearings/{hid}/log/verify", user="staff.hungyen")).json
    assert broken["ok"] is False and broken["events"] == 1
    assert broken["break"]["problem"] == "chain head" and broken["break"]["event_id"] is None
    assert broken["break"]["expected"].startswith("2 events")

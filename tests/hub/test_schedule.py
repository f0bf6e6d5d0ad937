"""The public schedule (lịch tiếp công dân): /schedule for posting and /schedule.ics for calendars,
both without sign-in, listing only upcoming published hearings; and the first walk through the
hub that a new user takes."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from tests.hub.client import (
    VN,
    Api,
    ThreadedHub,
    assert_list,
    hearing_body,
    local,
    petition_body,
    today_vn,
    unique,
)


def made(hub: ThreadedHub, body: dict[str, Any], user: str = "admin") -> dict[str, Any]:
    reply = hub.call("POST", "/api/v1/hearings", user=user, json=body)
    assert reply.status == 201, reply.text
    return reply.json


@pytest.fixture(scope="module")
def posted(hub: ThreadedHub) -> dict[str, Any]:
    """One hearing that must be posted, and several that must not."""
    word = unique("lich")
    day = today_vn() + timedelta(days=3)
    shown = made(
        hub,
        {
            "title": f"Tiếp công dân đột xuất vụ việc đông người {word}",
            "kind": "adhoc",
            "host_office_id": hub.office("HY"),
            "site_office_ids": [hub.office("HY.VANLAM"), hub.office("HY.PHOHIEN")],
            "chair_user_id": hub.user("leader.hungyen"),
            "starts_at": local(day, 14).isoformat(),
            "ends_at": local(day, 16, 30).isoformat(),
            "location": "Hội trường UBND huyện Văn Lâm",
        },
    )
    cancelled = made(hub, hearing_body(hub.office("TW"), title=f"Đã hủy {word}", days_ahead=4))
    hub.call("POST", f"/api/v1/hearings/{cancelled['id']}/cancel", user="admin")
    unpublished = made(hub, hearing_body(hub.office("TW"), title=f"Nội bộ {word}", days_ahead=5))
    hub.call(
        "PATCH", f"/api/v1/hearings/{unpublished['id']}", user="admin", json={"published": False}
    )
    ended = made(hub, hearing_body(hub.office("TW"), title=f"Đã xong {word}", days_ahead=6))
    hub.call("POST", f"/api/v1/hearings/{ended['id']}/start", user="admin")
    hub.call("POST", f"/api/v1/hearings/{ended['id']}/end", user="admin")
    far = made(hub, hearing_body(hub.office("TW"), title=f"Còn xa {word}", days_ahead=120))
    past = made(hub, hearing_body(hub.office("TW"), title=f"Đã qua {word}", days_ahead=-3))
    odd = made(hub, hearing_body(hub.office("TW"), title=f"<script>alert(1)</script> {word}"))
    return {
        "word": word,
        "day": day,
        "shown": shown,
        "odd": odd,
        "hidden": [cancelled, unpublished, ended, far, past],
    }


def row(html: str, hearing_id: int) -> str:
    match = re.search(rf'<tr data-hearing-id="{hearing_id}">(.*?)</tr>', html, re.S)
    assert match, f"hearing {hearing_id} is not on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


async def test_the_posted_schedule_is_vietnamese_html_without_sign_in(
    api: Api, posted: dict[str, Any]
) -> None:
    reply = await api.get("/schedule")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    html = reply.text
    assert "LỊCH TIẾP CÔNG DÂN TRỰC TUYẾN" in html
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html
    assert 'href="/schedule.ics"' in html
    line = row(html, posted["shown"]["id"])
    day: date = posted["day"]
    assert line.startswith(f"{day:%d/%m/%Y} 14:00 – 16:30")
    for part in (
        posted["shown"]["title"],
        "Đột xuất",
        "Ban Tiếp công dân tỉnh Hưng Yên",
        "Chủ tịch UBND tỉnh Hưng Yên",
        "Phường Phố Hiến",
        "Ban Tiếp công dân huyện Văn Lâm",
        "Hội trường UBND huyện Văn Lâm",
    ):
        assert part in line, part


async def test_cancelled_unpublished_ended_past_and_distant_hearings_are_not_posted(
    api: Api, posted: dict[str, Any]
) -> None:
    html = (await api.get("/schedule")).text
    for hearing in posted["hidden"]:
        assert f'data-hearing-id="{hearing["id"]}"' not in html
        assert hearing["title"] not in html


async def test_titles_are_escaped_on_the_posted_page(api: Api, posted: dict[str, Any]) -> None:
    html = (await api.get("/schedule")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_dates_are_in_order_and_written_day_first(api: Api) -> None:
    html = (await api.get("/schedule")).text
    dates = re.findall(r'<tr data-hearing-id="\d+">\s*<td>(\d\d/\d\d/\d{4})</td>', html)
    assert dates, "no dated rows"
    parsed = [datetime.strptime(d, "%d/%m/%Y").date() for d in dates]
    assert parsed == sorted(parsed)
    # The demo periodic reception (the 15th of every month) is posted on a 15th.
    assert any(d.day == 15 for d in parsed)


async def test_the_icalendar_feed_parses_back_with_vietnam_times(
    api: Api, hub: ThreadedHub, posted: dict[str, Any]
) -> None:
    reply = await api.get("/schedule.ics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(reply.text)
    assert str(calendar["VERSION"]) == "2.0"
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    shown = events[f"hearing-{posted['shown']['id']}@127.0.0.1"]
    assert str(shown["SUMMARY"]) == posted["shown"]["title"]
    start, end = shown["DTSTART"].dt, shown["DTEND"].dt
    day: date = posted["day"]
    assert start == datetime(day.year, day.month, day.day, 14, 0, tzinfo=VN)
    assert end - start == timedelta(hours=2, minutes=30)
    assert shown["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert "Ho_Chi_Minh" in str(start.tzinfo) and start.utcoffset() == timedelta(hours=7)
    assert str(shown["LOCATION"]) == "Hội trường UBND huyện Văn Lâm"
    assert "Ban Tiếp công dân huyện Văn Lâm" in str(shown["DESCRIPTION"])
    zones = [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")]
    assert zones == ["Asia/Ho_Chi_Minh"]
    summaries = {str(e["SUMMARY"]) for e in events.values()}
    for hearing in posted["hidden"]:
        assert hearing["title"] not in summaries
    assert posted["odd"]["title"] in summaries  # plain text in a calendar, not HTML


async def test_a_new_user_schedules_links_and_finds_it_all(api: Api, hub: ThreadedHub) -> None:
    """The walk from the issue: sign in as staff, create a periodic hearing with three sites,
    create a crowd petition, link it, see it in the hearing's log and the hearing in the
    petition, open /schedule."""
    signin = await api.post("/api/v1/auth/login", json={"username": "staff", "password": "demo"})
    assert signin.status == 200
    bearer = {"Authorization": f"Bearer {signin.json['token']}"}
    today = today_vn()
    first = date(today.year + (today.month == 12), today.month % 12 + 1, 15)
    hearing = await api.post(
        "/api/v1/hearings",
        headers=bearer,
        json={
            "title": f"Tiếp công dân định kỳ {unique('dk')}",
            "kind": "periodic",
            "host_office_id": hub.office("TW"),
            "site_office_ids": [hub.office("HY"), hub.office("BG"), hub.office("TN")],
            "starts_at": local(first, 8).isoformat(),
            "ends_at": local(first, 11).isoformat(),
            "recurrence": "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3",
        },
    )
    assert hearing.status == 201, hearing.text
    hid = hearing.json["id"]
    petition = await api.post(
        "/api/v1/petitions",
        headers=bearer,
        json=petition_body(
            hub.office("HY"),
            type="complaint",
            crowd=True,
            people_count=15,
            representatives=["Ngô Văn Lợi", "Bùi Thị Yến"],
            content="Khiếu nại đông người về bồi thường giải phóng mặt bằng.",
        ),
    )
    assert petition.status == 201, petition.text
    pid = petition.json["id"]
    linked = await api.post(f"/api/v1/hearings/{hid}/petitions/{pid}", headers=bearer)
    assert linked.status == 200

    log = assert_list(await api.get(f"/api/v1/hearings/{hid}/log", headers=bearer))
    assert [(e["kind"], e["petition_id"]) for e in log][-1] == ("petition_linked", pid)
    seen = (await api.get(f"/api/v1/petitions/{pid}", headers=bearer)).json
    assert [h["hearing_id"] for h in seen["hearings"]] == [hid]

    html = (await api.get("/schedule")).text
    assert hearing.json["title"] in row(html, hid)
    assert row(html, hid).startswith(f"{first:%d/%m/%Y} 08:00")

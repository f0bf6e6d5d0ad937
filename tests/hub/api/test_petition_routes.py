"""The petition register over the API: registering, searching and filtering, the handling
workflow with its history, and the audit trail of reads."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

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


async def test_a_registered_petition_comes_back_whole_with_a_case_code(
    api: Api, hub: ThreadedHub
) -> None:
    received = today_vn() - timedelta(days=2)
    body = petition_body(
        hub.office("HY"),
        type="mixed",
        source="national_assembly",
        received_on=received.isoformat(),
        respondent="UBND huyện Văn Lâm",
        request="Xem xét lại mức bồi thường",
        competent_body="UBND tỉnh Hưng Yên",
        handling_deadline=(received + timedelta(days=10)).isoformat(),
        national_code="CSDLQG-2026-778899",
    )
    petition = await register(api, body)
    for key, value in body.items():
        assert petition[key] == value, key
    assert petition["case_code"].startswith(f"HY-{received.year}-")
    assert petition["status"] == "received"
    assert petition["allowed_next_status"] == ["accepted", "filed", "returned", "transferred"]
    assert [(h["from_status"], h["to_status"]) for h in petition["history"]] == [(None, "received")]
    assert petition["hearings"] == []
    again = await api.get(f"/api/v1/petitions/{petition['id']}", user="leader.hungyen")
    assert again.json["petitioner_id_number"] == "033180004321"


async def test_case_codes_follow_on_within_an_office_and_year(api: Api, hub: ThreadedHub) -> None:
    office = hub.office("TN.TANBIEN.TANLAP")  # no other test registers petitions here
    body = petition_body(office, received_on="2024-06-01")
    codes = [(await register(api, body, user="admin"))["case_code"] for _ in range(3)]
    assert codes == [f"TN.TANBIEN.TANLAP-2024-00000{i}" for i in (1, 2, 3)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"crowd": True, "people_count": 3}, "people_count"),
        ({"crowd": False, "people_count": 7}, "crowd"),
        ({"crowd": True, "people_count": 8, "representatives": ["A", "B", "C"]}, "representatives"),
        (
            {"crowd": True, "people_count": 11, "representatives": ["A", "B", "C", "D", "E", "F"]},
            "representatives",
        ),
        ({"handling_deadline": "2020-01-01"}, "handling_deadline"),
        ({"petitioner_id_number": "0331-80"}, "petitioner_id_number"),
    ],
)
async def test_crowd_and_field_rules_are_enforced_by_field(
    api: Api, hub: ThreadedHub, changes: dict[str, Any], field: str
) -> None:
    before = hub.counts()
    body = petition_body(hub.office("HY"), **changes)
    assert_error(
        await api.post("/api/v1/petitions", user="staff.hungyen", json=body), 422, field=field
    )
    assert hub.counts() == before


async def test_a_crowd_of_eleven_may_send_five_representatives(api: Api, hub: ThreadedHub) -> None:
    reps = ["Trần Thị Bình", "Lê Văn Cường", "Phạm Văn Dũng", "Đỗ Thị Hà", "Vũ Văn Khánh"]
    body = petition_body(hub.office("HY"), crowd=True, people_count=11, representatives=reps)
    petition = await register(api, body)
    assert (petition["crowd"], petition["people_count"], petition["representatives"]) == (
        True,
        11,
        reps,
    )


@pytest.fixture(scope="module")
def batch(hub: ThreadedHub) -> dict[str, Any]:
    """Six petitions sharing one searchable word, spread over offices, types and dates."""
    word = unique("lo")
    hy, vanlam, bg = hub.office("HY"), hub.office("HY.VANLAM"), hub.office("BG")
    start = date(2025, 3, 1)
    specs = [
        ("a", hy, "complaint", False, 1, 0, "staff.hungyen"),
        ("b", vanlam, "denunciation", False, 1, 1, "staff.hungyen"),
        ("c", hy, "recommendation", True, 6, 2, "staff.hungyen"),
        ("d", vanlam, "complaint", True, 20, 3, "staff.hungyen"),
        ("e", bg, "complaint", False, 1, 4, "staff.bacgiang"),
        ("f", hy, "feedback", False, 2, 5, "staff.hungyen"),
    ]
    made: dict[str, Any] = {"word": word}
    for key, office, kind, crowd, people, days, user in specs:
        body = petition_body(
            office,
            type=kind,
            crowd=crowd,
            people_count=people,
            received_on=(start + timedelta(days=days)).isoformat(),
            content=f"Đơn {kind} về đất đai, mã lô {word}.",
        )
        reply = hub.call("POST", "/api/v1/petitions", user=user, json=body)
        assert reply.status == 201, reply.text
        made[key] = reply.json["id"]
    return made


async def ids(api: Api, user: str, query: str) -> tuple[list[int], int]:
    reply = await api.get(f"/api/v1/petitions?{query}", user=user)
    return [p["id"] for p in assert_list(reply)], reply.json["total"]


async def test_the_register_is_searched_and_filtered(
    api: Api, hub: ThreadedHub, batch: dict[str, Any]
) -> None:
    b = batch
    text = f"text={b['word']}"
    hy_office = hub.office("HY")

    def expect(*keys: str) -> tuple[list[int], int]:
        # Newest received first.
        order = sorted(keys, key=lambda k: "abcdef".index(k), reverse=True)
        return [b[k] for k in order], len(keys)

    assert await ids(api, "admin", text) == expect("a", "b", "c", "d", "e", "f")
    assert await ids(api, "staff.hungyen", text) == expect("a", "b", "c", "d", "f")
    assert await ids(api, "staff.bacgiang", text) == expect("e")
    assert await ids(api, "admin", f"{text}&type=complaint") == expect("a", "d", "e")
    assert await ids(api, "admin", f"{text}&crowd=true") == expect("c", "d")
    assert await ids(api, "admin", f"{text}&crowd=false&type=complaint") == expect("a", "e")
    assert await ids(api, "admin", f"{text}&office={hub.office('HY.VANLAM')}") == expect("b", "d")
    # An office filter takes in the office's descendants.
    assert await ids(api, "admin", f"{text}&office={hy_office}") == expect("a", "b", "c", "d", "f")
    window = "received_from=2025-03-02&received_to=2025-03-04"
    assert await ids(api, "admin", f"{text}&{window}") == expect("b", "c", "d")
    assert await ids(api, "admin", f"{text}&status=accepted") == expect()
    assert_error(
        await api.get(f"/api/v1/petitions?{text}&office={hub.office('BG')}", user="staff.hungyen"),
        422,
        field="office",
    )


async def test_the_register_is_paginated_with_a_total(api: Api, batch: dict[str, Any]) -> None:
    text = f"text={batch['word']}"
    every, total = await ids(api, "admin", text)
    pages = [await ids(api, "admin", f"{text}&limit=4&offset={offset}") for offset in (0, 4, 8)]
    assert [p[1] for p in pages] == [total] * 3
    assert [p[0] for p in pages] == [every[:4], every[4:], []]


async def test_search_finds_vietnamese_with_or_without_marks(api: Api, hub: ThreadedHub) -> None:
    word = unique("xa")
    petition = await register(
        api,
        petition_body(
            hub.office("HY"),
            petitioner_name="Đặng Thị Hường",
            content=f"Phản ánh đường giao thông xuống cấp ({word}).",
        ),
    )
    since = f"received_from={petition['received_on']}"
    for text in ("đường giao", "duong giao thong", "ĐƯỜNG", "xuong cap"):
        found, _ = await ids(api, "staff.hungyen", f"text={text}&{since}")
        assert petition["id"] in found, text
    # The petitioner's name is personal data: matched only when the search says so.
    for text in ("Hường", "huong", "HUONG", "đặng", "dang huo"):
        plain, _ = await ids(api, "staff.hungyen", f"text={text}&{since}")
        assert petition["id"] not in plain, text
        reply = await api.get(
            f"/api/v1/petitions?text={text}&{since}&personal=true", user="staff.hungyen"
        )
        assert reply.status == 200, reply.text
        assert petition["id"] in {p["id"] for p in reply.json["items"]}, text


async def test_the_workflow_moves_with_a_history_and_refuses_illegal_steps(
    api: Api, hub: ThreadedHub
) -> None:
    pid = (await register(api, petition_body(hub.office("HY"))))["id"]
    path = f"/api/v1/petitions/{pid}"
    steps = [
        ("accepted", "Thụ lý giải quyết"),
        ("suspended", "Chờ kết quả giám định"),
        ("accepted", ""),
        ("resolved", "Đã giải quyết xong"),
    ]
    for status, note in steps:
        moved = await api.patch(
            path, user="staff.hungyen", json={"status": status, "status_note": note}
        )
        assert moved.status == 200 and moved.json["status"] == status, moved.text
    error = assert_error(
        await api.patch(path, user="staff.hungyen", json={"status": "accepted"}),
        409,
        field="status",
    )
    assert (
        error["message"]
        == "a petition that is resolved cannot become accepted; allowed: none (final state)"
    )
    history = (await api.get(path, user="admin")).json["history"]
    assert [(h["from_status"], h["to_status"], h["note"]) for h in history] == [
        (None, "received", ""),
        ("received", "accepted", "Thụ lý giải quyết"),
        ("accepted", "suspended", "Chờ kết quả giám định"),
        ("suspended", "accepted", ""),
        ("accepted", "resolved", "Đã giải quyết xong"),
    ]
    assert {h["user_name"] for h in history} == {"Cán bộ tiếp công dân tỉnh Hưng Yên"}


@pytest.mark.parametrize("final", ["returned", "filed"])
async def test_returned_or_filed_petitions_are_closed(
    api: Api, hub: ThreadedHub, final: str
) -> None:
    pid = (await register(api, petition_body(hub.office("HY"))))["id"]
    path = f"/api/v1/petitions/{pid}"
    assert (await api.patch(path, user="staff.hungyen", json={"status": final})).status == 200
    for target in ("accepted", "resolved", "received"):
        assert_error(await api.patch(path, user="staff.hungyen", json={"status": target}), 409)


async def test_a_transfer_names_the_competent_body(api: Api, hub: ThreadedHub) -> None:
    pid = (await register(api, petition_body(hub.office("HY"))))["id"]
    path = f"/api/v1/petitions/{pid}"
    assert_error(
        await api.patch(path, user="staff.hungyen", json={"status": "transferred"}),
        422,
        field="competent_body",
    )
    moved = await api.patch(
        path,
        user="staff.hungyen",
        json={"status": "transferred", "competent_body": "Thanh tra tỉnh Hưng Yên"},
    )
    assert moved.status == 200
    assert (moved.json["status"], moved.json["competent_body"]) == (
        "transferred",
        "Thanh tra tỉnh Hưng Yên",
    )


async def test_edits_are_rechecked_against_the_rules(api: Api, hub: ThreadedHub) -> None:
    pid = (await register(api, petition_body(hub.office("HY"))))["id"]
    path = f"/api/v1/petitions/{pid}"
    assert_error(
        await api.patch(path, user="staff.hungyen", json={"people_count": 9}), 422, field="crowd"
    )
    grown = await api.patch(
        path,
        user="staff.hungyen",
        json={"crowd": True, "people_count": 9, "representatives": ["A", "B"]},
    )
    assert grown.status == 200 and grown.json["crowd"] is True
    assert_error(
        await api.patch(path, user="staff.hungyen", json={"received_on": "2026-01-01"}),
        422,
        field="received_on",
    )
    assert_error(
        await api.patch(path, user="staff.hungyen", json={"office_id": hub.office("BG")}),
        422,
        field="office_id",
    )


async def test_reads_of_personal_data_are_in_the_audit_trail_for_admins(
    api: Api, hub: ThreadedHub
) -> None:
    pid = (await register(api, petition_body(hub.office("HY"))))["id"]
    await api.get(f"/api/v1/petitions/{pid}", user="leader.hungyen")
    entries = assert_list(await api.get(f"/api/v1/audit?petition_id={pid}", user="admin"))
    seen = [(e["username"], e["action"]) for e in entries]
    # Newest first: the leader's read, then the creator's read-back of the new record.
    assert seen == [("leader.hungyen", "read"), ("staff.hungyen", "read")]
    assert all(e["petition_id"] == pid and e["at"] for e in entries)
    by_user = assert_list(
        await api.get(f"/api/v1/audit?user_id={hub.user('leader.hungyen')}&limit=1", user="admin")
    )
    assert [(e["petition_id"], e["action"]) for e in by_user] == [(pid, "read")]
    for user in ("staff", "leader", "operator", "staff.hungyen"):
        assert_error(await api.get("/api/v1/audit", user=user), 403)

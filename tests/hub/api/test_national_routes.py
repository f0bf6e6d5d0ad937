"""The national exchange over the API: staff export their subtree (each petition an audited
read) and import a document into their scope; other offices' records answer 404, roles
without the right 403, a body that is not the format is refused naming the field."""

from __future__ import annotations

from typing import Any

from tests.hub.client import Api, assert_error, unique


def _petition(office: str, national_code: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "national_code": national_code,
        "office": office,
        "type": "feedback",
        "status": "received",
        "source": "online",
        "received_on": "2026-11-20",
        "petitioner_name": "Phạm Thị Lan",
        "content": "Phản ánh qua cổng trực tuyến",
    }
    row.update(changes)
    return row


def _document(**lists: Any) -> dict[str, Any]:
    return {"format": "tcd-hub-national", "version": 1, **lists}


async def test_staff_export_their_subtree_and_each_petition_read_is_audited(api: Api) -> None:
    reply = await api.get("/api/v1/national/export", "staff.hungyen")
    assert reply.status == 200, reply.text
    document = reply.json
    assert document["format"] == "tcd-hub-national" and document["office"] == "HY"
    offices = {p["office"] for p in document["petitions"]}
    assert offices and all(o == "HY" or o.startswith("HY.") for o in offices)
    assert all(r["office"].startswith("HY") for r in document["reception_register"])
    codes = {p["case_code"] for p in document["petitions"]}
    audit = await api.get("/api/v1/audit", "admin", params={"limit": 200})
    exported = {a["case_code"] for a in audit.json["items"] if a["action"] == "export"}
    assert codes <= exported

    since = await api.get("/api/v1/national/export", "staff", params={"since": "2999-01-01"})
    assert since.status == 200 and since.json["petitions"] == []


async def test_an_office_outside_the_scope_is_404_and_other_roles_are_403(api: Api) -> None:
    bac_giang = (await api.get("/api/v1/offices", "admin")).json["items"]
    bg = next(o["id"] for o in bac_giang if o["code"] == "BG")
    reply = await api.get("/api/v1/national/export", "staff.hungyen", params={"office_id": bg})
    assert_error(reply, 404)
    for user in ("leader.hungyen", "operator"):
        assert_error(await api.get("/api/v1/national/export", user), 403)
        assert_error(await api.post("/api/v1/national/import", user, json=_document()), 403)
    assert_error(
        await api.get("/api/v1/national/export", "staff", params={"since": "hôm qua"}),
        422,
        field="since",
    )


async def test_staff_import_into_their_scope_and_a_second_import_changes_nothing(
    api: Api,
) -> None:
    code = unique("QG")
    document = _document(
        petitions=[
            _petition("HY.VANLAM", code),
            _petition("BG", unique("QG")),
            _petition("HY", unique("QG"), type="khiếu nại"),
            _petition("HY", 42),
        ]
    )
    reply = await api.post("/api/v1/national/import", "staff.hungyen", json=document)
    assert reply.status == 200, reply.text
    report = reply.json
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 0, 0)
    assert [(r["row"], list(r["reasons"])) for r in report["refused"]] == [
        ("petitions[1]", ["office"]),
        ("petitions[2]", ["type"]),
        ("petitions[3]", ["national_code"]),
    ]
    assert report["refused"][2]["key"] is None
    assert report["refused"][0]["reasons"]["office"] == "unknown office 'BG'"
    again = (await api.post("/api/v1/national/import", "staff.hungyen", json=document)).json
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    found = await api.get("/api/v1/petitions", "staff.hungyen", params={"text": code})
    assert [p["national_code"] for p in found.json["items"]] == [code]
    # Bắc Giang cannot touch Hưng Yên's petition through its national code.
    taken = await api.post(
        "/api/v1/national/import",
        "staff.bacgiang",
        json=_document(petitions=[_petition("BG", code)]),
    )
    assert taken.json["refused"][0]["reasons"] == {
        "national_code": "already the key of a petition outside your scope"
    }


async def test_a_body_that_is_not_the_format_is_refused_by_field(api: Api) -> None:
    reply = await api.post("/api/v1/national/import", "staff", json={"format": "x", "version": 1})
    assert_error(reply, 422, field="format")
    reply = await api.post(
        "/api/v1/national/import",
        "staff",
        data="record,national_code\r\n",
        headers={"Content-Type": "text/csv"},
    )
    assert_error(reply, 415)

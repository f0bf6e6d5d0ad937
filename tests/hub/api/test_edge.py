"""Bad input at the API's edge: every refusal is a 4xx {"error": {"message", "fields"}} naming the
problem, never a stack trace; the server keeps answering and nothing is half-written."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from tests.hub.client import Api, ThreadedHub, assert_error, hearing_body, petition_body

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def ids(hub: ThreadedHub) -> dict[str, int]:
    """A scheduled hearing hosted by the centre with Hưng Yên invited, and a Hưng Yên petition."""
    hearing = hub.call(
        "POST",
        "/api/v1/hearings",
        user="staff",
        json=hearing_body(hub.office("TW"), [hub.office("HY")]),
    )
    petition = hub.call(
        "POST", "/api/v1/petitions", user="staff.hungyen", json=petition_body(hub.office("HY"))
    )
    assert hearing.status == 201 and petition.status == 201
    return {"H": hearing.json["id"], "P": petition.json["id"], "HY": hub.office("HY")}


@dataclasses.dataclass(frozen=True)
class Bad:
    """One bad request: method, path ({H}, {P}, {HY} filled in), what is sent, what comes back."""

    name: str
    method: str
    path: str
    status: int
    field: str | None = None
    json: Any = None
    data: bytes | str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=lambda: dict(JSON))
    user: str = "staff"
    says: str | None = None


def petition(**changes: Any) -> dict[str, Any]:
    body = petition_body(0)
    body["office_id"] = "{HY}"
    body.update(changes)
    return body


def without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in petition().items() if k not in names}


P, H = "/api/v1/petitions", "/api/v1/hearings"

CASES = [
    # --- the body is not JSON, or not the JSON we take
    Bad("malformed JSON", "POST", P, 400, data='{"type": "complaint",', says="not valid JSON"),
    Bad("empty body", "POST", P, 400, data=""),
    Bad("not UTF-8", "POST", P, 400, data=b'{"content": "\xff\xfe"}'),
    Bad("array body", "POST", P, 422, field="body", data="[]"),
    Bad("string body", "POST", P, 422, field="body", data='"đơn"'),
    Bad("text/plain", "POST", P, 415, headers={"Content-Type": "text/plain"}, data="{}"),
    Bad(
        "form body",
        "POST",
        P,
        415,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data="type=complaint",
    ),
    Bad("no content type", "POST", P, 415, headers={}, data=b"{}"),
    Bad("oversized body", "POST", P, 413, data='{"content": "' + "đ" * 140_000 + '"}'),
    Bad(
        "deeply nested JSON",
        "POST",
        P,
        400,
        data="[" * 100_000,
    ),
    # --- wrong types are refused, not coerced (strict)
    Bad("string for an int", "POST", P, 422, field="office_id", json=petition(office_id="2")),
    Bad(
        "string for a count", "POST", P, 422, field="people_count", json=petition(people_count="1")
    ),
    Bad("float for an int", "POST", P, 422, field="people_count", json=petition(people_count=1.0)),
    Bad("bool for an int", "POST", P, 422, field="people_count", json=petition(people_count=True)),
    Bad("huge int", "POST", P, 422, field="people_count", json=petition(people_count=10**30)),
    Bad("id out of range", "POST", P, 422, field="office_id", json=petition(office_id=2**40)),
    Bad("zero id", "POST", P, 422, field="office_id", json=petition(office_id=0)),
    Bad("string for a bool", "POST", P, 422, field="crowd", json=petition(crowd="true")),
    Bad("int for a bool", "POST", P, 422, field="crowd", json=petition(crowd=1)),
    Bad("unknown type", "POST", P, 422, field="type", json=petition(type="complain")),
    Bad("unknown source", "POST", P, 422, field="source", json=petition(source="email")),
    Bad(
        "impossible date",
        "POST",
        P,
        422,
        field="received_on",
        json=petition(received_on="2026-02-30"),
    ),
    Bad(
        "local date format",
        "POST",
        P,
        422,
        field="received_on",
        json=petition(received_on="15/11/2026"),
    ),
    Bad(
        "number for a date",
        "POST",
        P,
        422,
        field="received_on",
        json=petition(received_on=20260101),
    ),
    Bad(
        "string for a list",
        "POST",
        P,
        422,
        field="representatives",
        json=petition(representatives="An"),
    ),
    Bad(
        "null for a required field",
        "POST",
        P,
        422,
        field="petitioner_name",
        json=petition(petitioner_name=None),
    ),
    Bad(
        "too long",
        "POST",
        P,
        422,
        field="petitioner_id_number",
        json=petition(petitioner_id_number="1" * 21),
    ),
    # --- unknown and missing fields
    Bad("unknown field", "POST", P, 422, field="colour", json=petition(colour="đỏ")),
    Bad("missing field", "POST", P, 422, field="content", json=without("content")),
    Bad(
        "several missing",
        "POST",
        P,
        422,
        field="received_on",
        json=without("content", "received_on"),
    ),
    Bad("empty object", "POST", P, 422, field="type", json={}),
    # --- hearings
    Bad("unknown kind", "POST", H, 422, field="kind", json=hearing_body(1, kind="weekly")),
    Bad(
        "time as a number",
        "POST",
        H,
        422,
        field="starts_at",
        json=hearing_body(1, starts_at=1765760400),
    ),
    Bad(
        "time as words",
        "POST",
        H,
        422,
        field="starts_at",
        json=hearing_body(1, starts_at="tomorrow"),
    ),
    Bad(
        "time without offset",
        "POST",
        H,
        422,
        field="starts_at",
        json=hearing_body(1, starts_at="2027-05-04T08:00:00"),
    ),
    Bad(
        "float in an id list",
        "POST",
        H,
        422,
        field="site_office_ids",
        json=hearing_body(1, site_office_ids=[1.5]),
    ),
    Bad(
        "id list as a string",
        "POST",
        H,
        422,
        field="site_office_ids",
        json=hearing_body(1, site_office_ids="2"),
    ),
    Bad("title too long", "POST", H, 422, field="title", json=hearing_body(1, title="x" * 301)),
    Bad("unknown patch field", "PATCH", H + "/{H}", 422, field="kind", json={"kind": "periodic"}),
    Bad(
        "unknown status body field", "POST", H + "/{H}/cancel", 422, field="why", json={"why": "x"}
    ),
    Bad(
        "heard_from not a time",
        "POST",
        H + "/{H}/petitions/{P}",
        422,
        field="heard_from",
        json={"heard_from": "later"},
        user="staff.hungyen",
    ),
    Bad(
        "heard_from without offset",
        "POST",
        H + "/{H}/petitions/{P}",
        422,
        field="heard_from",
        json={"heard_from": "2027-01-15T08:30:00"},
        user="staff.hungyen",
    ),
    Bad("note text empty", "POST", H + "/{H}/log", 422, field="text", json={"text": ""}),
    Bad(
        "login extra field",
        "POST",
        "/api/v1/auth/login",
        422,
        field="remember",
        json={"username": "staff", "password": "demo", "remember": True},
        user="",
    ),
    Bad(
        "login password number",
        "POST",
        "/api/v1/auth/login",
        422,
        field="password",
        json={"username": "staff", "password": 1234},
        user="",
    ),
    # --- explicit nulls in changes
    *[
        Bad(f"null {name}", "PATCH", H + "/{H}", 422, field=name, json={name: None})
        for name in (
            "title",
            "starts_at",
            "ends_at",
            "description",
            "location",
            "published",
            "minutes",
        )
    ],
    *[
        Bad(
            f"null {name}",
            "PATCH",
            P + "/{P}",
            422,
            field=name,
            json={name: None},
            user="staff.hungyen",
        )
        for name in (
            "type",
            "petitioner_name",
            "petitioner_address",
            "petitioner_id_number",
            "content",
            "crowd",
            "people_count",
            "representatives",
            "subject_field",
            "source",
            "respondent",
            "request",
            "competent_body",
        )
    ],
    # --- ids in the path
    *[
        Bad(f"hearing id {raw!r}", "GET", f"{H}/{raw}", 404)
        for raw in ("abc", "0", "-1", "1.5", "1e3", "%20", "99999999", "9999999999", "00000000001")
    ],
    Bad("petition id not a number", "GET", P + "/x1", 404),
    Bad("petition id missing", "PATCH", P + "/987654321", 404, json={"subject_field": "x"}),
    Bad("link to a missing petition", "POST", H + "/{H}/petitions/987654321", 404),
    Bad("link id not a number", "DELETE", H + "/{H}/petitions/abc", 404),
    Bad("log of a missing hearing", "GET", H + "/987654321/log", 404),
    Bad(
        "non-ASCII digit id",
        "GET",
        H + "/%C2%B2",
        404,
    ),
    Bad("unknown API path", "GET", "/api/v1/nothing-here", 404),
    Bad("method not allowed", "DELETE", "/api/v1/offices", 405),
    # --- query strings
    *[
        Bad(f"petitions ?{q}", "GET", f"{P}?{q}", 422, field=q.split("=")[0])
        for q in (
            "limit=0",
            "limit=abc",
            "limit=201",
            "offset=-1",
            "type=bogus",
            "status=open",
            "office=abc",
            "office=0",
            "crowd=maybe",
            "received_from=2026-13-01",
            "received_to=yesterday",
            "text=",
            "text=%22%22",
            "bogus=1",
        )
    ],
    Bad("repeated key", "GET", f"{P}?status=received&status=filed", 400, says="more than once"),
    Bad("repeated limit", "GET", f"{H}?limit=1&limit=2", 400),
    Bad("hearing status", "GET", f"{H}?status=done", 422, field="status"),
    Bad("hearing time words", "GET", f"{H}?starts_from=soon", 422, field="starts_from"),
    *[
        Bad(
            f"hearing starts_from={raw}",
            "GET",
            f"{H}?starts_from={raw}",
            422,
            field="starts_from",
        )
        for raw in ("2027-01-01T00:00:00", "2027-01-01")
    ],
    Bad(
        "audit filter", "GET", "/api/v1/audit?petition_id=x", 422, field="petition_id", user="admin"
    ),
    Bad("offices filter", "GET", "/api/v1/offices?bridge_only=maybe", 422, field="bridge_only"),
]


def _params(cases: list[Bad]) -> list[Any]:
    out = []
    for case in cases:
        out.append(pytest.param(case, id=case.name))
    return out


@pytest.mark.parametrize("case", _params(CASES))
async def test_bad_input_is_refused_cleanly(
    api: Api, hub: ThreadedHub, ids: dict[str, int], case: Bad
) -> None:
    before = hub.counts()
    path = case.path.format(**ids)
    body = case.json
    if isinstance(body, dict) and body.get("office_id") == "{HY}":
        body = {**body, "office_id": ids["HY"]}
    if isinstance(body, dict) and body.get("host_office_id") == 1:
        body = {**body, "host_office_id": hub.office("TW")}
    data = case.data
    if body is not None:
        data = json.dumps(body, ensure_ascii=False)
    reply = await api.call(
        case.method, path, user=case.user or None, data=data, headers=case.headers
    )
    assert_error(reply, case.status, field=case.field, says=case.says)
    assert (await api.get("/healthz")).status == 200
    assert hub.counts() == before


async def test_the_refused_record_can_then_be_sent_correctly(
    api: Api, hub: ThreadedHub, ids: dict[str, int]
) -> None:
    body = petition_body(ids["HY"])
    refused = await api.post(P, user="staff", json={**body, "people_count": "1"})
    assert_error(refused, 422, field="people_count")
    accepted = await api.post(P, user="staff", json=body)
    assert accepted.status == 201, accepted.text

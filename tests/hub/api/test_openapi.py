"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that describes every route, its path
parameters, its answer and its errors, and that the hub's real answers satisfy."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from hub.api.keys import DATABASE
from hub.clock import now
from hub.domain.alerts import AlertDraft, AlertKind
from hub.domain.link_grade import LinkSample
from hub.services import alerts, recordings
from hub.storage.tables import RecordingRow
from signaling.link_monitor import LINK_MONITOR
from tests.hub.client import (
    PASSWORD,
    Api,
    Reply,
    ThreadedHub,
    hearing_body,
    petition_body,
    unique,
)

# The contract of issue 2: other tools rely on these routes.
# Answered 2xx only with a live room recording (sites' media flowing): their real answers are
# checked against this document in tests/browser/test_recording_browser.py.
LIVE_ROOM_ONLY = {
    ("post", "/api/v1/hearings/{id}/recordings"),
    ("post", "/api/v1/hearings/{id}/recordings/stop"),
}

CONTRACT = {
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/offices"),
    ("post", "/api/v1/offices"),
    ("get", "/api/v1/hearings"),
    ("post", "/api/v1/hearings"),
    ("get", "/api/v1/hearings/{id}"),
    ("patch", "/api/v1/hearings/{id}"),
    ("post", "/api/v1/hearings/{id}/cancel"),
    ("post", "/api/v1/hearings/{id}/start"),
    ("post", "/api/v1/hearings/{id}/end"),
    ("get", "/api/v1/petitions"),
    ("post", "/api/v1/petitions"),
    ("get", "/api/v1/petitions/{id}"),
    ("patch", "/api/v1/petitions/{id}"),
    ("post", "/api/v1/hearings/{id}/petitions/{petition_id}"),
    ("delete", "/api/v1/hearings/{id}/petitions/{petition_id}"),
    ("get", "/api/v1/hearings/{id}/log"),
    ("get", "/api/v1/audit"),
}
MAX_ID = 2**31 - 1


async def spec(api: Api) -> dict[str, Any]:
    reply = await api.get("/api/v1/openapi.json")  # no sign-in
    assert reply.status == 200, reply.text
    return reply.json


def operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, p) for p, entry in doc["paths"].items() for m in entry}


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref to the schema it names."""
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def served_routes(hub: ThreadedHub) -> set[tuple[str, str]]:
    return {
        (route.method.lower(), route.resource.canonical)
        for route in hub.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.resource.canonical != "/api/v1/openapi.json"
        and route.method != "HEAD"
    }


async def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    doc = await spec(api)
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises, naming the spot, when the document breaks the OpenAPI schema


async def test_the_document_describes_every_api_route_the_hub_serves(
    api: Api, hub: ThreadedHub
) -> None:
    doc = await spec(api)
    assert served_routes(hub) - operations(doc) == set()
    assert CONTRACT <= operations(doc)


async def test_every_operation_documents_its_answer_with_fields(api: Api) -> None:
    doc = await spec(api)
    for path, entry in doc["paths"].items():
        for method, op in entry.items():
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert len(ok) == 1, (method, path, list(op["responses"]))
            content = op["responses"][ok[0]]["content"]
            if "application/json" not in content:
                # A download (the minutes' DOCX and PDF): one media type, a binary body.
                [(media_type, file)] = content.items()
                assert path.endswith((".pdf", ".docx")), (method, path, media_type)
                assert file["schema"] == {"type": "string", "format": "binary"}, (method, path)
                continue
            schema = content["application/json"]["schema"]
            answer = resolve(doc, schema)
            assert answer.get("type") == "object" and answer["properties"], (method, path)
            assert answer.get("additionalProperties") is False, (method, path)
            assert "operationId" in op and op["summary"], (method, path)
    ids = [op["operationId"] for entry in doc["paths"].values() for op in entry.values()]
    assert len(ids) == len(set(ids))


async def test_path_parameters_are_the_paths_placeholders_typed_as_ids_days_or_rules(
    api: Api, hub: ThreadedHub
) -> None:
    doc = await spec(api)
    seen = 0
    for method, path in served_routes(hub):
        placeholders = [p[1:-1] for p in path.split("/") if p.startswith("{")]
        params = doc["paths"][path][method].get("parameters", [])
        in_path = [p for p in params if p["in"] == "path"]
        assert [p["name"] for p in in_path] == placeholders, (method, path)
        for param in in_path:
            seen += 1
            assert param["required"] is True
            if param["name"] == "day":  # the holiday table's days: YYYY-MM-DD
                assert param["schema"] == {"type": "string", "format": "date"} | {
                    "description": param["schema"]["description"]
                }
                continue
            if param["name"] == "rule":  # a deadline rule, one of hub.domain.deadlines.RuleKey
                assert param["schema"]["type"] == "string" and param["schema"]["enum"]
                continue
            # Every id is a 32-bit positive integer, as hub.api.edge.path_id accepts.
            assert param["schema"]["type"] == "integer", (method, path, param)
            assert param["schema"]["minimum"] == 1 and param["schema"]["maximum"] == MAX_ID
    assert seen, "no route with a path parameter was found"


async def test_bodies_queries_and_errors_are_described(api: Api) -> None:
    doc = await spec(api)
    schemas = doc["components"]["schemas"]
    hearing = schemas["HearingBody"]
    assert set(hearing["required"]) >= {"title", "kind", "host_office_id", "starts_at", "ends_at"}
    assert set(hearing["properties"]) >= {"site_office_ids", "chair_user_id", "recurrence"}
    petition = schemas["PetitionBody"]
    assert set(petition["properties"]) >= {
        "type",
        "office_id",
        "petitioner_name",
        "petitioner_address",
        "petitioner_id_number",
        "content",
        "crowd",
        "people_count",
        "subject_field",
        "source",
        "received_on",
    }
    post = doc["paths"]["/api/v1/petitions"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PetitionBody"
    )
    assert post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Petition"
    )
    params = {p["name"] for p in doc["paths"]["/api/v1/petitions"]["get"]["parameters"]}
    assert params >= {"type", "status", "office", "crowd", "text", "received_from", "received_to"}
    assert params >= {"limit", "offset"}
    error = resolve(doc, schemas["Error"]["properties"]["error"])
    assert set(error["required"]) == {"message", "fields"}
    assert "security" not in doc["paths"]["/api/v1/auth/login"]["post"]
    assert doc["paths"]["/api/v1/petitions"]["get"]["security"]
    # Errors: each in the one shape, with the statuses the operation can answer.
    get_one = doc["paths"]["/api/v1/petitions/{id}"]["get"]["responses"]
    assert {"401", "403", "404", "500"} <= set(get_one)
    create = doc["paths"]["/api/v1/petitions"]["post"]["responses"]
    assert {"400", "401", "403", "415", "422"} <= set(create)
    for code in ("404", "422"):
        responses = get_one if code == "404" else create
        ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/Error")


class Conformance:
    """Checks real answers against the schema the document gives their operation and status."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.checked: set[tuple[str, str, str]] = set()

    def check(self, method: str, template: str, reply: Reply, expect: int = 0) -> dict[str, Any]:
        """The reply (with status `expect`, when given) fits its documented schema."""
        assert not expect or reply.status == expect, (method, template, reply.text[:300])
        op = self.doc["paths"][template][method.lower()]
        status = str(reply.status)
        documented = op["responses"].get(status) or op["responses"][f"{status[0]}XX"]
        if "application/json" not in documented["content"]:
            [media_type] = documented["content"]
            assert reply.headers["Content-Type"] == media_type, (method, template)
            assert reply.content, (method, template)
            self.checked.add((method.lower(), template, status))
            return {}
        schema = documented["content"]["application/json"]["schema"]
        root = {**schema, "components": self.doc["components"]}
        errors = sorted(Draft202012Validator(root).iter_errors(reply.body), key=str)
        assert not errors, f"{method} {template} {status}: {[e.message for e in errors[:3]]}"
        self.checked.add((method.lower(), template, status))
        return reply.json


async def test_real_answers_satisfy_the_documented_schemas(api: Api, hub: ThreadedHub) -> None:
    doc = Conformance(await spec(api))
    check = doc.check
    hy, vanlam = hub.office("HY"), hub.office("HY.VANLAM")
    staff, leader, admin = "staff.hungyen", "leader.hungyen", "admin"

    check("GET", "/api/v1/offices", await api.get("/api/v1/offices", user=staff))
    check("GET", "/api/v1/users", await api.get("/api/v1/users", user=admin))
    check("GET", "/api/v1/auth/me", await api.get("/api/v1/auth/me", user=staff))
    office = {
        "code": unique("OF").upper(),
        "name": "Xã thử",
        "level": "commune",
        "parent_id": vanlam,
    }
    check(
        "POST", "/api/v1/offices", await api.post("/api/v1/offices", user=admin, json=office), 201
    )
    account = {
        "username": unique("u"),
        "display_name": "Người thử",
        "role": "staff",
        "office_id": hy,
        "password": "long-enough",
    }
    check("POST", "/api/v1/users", await api.post("/api/v1/users", user=admin, json=account))

    series = hearing_body(hy, [vanlam], kind="periodic", recurrence="FREQ=WEEKLY;COUNT=2")
    created = check(
        "POST", "/api/v1/hearings", await api.post("/api/v1/hearings", user=staff, json=series)
    )
    assert len(created["occurrences"]) == 2
    hid = created["id"]
    one = f"/api/v1/hearings/{hid}"
    check("GET", "/api/v1/hearings", await api.get("/api/v1/hearings", user=staff))
    check("GET", "/api/v1/hearings/{id}", await api.get(one, user=staff))
    patch = {"description": "Đã sửa", "published": True}
    check("PATCH", "/api/v1/hearings/{id}", await api.patch(one, user=staff, json=patch))
    token = await api.post(f"{one}/join-token", user=staff, json={"office_id": vanlam})
    check("POST", "/api/v1/hearings/{id}/join-token", token)

    petition = check(
        "POST",
        "/api/v1/petitions",
        await api.post("/api/v1/petitions", user=staff, json=petition_body(vanlam)),
    )
    pid = petition["id"]
    check("GET", "/api/v1/petitions", await api.get("/api/v1/petitions", user=staff))
    check("GET", "/api/v1/petitions/{id}", await api.get(f"/api/v1/petitions/{pid}", user=staff))
    accept = {"status": "accepted", "status_note": "thụ lý"}
    edited = await api.patch(f"/api/v1/petitions/{pid}", user=staff, json=accept)
    check("PATCH", "/api/v1/petitions/{id}", edited)
    extended = await api.post(f"/api/v1/petitions/{pid}/extensions", user=staff,
                              json={"reason": "vụ việc phức tạp"})  # fmt: skip
    check("POST", "/api/v1/petitions/{id}/extensions", extended)
    check("GET", "/api/v1/deadlines/counts", await api.get("/api/v1/deadlines/counts", user=staff))
    check("GET", "/api/v1/calendar-days", await api.get("/api/v1/calendar-days", user=staff))
    far = "/api/v1/calendar-days/2099-01-05"  # touches no running deadline
    day_off = await api.put(far, user=admin, json={"kind": "holiday", "name": "Nghỉ thử"})
    check("PUT", "/api/v1/calendar-days/{day}", day_off)
    check("DELETE", "/api/v1/calendar-days/{day}", await api.delete(far, user=admin))
    rules = f"/api/v1/offices/{vanlam}/deadline-rules"
    check("GET", "/api/v1/offices/{id}/deadline-rules", await api.get(rules, user=staff))
    # The law's own ten days as an override: no running deadline moves.
    same = await api.put(f"{rules}/intake", user=admin, json={"days": 10})
    check("PUT", "/api/v1/offices/{id}/deadline-rules/{rule}", same)
    back = await api.delete(f"{rules}/intake", user=admin)
    check("DELETE", "/api/v1/offices/{id}/deadline-rules/{rule}", back)
    link = f"{one}/petitions/{pid}"
    linking = "/api/v1/hearings/{id}/petitions/{petition_id}"
    check("POST", linking, await api.post(link, user=leader, json={"heard_from": "now"}))
    invited = f"{one}/guests"
    police = {"name": "Trần Văn Bình", "agency": "Công an tỉnh", "agency_kind": "police"}
    added = await api.post(invited, user=staff, json=police)
    guest = check("POST", "/api/v1/hearings/{id}/guests", added, 201)
    check("GET", "/api/v1/hearings/{id}/guests", await api.get(invited, user=staff))
    one_guest = f"{invited}/{guest['id']}"
    issued = await api.post(f"{one_guest}/link", user=staff)
    check("POST", "/api/v1/hearings/{id}/guests/{guest_id}/link", issued, 201)
    revoked = await api.post(f"{one_guest}/revoke", user=staff)
    check("POST", "/api/v1/hearings/{id}/guests/{guest_id}/revoke", revoked)
    removed = await api.delete(one_guest, user=staff)
    check("DELETE", "/api/v1/hearings/{id}/guests/{guest_id}", removed)
    check("POST", "/api/v1/hearings/{id}/start", await api.post(f"{one}/start", user=leader))
    note = await api.post(f"{one}/log", user=staff, json={"text": "Bắt đầu phiên"})
    check("POST", "/api/v1/hearings/{id}/log", note)
    check("GET", "/api/v1/hearings/{id}/log", await api.get(f"{one}/log", user=staff))
    verified = await api.get(f"{one}/log/verify", user=staff)
    assert check("GET", "/api/v1/hearings/{id}/log/verify", verified)["ok"] is True
    recorded = hub.run(_finished_recording(hub, hid))
    listed_recordings = await api.get(f"{one}/recordings", user=staff)
    assert check("GET", "/api/v1/hearings/{id}/recordings", listed_recordings)["items"]
    one_recording = await api.get(f"/api/v1/recordings/{recorded}", user=leader)
    check("GET", "/api/v1/recordings/{id}", one_recording)
    # A live hearing nobody is connected to has no room to record.
    no_room = await api.post(f"{one}/recordings", user=leader)
    check("POST", "/api/v1/hearings/{id}/recordings", no_room, 409)
    check("DELETE", linking, await api.delete(link, user=leader))
    check("POST", "/api/v1/hearings/{id}/end", await api.post(f"{one}/end", user=leader))
    minutes = f"{one}/minutes"
    draft = check("GET", "/api/v1/hearings/{id}/minutes", await api.get(minutes, user=staff))
    redrafted = await api.post(f"{minutes}/draft", user=staff)
    check("POST", "/api/v1/hearings/{id}/minutes/draft", redrafted)
    saved = await api.call(
        "PUT", minutes, user=staff, json={"version": 0, "content": draft["content"]}
    )
    check("PUT", "/api/v1/hearings/{id}/minutes", saved)
    stale = await api.call(
        "PUT", minutes, user=staff, json={"version": 0, "content": draft["content"]}
    )
    check("PUT", "/api/v1/hearings/{id}/minutes", stale, 409)
    for kind in ("docx", "pdf"):
        template = f"/api/v1/hearings/{{id}}/minutes.{kind}"
        check("GET", template, await api.get(f"{minutes}.{kind}", user=staff))
    signed = await api.post(f"{minutes}/sign", user=leader, json={"version": 1})
    check("POST", "/api/v1/hearings/{id}/minutes/sign", signed)
    cancel = f"/api/v1/hearings/{created['occurrences'][1]['id']}/cancel"
    cancelled = await api.post(cancel, user=staff, json={"reason": "trùng lịch"})
    check("POST", "/api/v1/hearings/{id}/cancel", cancelled)
    check("GET", "/api/v1/audit", await api.get(f"/api/v1/audit?petition_id={pid}", user=admin))
    personal = {"text": petition["petitioner_id_number"], "personal": "true"}
    check(
        "GET", "/api/v1/petitions", await api.get("/api/v1/petitions", user=staff, params=personal)
    )
    check("GET", "/api/v1/audit/searches", await api.get("/api/v1/audit/searches", user=admin))
    tested = await api.post("/api/v1/self-tests", user=staff, json={"score": "good"})
    check("POST", "/api/v1/self-tests", tested, 201)
    check("GET", "/api/v1/self-tests", await api.get("/api/v1/self-tests?latest=true", user=admin))

    exported = check(
        "GET", "/api/v1/national/export", await api.get("/api/v1/national/export", user=staff)
    )
    assert exported["petitions"] and exported["reception_register"]
    back = {**exported, "petitions": exported["petitions"][:2], "reception_register": []}
    imported = await api.post("/api/v1/national/import", user=staff, json=back)
    assert check("POST", "/api/v1/national/import", imported)["unchanged"] == 2

    # Errors answer in the documented Error shape too.
    missing = await api.get("/api/v1/petitions/abc", user=staff)
    check("GET", "/api/v1/petitions/{id}", missing, 404)
    empty = await api.post("/api/v1/petitions", user=staff, json={})
    check("POST", "/api/v1/petitions", empty, 422)
    check("GET", "/api/v1/hearings", await api.get("/api/v1/hearings"), 401)
    check("POST", "/api/v1/hearings/{id}/end", await api.post(f"{one}/end", user=leader), 409)

    # An alert as the hub's connectivity code opens it, then listed and acknowledged.
    alert_id = hub.run(_open_alert(hub, hy, hid))
    listed = await api.get("/api/v1/alerts", user="operator", params={"hearing": hid})
    assert check("GET", "/api/v1/alerts", listed)["total"] == 1
    ack = await api.post(f"/api/v1/alerts/{alert_id}/acknowledge", user="operator")
    check("POST", "/api/v1/alerts/{id}/acknowledge", ack)
    assert hub.server.app is not None
    monitor = hub.server.app[LINK_MONITOR]
    samples = [LinkSample(loss_pct=1.0, rtt_ms=30.0, candidate_type="srflx")] * 3
    for sample in samples:  # HY: test_link_routes counts Văn Lâm's samples
        hub.run(monitor.measured(hy, sample))
    report = check(
        "GET",
        "/api/v1/offices/{id}/link",
        await api.get(f"/api/v1/offices/{hy}/link", user=staff),
    )
    assert report["grade"] == "good" and report["sparkline"]
    # The periodic report of this year (2026: its records are this year's or later).
    figures = check(
        "GET",
        "/api/v1/reports",
        await api.get("/api/v1/reports", user=staff, params={"period": "2026"}),
    )
    assert figures["period"] == "2026"
    bad = await api.get("/api/v1/reports", user=staff, params={"period": "2026-Q9"})
    check("GET", "/api/v1/reports", bad, 422)

    # A crowd delegation received in Hưng Yên from Văn Lâm, its joint hearing, the board.
    crowd = {
        "receiving_office_id": hy,
        "home_office_id": vanlam,
        "received_on": petition["received_on"],
        "people_count": 8,
        "representatives": ["Nguyễn Văn Một"],
        "matter": "Khiếu nại thu hồi đất",
        "petition_ids": [pid],
    }
    made = await api.post("/api/v1/delegations", user=staff, json=crowd)
    did = check("POST", "/api/v1/delegations", made, 201)["id"]
    check("GET", "/api/v1/delegations", await api.get("/api/v1/delegations", user=staff))
    check(
        "GET", "/api/v1/delegations/{id}", await api.get(f"/api/v1/delegations/{did}", user=staff)
    )
    board = await api.get("/api/v1/delegations/board", user=staff)
    check("GET", "/api/v1/delegations/board", board)
    suggestion = await api.get(
        "/api/v1/delegations/suggest-home", user=staff, params={"petitions": str(pid)}
    )
    check("GET", "/api/v1/delegations/suggest-home", suggestion)
    joint = await api.post(f"/api/v1/delegations/{did}/hearing", user=leader, json={"start": False})
    check("POST", "/api/v1/delegations/{id}/hearing", joint, 201)
    closing = await api.patch(f"/api/v1/delegations/{did}", user=staff, json={"status": "closed"})
    check("PATCH", "/api/v1/delegations/{id}", closing)

    # Sign-in and sign-out with a session of this test's own (the shared tokens stay valid).
    login = {"username": "staff.bacgiang", "password": PASSWORD}
    signed = check("POST", "/api/v1/auth/login", await api.post("/api/v1/auth/login", json=login))
    bye = await api.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {signed['token']}"}
    )
    check("POST", "/api/v1/auth/logout", bye)

    answered = {(m, p) for m, p, s in doc.checked if s.startswith("2")} | LIVE_ROOM_ONLY
    assert answered == operations(doc.doc), operations(doc.doc) - answered
    assert {s for _m, _p, s in doc.checked} >= {"200", "201", "401", "404", "409", "422"}


async def test_healthz_needs_no_sign_in(api: Api) -> None:
    reply = await api.get("/healthz")
    assert reply.status == 200 and reply.json == {"status": "ok"}


async def _finished_recording(hub: ThreadedHub, hearing_id: int) -> int:
    """A finished recording's row as the stop leaves it (its files are not needed here)."""
    assert hub.server.app is not None
    async with hub.server.app[DATABASE].transaction() as session:
        row = RecordingRow(
            hearing_id=hearing_id, status="recording", folder="x", started_at=now(), manifest={}
        )
        session.add(row)
        await session.flush()
        manifest = {
            "file": "recording.mkv",
            "sha256": "0" * 64,
            "bytes": 10,
            "duration_s": 5.0,
            "sites": [
                {
                    "office_id": 1,
                    "office_name": "Trụ sở",
                    "file": "site-1-0.webm",
                    "offset_s": 0.0,
                    "duration_s": 5.0,
                    "codecs": {"video": "vp8", "audio": "opus"},
                    "sha256": "1" * 64,
                }
            ],
            "chapters": [{"title": "X", "petition_id": None, "start_s": 1.0, "end_s": 2.0}],
        }
        await recordings.finish(session, row, manifest, user_id=None, office_id=None)
        return row.id


async def _open_alert(hub: ThreadedHub, office_id: int, hearing_id: int) -> int:
    assert hub.server.app is not None
    async with hub.server.app[DATABASE].transaction() as session:
        row, _ = await alerts.open_alert(
            session, AlertDraft(AlertKind.SITE_DEGRADED, office_id, hearing_id, {"grade": "poor"})
        )
        return row.id

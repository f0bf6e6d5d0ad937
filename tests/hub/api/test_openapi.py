"""GET /api/v1/openapi.json describes every route; /healthz answers without sign-in."""

from __future__ import annotations

from typing import Any

from tests.hub.client import Api, ThreadedHub

# The contract of issue 2: other tools rely on these routes.
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


async def spec(api: Api) -> dict[str, Any]:
    reply = await api.get("/api/v1/openapi.json")  # no sign-in
    assert reply.status == 200, reply.text
    return reply.json


def operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, p) for p, entry in doc["paths"].items() for m in entry}


async def test_the_document_describes_every_api_route_the_hub_serves(
    api: Api, hub: ThreadedHub
) -> None:
    doc = await spec(api)
    assert doc["openapi"].startswith("3.")
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in hub.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.resource.canonical != "/api/v1/openapi.json"
        and route.method != "HEAD"
    }
    assert served - operations(doc) == set()
    assert CONTRACT <= operations(doc)


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
    params = {p["name"] for p in doc["paths"]["/api/v1/petitions"]["get"]["parameters"]}
    assert params >= {"type", "status", "office", "crowd", "text", "received_from", "received_to"}
    assert params >= {"limit", "offset"}
    error = schemas["Error"]["properties"]["error"]
    assert set(error["required"]) == {"message", "fields"}
    assert "security" not in doc["paths"]["/api/v1/auth/login"]["post"]
    assert doc["paths"]["/api/v1/petitions"]["get"]["security"]


async def test_healthz_needs_no_sign_in(api: Api) -> None:
    reply = await api.get("/healthz")
    assert reply.status == 200 and reply.json == {"status": "ok"}

"""The petition register: create, search, read (audited), edit and move along the workflow."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id, read_body, read_query
from hub.api.keys import DATABASE, actor_of
from hub.api.registry import api
from hub.api.schemas import AuditFilter, PetitionBody, PetitionFilter, PetitionPatch
from hub.domain.petitions import PetitionDraft
from hub.services import petition_search, petitions


@api.route("GET", "/api/v1/petitions", "Search the register (paginated)", query=PetitionFilter)
async def list_petitions(request: web.Request) -> web.Response:
    q = read_query(request, PetitionFilter)
    db = request.app[DATABASE]
    query = petition_search.PetitionQuery(
        type=q.type,
        status=q.status,
        office_id=q.office,
        crowd=q.crowd,
        text=q.text,
        received_from=q.received_from,
        received_to=q.received_to,
        limit=q.limit,
        offset=q.offset,
    )
    async with db.transaction() as session:
        items, total = await petition_search.search(
            session, actor_of(request), query, is_sqlite=db.is_sqlite
        )
    return web.json_response({"items": items, "total": total})


@api.route("POST", "/api/v1/petitions", "Register a received petition", body=PetitionBody)
async def create_petition(request: web.Request) -> web.Response:
    body = await read_body(request, PetitionBody)
    draft = PetitionDraft(
        type=body.type,
        office_id=body.office_id,
        petitioner_name=body.petitioner_name,
        content=body.content,
        received_on=body.received_on,
        source=body.source,
        petitioner_address=body.petitioner_address,
        petitioner_id_number=body.petitioner_id_number,
        crowd=body.crowd,
        people_count=body.people_count,
        representatives=tuple(body.representatives),
        subject_field=body.subject_field,
        respondent=body.respondent,
        request=body.request,
        competent_body=body.competent_body,
        handling_deadline=body.handling_deadline,
        national_code=body.national_code,
    )
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        row = await petitions.create(session, actor, draft)
        out = await petitions.get(session, actor, row.id)
    return web.json_response(out, status=201)


@api.route("GET", "/api/v1/petitions/{id}", "One petition with history and hearings (audited)")
async def get_petition(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await petitions.get(session, actor_of(request), path_id(request, "id"))
    return web.json_response(out)


@api.route(
    "PATCH", "/api/v1/petitions/{id}", "Edit a petition or change its status", body=PetitionPatch
)
async def patch_petition(request: web.Request) -> web.Response:
    body = await read_body(request, PetitionPatch)
    changes = body.changes()
    status = changes.pop("status", None)
    note = changes.pop("status_note", "")
    actor = actor_of(request)
    petition_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        await petitions.update(session, actor, petition_id, changes, status=status, note=note)
        out = await petitions.get(session, actor, petition_id)
    return web.json_response(out)


@api.route("GET", "/api/v1/audit", "Reads of petitions' personal data (admin)", query=AuditFilter)
async def audit(request: web.Request) -> web.Response:
    q = read_query(request, AuditFilter)
    async with request.app[DATABASE].transaction() as session:
        items, total = await petitions.audit_entries(
            session,
            actor_of(request),
            petition_id=q.petition_id,
            user_id=q.user_id,
            limit=q.limit,
            offset=q.offset,
        )
    return web.json_response({"items": items, "total": total})

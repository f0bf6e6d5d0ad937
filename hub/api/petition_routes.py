"""The petition register: create, search, read (audited), edit and move along the workflow."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.edge import path_id, read_body, read_query
from hub.api.keys import DATABASE, actor_of
from hub.api.registry import api
from hub.api.responses import AuditList, Petition, PetitionList, SearchAuditList, reply
from hub.api.schemas import (
    AuditFilter,
    ExtensionBody,
    PetitionBody,
    PetitionFilter,
    PetitionPatch,
    SearchAuditFilter,
)
from hub.domain.petitions import PetitionDraft
from hub.services import petition_search, petitions


@api.route(
    "GET",
    "/api/v1/petitions",
    "Search the register (paginated); personal=true also searches petitioners' personal data "
    "(audited, no total); due=overdue|week: the petitions past or near their handling deadline",
    query=PetitionFilter,
    response=PetitionList,
)
async def list_petitions(request: web.Request) -> web.Response:
    """The register's page. `text` matches the case only, and `total` is null when it matches
    more than 200; with `personal=true` it also matches the petitioner's name and address (word
    prefixes) and ID number (whole), the search is written to the search audit
    (GET /api/v1/audit/searches) and `total` is null."""
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
        due=str(q.due) if q.due else None,
        limit=q.limit,
        offset=q.offset,
    )
    out: dict[str, Any]
    async with db.transaction() as session:
        if q.personal:
            items, has_more = await petition_search.search_personal(
                session, actor_of(request), query, is_sqlite=db.is_sqlite
            )
            out = {"items": items, "total": None, "has_more": has_more}
        else:
            page = await petition_search.search(
                session, actor_of(request), query, is_sqlite=db.is_sqlite
            )
            out = {"items": page.items, "total": page.total, "has_more": page.has_more}
    return reply(PetitionList, out)


@api.route(
    "POST",
    "/api/v1/petitions",
    "Register a received petition",
    body=PetitionBody,
    response=Petition,
    status=201,
)
async def create_petition(request: web.Request) -> web.Response:
    body = await read_body(request, PetitionBody)
    draft = PetitionDraft.from_fields(body.model_dump())
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        row = await petitions.create(session, actor, draft)
        out = await petitions.get(session, actor, row.id)
    return reply(Petition, out, 201)


@api.route(
    "GET",
    "/api/v1/petitions/{id}",
    "One petition with history and hearings (audited)",
    response=Petition,
)
async def get_petition(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await petitions.get(session, actor_of(request), path_id(request, "id"))
    return reply(Petition, out)


@api.route(
    "PATCH",
    "/api/v1/petitions/{id}",
    "Edit a petition or change its status",
    body=PetitionPatch,
    response=Petition,
)
async def patch_petition(request: web.Request) -> web.Response:
    body = await read_body(request, PetitionPatch)
    changes = body.changes()
    status = changes.pop("status", None)
    note = changes.pop("status_note", "")
    status_on = changes.pop("status_on", None)
    actor = actor_of(request)
    petition_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        await petitions.update(
            session, actor, petition_id, changes, status=status, note=note, status_on=status_on
        )
        out = await petitions.get(session, actor, petition_id)
    return reply(Petition, out)


@api.route(
    "POST",
    "/api/v1/petitions/{id}/extensions",
    "Extend the running handling deadline once more (a complex complaint: to 45 days; a "
    "denunciation: up to twice by 30 days), with the reason kept in the history",
    body=ExtensionBody,
    response=Petition,
)
async def extend_deadline(request: web.Request) -> web.Response:
    body = await read_body(request, ExtensionBody)
    actor = actor_of(request)
    petition_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        await petitions.extend_deadline(session, actor, petition_id, body.reason)
        out = await petitions.get(session, actor, petition_id)
    return reply(Petition, out)


@api.route(
    "GET",
    "/api/v1/audit",
    "Reads of petitions' personal data (admin)",
    query=AuditFilter,
    response=AuditList,
)
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
    return reply(AuditList, {"items": items, "total": total})


@api.route(
    "GET",
    "/api/v1/audit/searches",
    "Searches of petitioners' personal data (admin), even those that matched nothing",
    query=SearchAuditFilter,
    response=SearchAuditList,
)
async def search_audit(request: web.Request) -> web.Response:
    q = read_query(request, SearchAuditFilter)
    async with request.app[DATABASE].transaction() as session:
        items, total = await petition_search.search_audit_entries(
            session, actor_of(request), user_id=q.user_id, limit=q.limit, offset=q.offset
        )
    return reply(SearchAuditList, {"items": items, "total": total})

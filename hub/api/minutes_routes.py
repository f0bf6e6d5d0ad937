"""A hearing's minutes (biên bản): read (or drafted from the log), edited under a version
number, signed off by a leader, downloaded as DOCX or PDF (rendered off the event loop)."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from hub.api.edge import path_id, read_body
from hub.api.keys import DATABASE, DOCUMENTS, actor_of
from hub.api.registry import api
from hub.api.responses import File, Minutes, reply, reply_file
from hub.api.schemas import MinutesBody, MinutesSignBody
from hub.domain.errors import ValidationFailed
from hub.services import documents
from hub.services import minutes as minutes_service

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"


def _dotted(exc: ValidationError) -> ValidationFailed:
    """A nested body's errors named in full (content.petitions.0.heard_to): the edge's general
    naming keeps only a flat body's field and list indexes."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        # Union members' tags ('function-after[...]', 'datetime') are no part of a field's name.
        parts = [
            str(p)
            for p in err["loc"]
            if isinstance(p, int) or (p.isidentifier() and p not in ("datetime", "none"))
        ]
        fields.setdefault(".".join(parts) or "body", err["msg"])
    first = next(iter(fields.items()))
    return ValidationFailed(f"invalid {first[0]}: {first[1]}", fields)


@api.route(
    "GET",
    "/api/v1/hearings/{id}/minutes",
    "The hearing's minutes, or a draft from its session log (version 0) until saved",
    response=Minutes,
)
async def get_minutes(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await minutes_service.read(session, actor_of(request), path_id(request, "id"))
    return reply(Minutes, out)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/minutes/draft",
    "A fresh draft of the minutes from the session log as it is now (not stored)",
    response=Minutes,
)
async def redraft_minutes(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await minutes_service.redraft(session, actor_of(request), path_id(request, "id"))
    return reply(Minutes, out)


@api.route(
    "PUT",
    "/api/v1/hearings/{id}/minutes",
    "Save the minutes (the version they were edited from; 409 when stale or signed off)",
    body=MinutesBody,
    response=Minutes,
)
async def put_minutes(request: web.Request) -> web.Response:
    try:
        body = await read_body(request, MinutesBody)
    except ValidationError as exc:
        raise _dotted(exc) from exc
    async with request.app[DATABASE].transaction() as session:
        out = await minutes_service.save(
            session,
            actor_of(request),
            path_id(request, "id"),
            body.version,
            body.content.model_dump(mode="json"),
        )
    return reply(Minutes, out)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/minutes/sign",
    "Sign the minutes off (a leader of the host office or above; then read-only)",
    body=MinutesSignBody,
    response=Minutes,
)
async def sign_minutes(request: web.Request) -> web.Response:
    body = await read_body(request, MinutesSignBody)
    async with request.app[DATABASE].transaction() as session:
        out = await minutes_service.sign(
            session, actor_of(request), path_id(request, "id"), body.version
        )
    return reply(Minutes, out)


async def _download(request: web.Request, kind: str) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        export = await minutes_service.export(
            session, actor_of(request), path_id(request, "id"), kind
        )
    # After the transaction: rendering takes a worker process, not a database connection.
    render = documents.render_minutes_pdf if kind == "pdf" else documents.render_minutes_docx
    data = await request.app[DOCUMENTS].run(render, export.layout)
    return reply_file(data, PDF if kind == "pdf" else DOCX, export.filename)


@api.route(
    "GET",
    "/api/v1/hearings/{id}/minutes.docx",
    "The minutes as a Word document (Times New Roman, ND 30/2020 layout)",
    response=File,
    media_type=DOCX,
)
async def minutes_docx(request: web.Request) -> web.Response:
    return await _download(request, "docx")


@api.route(
    "GET",
    "/api/v1/hearings/{id}/minutes.pdf",
    "The minutes as a PDF (Liberation Serif embedded, ND 30/2020 layout)",
    response=File,
    media_type=PDF,
)
async def minutes_pdf(request: web.Request) -> web.Response:
    return await _download(request, "pdf")

"""The national database exchange over the API (docs/export-format.md): staff and admins export
their office's subtree as the national-format JSON document, and import one."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from hub.api.edge import DomainErrorWithStatus, read_query
from hub.api.keys import DATABASE, actor_of
from hub.api.registry import api
from hub.api.responses import ImportReport, NationalExport, reply
from hub.api.schemas import NationalExportQuery, NationalImportBody
from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.users import Action
from hub.services import national_export, national_import
from hub.services.petitions import audit_reads
from hub.storage.tables import OfficeRow

# An import's document may be far larger than any other request body (the app's limit is
# 256 kB): this route reads its own body up to this size. Larger files go through
# `tcd-hub import`.
IMPORT_MAX_BYTES = 32 * 1024 * 1024


@api.route(
    "GET",
    "/api/v1/national/export",
    "Export an office's petitions and reception register rows in the national format (JSON; "
    "each exported petition is an audited read)",
    query=NationalExportQuery,
    response=NationalExport,
)
async def export_national(request: web.Request) -> web.Response:
    q = read_query(request, NationalExportQuery)
    actor = actor_of(request)
    actor.require(Action.EDIT_PETITIONS)
    async with request.app[DATABASE].transaction() as session:
        office = await session.get(OfficeRow, q.office_id or actor.office_id)
        if office is None or not actor.sees(office.path):
            raise NotFound(f"office {q.office_id} not found")
        rows = await national_export.collect(session, office, q.since)
        await audit_reads(session, actor, national_export.petition_ids(rows), "export")
    return reply(NationalExport, national_export.to_json(rows, office, q.since))


@api.route(
    "POST",
    "/api/v1/national/import",
    "Import a national-format JSON document into the caller's scope: each row created, "
    "updated, left unchanged or refused with its reasons",
    body=NationalImportBody,
    response=ImportReport,
)
async def import_national(request: web.Request) -> web.Response:
    actor = actor_of(request)
    actor.require(Action.EDIT_PETITIONS)
    raw = await _read_document(request)
    rows = national_import.read_file(raw)
    async with request.app[DATABASE].transaction() as session:
        report = await national_import.import_rows(session, rows, actor)
    return reply(ImportReport, report)


async def _read_document(request: web.Request) -> bytes:
    """The body, checked against NationalImportBody, up to IMPORT_MAX_BYTES."""
    if request.content_type != "application/json":
        raise DomainErrorWithStatus(
            415, "send the document as JSON with 'Content-Type: application/json'"
        )
    raw = await request.content.read(IMPORT_MAX_BYTES + 1)
    if len(raw) > IMPORT_MAX_BYTES:
        raise DomainErrorWithStatus(
            413, f"the document is larger than {IMPORT_MAX_BYTES} bytes: use `tcd-hub import`"
        )
    try:
        data: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise DomainErrorWithStatus(400, f"body is not valid JSON: {exc}") from exc
    try:
        NationalImportBody.model_validate(data)
    except ValidationError as exc:
        fields = {
            ".".join(str(p) for p in e["loc"]) or "body": e["msg"]
            for e in exc.errors(include_url=False)
        }
        raise ValidationFailed("invalid national-format document", fields) from None
    return bytes(raw)

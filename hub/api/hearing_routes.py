"""Hearings: schedule, change, start/end/cancel, petitions heard, the session log, join tokens."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id, read_body, read_query
from hub.api.keys import DATABASE, NOTIFIER, SETTINGS, TOKEN, actor_of
from hub.api.registry import api
from hub.api.responses import (
    Hearing,
    HearingList,
    JoinToken,
    LogList,
    LogVerification,
    Ok,
    PetitionLink,
    reply,
)
from hub.api.schemas import (
    HearingBody,
    HearingFilter,
    HearingPatch,
    JoinTokenBody,
    LinkBody,
    NoteBody,
    StatusReason,
)
from hub.clock import local_iso
from hub.domain.hearings import HearingDraft, HearingStatus
from hub.services import auth, hearings, sessionlog


@api.route(
    "GET",
    "/api/v1/hearings",
    "Hearings in scope, soonest first",
    query=HearingFilter,
    response=HearingList,
)
async def list_hearings(request: web.Request) -> web.Response:
    q = read_query(request, HearingFilter)
    async with request.app[DATABASE].transaction() as session:
        rows, total = await hearings.list_(
            session,
            actor_of(request),
            status=q.status,
            office_id=q.office,
            starts_from=q.starts_from,
            starts_to=q.starts_to,
            limit=q.limit,
            offset=q.offset,
        )
        items = [await hearings.view(session, r, with_petitions=False) for r in rows]
    return reply(HearingList, {"items": items, "total": total})


@api.route(
    "POST",
    "/api/v1/hearings",
    "Schedule a hearing (a series with recurrence)",
    body=HearingBody,
    response=Hearing,
    status=201,
)
async def create_hearing(request: web.Request) -> web.Response:
    body = await read_body(request, HearingBody)
    draft = HearingDraft(
        title=body.title,
        kind=body.kind,
        host_office_id=body.host_office_id,
        site_office_ids=tuple(body.site_office_ids),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        chair_user_id=body.chair_user_id,
        recurrence=body.recurrence,
        description=body.description,
        location=body.location,
    )
    async with request.app[DATABASE].transaction() as session:
        rows = await hearings.create(session, actor_of(request), draft)
        out = await hearings.view(session, rows[0], with_petitions=True)
    if len(rows) > 1:
        out["occurrences"] = [{"id": r.id, "starts_at": local_iso(r.starts_at)} for r in rows]
    return reply(Hearing, out, 201)


@api.route(
    "GET", "/api/v1/hearings/{id}", "One hearing with the petitions it heard", response=Hearing
)
async def get_hearing(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        row = await hearings.get(session, actor_of(request), path_id(request, "id"))
        out = await hearings.view(session, row, with_petitions=True)
    return reply(Hearing, out)


@api.route(
    "PATCH", "/api/v1/hearings/{id}", "Change a hearing", body=HearingPatch, response=Hearing
)
async def patch_hearing(request: web.Request) -> web.Response:
    body = await read_body(request, HearingPatch)
    changes = body.changes()
    async with request.app[DATABASE].transaction() as session:
        row = await hearings.update(session, actor_of(request), path_id(request, "id"), changes)
        out = await hearings.view(session, row, with_petitions=True)
    if {"site_office_ids", "chair_user_id"} & changes.keys():
        # After the commit: an office no longer invited leaves the live room now.
        await request.app[NOTIFIER].grounds_changed()
    return reply(Hearing, out)


async def _status(request: web.Request, target: HearingStatus) -> web.Response:
    body = await read_body(request, StatusReason) if request.can_read_body else StatusReason()
    async with request.app[DATABASE].transaction() as session:
        row = await hearings.set_status(
            session, actor_of(request), path_id(request, "id"), target, body.reason
        )
        out = await hearings.view(session, row, with_petitions=True)
    # After the commit: the live room hears of it only once the change is durable.
    await request.app[NOTIFIER].status_changed(row.id, str(target))
    return reply(Hearing, out)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/cancel",
    "Cancel a scheduled hearing",
    body=StatusReason,
    response=Hearing,
)
async def cancel_hearing(request: web.Request) -> web.Response:
    return await _status(request, HearingStatus.CANCELLED)


@api.route(
    "POST", "/api/v1/hearings/{id}/start", "Start a hearing (it goes live)", response=Hearing
)
async def start_hearing(request: web.Request) -> web.Response:
    return await _status(request, HearingStatus.LIVE)


@api.route("POST", "/api/v1/hearings/{id}/end", "End a live hearing", response=Hearing)
async def end_hearing(request: web.Request) -> web.Response:
    return await _status(request, HearingStatus.ENDED)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/petitions/{petition_id}",
    "Link a petition to a hearing, or mark heard_from / heard_to",
    body=LinkBody,
    response=PetitionLink,
)
async def link_petition(request: web.Request) -> web.Response:
    body = await read_body(request, LinkBody) if request.can_read_body else LinkBody()
    hearing_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        link = await hearings.link_petition(
            session,
            actor_of(request),
            hearing_id,
            path_id(request, "petition_id"),
            heard_from=body.heard_from,
            heard_to=body.heard_to,
        )
        out = {
            "hearing_id": link.hearing_id,
            "petition_id": link.petition_id,
            "heard_from": local_iso(link.heard_from),
            "heard_to": local_iso(link.heard_to),
        }
    return reply(PetitionLink, out)


@api.route(
    "DELETE",
    "/api/v1/hearings/{id}/petitions/{petition_id}",
    "Unlink a petition from a hearing",
    response=Ok,
)
async def unlink_petition(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        await hearings.unlink_petition(
            session, actor_of(request), path_id(request, "id"), path_id(request, "petition_id")
        )
    return reply(Ok, {"ok": True})


@api.route("GET", "/api/v1/hearings/{id}/log", "The hearing's session log", response=LogList)
async def hearing_log(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        items = await hearings.log(session, actor_of(request), path_id(request, "id"))
    return reply(LogList, {"items": items, "total": len(items)})


@api.route(
    "GET",
    "/api/v1/hearings/{id}/log/verify",
    "Whether the hearing's session log verifies (its hash chain), or where it breaks",
    response=LogVerification,
)
async def verify_log(request: web.Request) -> web.Response:
    hearing_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        await hearings.get(session, actor_of(request), hearing_id)
        result = await sessionlog.verify(session, hearing_id)
    return reply(LogVerification, result)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/log",
    "Add a note to the session log",
    body=NoteBody,
    response=Ok,
    status=201,
)
async def add_note(request: web.Request) -> web.Response:
    body = await read_body(request, NoteBody)
    async with request.app[DATABASE].transaction() as session:
        await hearings.add_note(session, actor_of(request), path_id(request, "id"), body.text)
    return reply(Ok, {"ok": True}, 201)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/join-token",
    "A join token for one office's seat in the hearing",
    body=JoinTokenBody,
    response=JoinToken,
    status=201,
)
async def join_token(request: web.Request) -> web.Response:
    body = await read_body(request, JoinTokenBody) if request.can_read_body else JoinTokenBody()
    settings = request.app[SETTINGS]
    async with request.app[DATABASE].transaction() as session:
        out = await hearings.join_token(
            session,
            actor_of(request),
            path_id(request, "id"),
            office_id=body.office_id,
            secret=settings.secret_key,
            ttl_seconds=settings.join_token_ttl_seconds,
            # The token is void once this sign-in ends (signed out or expired).
            issuer_session=auth.session_key(request[TOKEN]),
        )
    return reply(JoinToken, out, 201)

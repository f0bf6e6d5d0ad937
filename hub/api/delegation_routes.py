"""Crowd delegations: register, list, read, move along, the board by province, the home office
suggested from addresses, and the joint hearing opened from one."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id, read_body, read_query
from hub.api.keys import DATABASE, DELEGATION_NOTIFIER, NOTIFIER, actor_of
from hub.api.registry import api
from hub.api.responses import (
    Delegation,
    DelegationBoard,
    DelegationList,
    Hearing,
    HomeSuggestion,
    reply,
)
from hub.api.schemas import (
    DelegationBoardQuery,
    DelegationBody,
    DelegationFilter,
    DelegationHearingBody,
    DelegationPatch,
    HomeSuggestionQuery,
)
from hub.domain.delegations import DelegationDraft, DelegationStatus
from hub.services import delegations, hearings
from hub.storage.tables import DelegationRow


async def _announce(request: web.Request, delegation_id: int) -> None:
    """After the commit: the staff and leaders of its home and receiving offices hear of it."""
    async with request.app[DATABASE].transaction() as session:
        row = await session.get(DelegationRow, delegation_id)
        if row is None:
            return
        view = await delegations.view_of(session, row)
        home_path, receiving_path = await delegations.paths_of(session, row)
    summary = {
        k: v
        for k, v in view.items()
        if k not in ("representatives", "note", "petitions", "hearings")
    }
    await request.app[DELEGATION_NOTIFIER].delegation_changed(summary, home_path, receiving_path)


@api.route(
    "GET",
    "/api/v1/delegations",
    "Crowd delegations received in scope or coming from it, newest first",
    query=DelegationFilter,
    response=DelegationList,
)
async def list_delegations(request: web.Request) -> web.Response:
    q = read_query(request, DelegationFilter)
    async with request.app[DATABASE].transaction() as session:
        items, total = await delegations.list_(
            session,
            actor_of(request),
            statuses=tuple(q.status.split(",")) if q.status else (),
            home_office_id=q.home_office,
            received_from=q.received_from,
            received_to=q.received_to,
            limit=q.limit,
            offset=q.offset,
        )
    return reply(DelegationList, {"items": items, "total": total})


@api.route(
    "POST",
    "/api/v1/delegations",
    "Register a crowd delegation (its home office's staff and leaders are told at once)",
    body=DelegationBody,
    response=Delegation,
    status=201,
)
async def create_delegation(request: web.Request) -> web.Response:
    body = await read_body(request, DelegationBody)
    draft = DelegationDraft(
        receiving_office_id=body.receiving_office_id,
        home_office_id=body.home_office_id,
        received_on=body.received_on,
        people_count=body.people_count,
        matter=body.matter,
        representatives=tuple(body.representatives),
        subject_field=body.subject_field,
        petition_ids=tuple(body.petition_ids),
        note=body.note,
    )
    async with request.app[DATABASE].transaction() as session:
        row = await delegations.create(session, actor_of(request), draft)
        out = await delegations.view_of(session, row)
    await _announce(request, row.id)
    return reply(Delegation, out, 201)


@api.route(
    "GET",
    "/api/v1/delegations/board",
    "Delegations in scope by the province they came from: open, being handled, closed, vượt cấp",
    query=DelegationBoardQuery,
    response=DelegationBoard,
)
async def delegation_board(request: web.Request) -> web.Response:
    q = read_query(request, DelegationBoardQuery)
    async with request.app[DATABASE].transaction() as session:
        out = await delegations.board(session, actor_of(request), received_from=q.received_from)
    return reply(DelegationBoard, out)


@api.route(
    "GET",
    "/api/v1/delegations/suggest-home",
    "The home office suggested from petitioners' addresses (each petition's read is audited)",
    query=HomeSuggestionQuery,
    response=HomeSuggestion,
)
async def suggest_home(request: web.Request) -> web.Response:
    q = read_query(request, HomeSuggestionQuery)
    ids = tuple(int(i) for i in q.petitions.split(",")) if q.petitions else ()
    async with request.app[DATABASE].transaction() as session:
        found = await delegations.suggest(
            session,
            actor_of(request),
            petition_ids=tuple(dict.fromkeys(ids)),
            addresses=(q.address,) if q.address else (),
        )
    return reply(
        HomeSuggestion,
        {
            "office_id": found.office_id,
            "office_name": found.office_name,
            "candidates": found.candidates,
            "matched": found.matched,
            "addresses": found.addresses,
        },
    )


@api.route(
    "GET",
    "/api/v1/delegations/{id}",
    "One delegation with its petitions and joint hearings",
    response=Delegation,
)
async def get_delegation(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await delegations.get(session, actor_of(request), path_id(request, "id"))
    return reply(Delegation, out)


@api.route(
    "PATCH",
    "/api/v1/delegations/{id}",
    "Move a delegation along: being handled, closed",
    body=DelegationPatch,
    response=Delegation,
)
async def patch_delegation(request: web.Request) -> web.Response:
    body = await read_body(request, DelegationPatch)
    delegation_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        row = await delegations.set_status(
            session, actor_of(request), delegation_id, DelegationStatus(body.status)
        )
        out = await delegations.view_of(session, row)
    await _announce(request, delegation_id)
    return reply(Delegation, out)


@api.route(
    "POST",
    "/api/v1/delegations/{id}/hearing",
    "Open the delegation's ad hoc joint hearing: hosted by the receiving office, the home "
    "office's bridge point invited, its petitions linked, started at once unless start=false",
    body=DelegationHearingBody,
    response=Hearing,
    status=201,
)
async def open_hearing(request: web.Request) -> web.Response:
    body = (
        await read_body(request, DelegationHearingBody)
        if request.can_read_body
        else DelegationHearingBody()
    )
    delegation_id = path_id(request, "id")
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        row = await delegations.open_hearing(
            session,
            actor,
            delegation_id,
            title=body.title,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            chair_user_id=body.chair_user_id,
            start=body.start,
        )
        out = await hearings.view(session, row, with_petitions=True)
    # After the commit: the live room and the delegation's pages hear of it once it is durable.
    if body.start:
        await request.app[NOTIFIER].status_changed(row.id, "live")
    await _announce(request, delegation_id)
    return reply(Hearing, out, 201)

"""Connectivity alerts: listed in the caller's scope, acknowledged by operators."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id, read_query
from hub.api.keys import DATABASE, actor_of
from hub.api.registry import api
from hub.api.responses import Alert, AlertList, reply
from hub.api.schemas import AlertFilter
from hub.services import alerts


@api.route(
    "GET",
    "/api/v1/alerts",
    "Connectivity alerts of the offices in scope, newest first (open=true: those still open)",
    query=AlertFilter,
    response=AlertList,
)
async def list_alerts(request: web.Request) -> web.Response:
    q = read_query(request, AlertFilter)
    async with request.app[DATABASE].transaction() as session:
        items, total = await alerts.list_(
            session,
            actor_of(request),
            open_only=q.open is True,
            closed_only=q.open is False,
            office_id=q.office,
            hearing_id=q.hearing,
            kind=q.kind,
            limit=q.limit,
            offset=q.offset,
        )
    return reply(AlertList, {"items": items, "total": total})


@api.route(
    "POST",
    "/api/v1/alerts/{id}/acknowledge",
    "Acknowledge an alert (operators, admins): who and when are kept, the first time only",
    response=Alert,
)
async def acknowledge_alert(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await alerts.acknowledge(session, actor_of(request), path_id(request, "id"))
    return reply(Alert, out)

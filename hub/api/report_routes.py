"""Periodic reports over the API: an office subtree's figures for a month, quarter or year."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import read_query
from hub.api.keys import DATABASE, actor_of
from hub.api.registry import api
from hub.api.responses import Report, reply
from hub.api.schemas import ReportQuery
from hub.clock import now
from hub.domain.reports import Period
from hub.services import reports


@api.route(
    "GET",
    "/api/v1/reports",
    "An office's and its subtree's figures for a period (hearings, sites, incidents, citizens "
    "received, crowd delegations, petitions by type, subject and outcome, overdue); the page "
    "/reports and its XLSX show the same",
    query=ReportQuery,
    response=Report,
)
async def get_report(request: web.Request) -> web.Response:
    q = read_query(request, ReportQuery)
    async with request.app[DATABASE].transaction() as session:
        out = await reports.report(
            session, actor_of(request), q.office_id, Period.parse(q.period), now()
        )
    return reply(Report, out)

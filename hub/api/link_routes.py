"""A site's link over the API: grade, latest figures, sparkline and 24-hour series."""

from __future__ import annotations

import time

from aiohttp import web

from hub.api.edge import path_id, read_query
from hub.api.keys import DATABASE, LINK_READER, SETTINGS, actor_of
from hub.api.registry import api
from hub.api.responses import LinkReport, reply
from hub.api.schemas import LinkReportQuery
from hub.services.link_report import link_report


@api.route(
    "GET",
    "/api/v1/offices/{id}/link",
    "A site's link: its grade now with the reasons, the latest figures, the last 15 minutes "
    "and the last 24 hours (an office in the caller's scope)",
    query=LinkReportQuery,
    response=LinkReport,
)
async def get_link(request: web.Request) -> web.Response:
    q = read_query(request, LinkReportQuery)
    office_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        out = await link_report(
            session,
            actor_of(request),
            request.app[LINK_READER],
            request.app[SETTINGS].grade_thresholds,
            office_id,
            time.time(),
            with_graph=q.graph,
        )
    return reply(LinkReport, out)

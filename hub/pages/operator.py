"""The operator's board: every bridge point, online or not and in which hearing, with the open
connectivity alerts (static/js/operator.js); and one site's link over the last 24 hours
(static/js/operator-site.js)."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, actor_of
from hub.domain.errors import NotFound
from hub.domain.users import Action
from hub.pages.guard import page
from hub.pages.render import render
from hub.services import offices

routes = web.RouteTableDef()


@routes.get("/operator")
@page(Action.MONITOR)
async def operator_page(request: web.Request) -> web.StreamResponse:
    """Every bridge point, online or not and in which hearing (static/js/operator.js)."""
    signaling = any(
        resource.canonical.startswith("/socket.io") for resource in request.app.router.resources()
    )
    return render(request, "operator.html", page_data={"signaling": signaling})


@routes.get("/operator/sites/{id}")
@page(Action.MONITOR)
async def site_link_page(request: web.Request) -> web.StreamResponse:
    """One bridge point's link: grade, reasons and the 24-hour graphs of RTT, loss, jitter,
    bitrate and frame rate (static/js/operator-site.js reads GET /api/v1/offices/{id}/link).
    An office outside the operator's scope is a 404, as the API answers it."""
    actor = actor_of(request)
    office_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        office = await offices.get_office(session, office_id)
    if not actor.sees(office.path):
        raise NotFound(f"office {office_id} not found")
    return render(
        request,
        "operator_site.html",
        office=office,
        page_data={"office_id": office.id, "office_name": office.name},
    )

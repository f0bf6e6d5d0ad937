"""The operator's board: every bridge point, online or not and in which hearing
(static/js/operator.js)."""

from __future__ import annotations

from aiohttp import web

from hub.domain.users import Action
from hub.pages.guard import page
from hub.pages.render import render

routes = web.RouteTableDef()


@routes.get("/operator")
@page(Action.MONITOR)
async def operator_page(request: web.Request) -> web.StreamResponse:
    """Every bridge point, online or not and in which hearing (static/js/operator.js)."""
    signaling = any(
        resource.canonical.startswith("/socket.io") for resource in request.app.router.resources()
    )
    return render(request, "operator.html", page_data={"signaling": signaling})

"""Crowd delegations' pages: the list of open ones with the board by province, the form that
registers one, and one delegation with its petitions, hearings and actions. The scripts
(web/static/js/delegation*.js) call the JSON API; the detail page renders its record on the
server, so a delegation out of scope is an HTML 404 like any unknown page."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, actor_of
from hub.domain.users import Action
from hub.pages.guard import page
from hub.pages.render import render
from hub.services import delegations

routes = web.RouteTableDef()


@routes.get("/staff/delegations")
@page(Action.READ_PETITIONS)
async def delegations_page(request: web.Request) -> web.StreamResponse:
    """Open delegations (live) and the board by province (static/js/delegations.js)."""
    return render(request, "delegations.html")


@routes.get("/staff/delegations/new")
@page(Action.EDIT_PETITIONS)
async def new_delegation_page(request: web.Request) -> web.StreamResponse:
    """The form that registers a crowd delegation (static/js/delegation-form.js)."""
    return render(request, "delegation_new.html")


@routes.get("/staff/delegations/{id}")
@page(Action.READ_PETITIONS)
async def delegation_page(request: web.Request) -> web.StreamResponse:
    """One delegation: where it came from and was received, its people, matter, petitions,
    joint hearings, and what the reader may do with it."""
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        view = await delegations.get(session, actor, path_id(request, "id"))
        receiving_side = await delegations.receiving_side(session, actor, view["id"])
    status = view["status"]
    running = any(h["status"] in ("scheduled", "live") for h in view["hearings"])
    may_move = actor.can(Action.EDIT_PETITIONS) or actor.can(Action.RUN_HEARINGS)
    can = {
        "open_hearing": receiving_side
        and actor.can(Action.RUN_HEARINGS)
        and status != "closed"
        and view["from_elsewhere"]
        and not running,
        "handle": may_move and status == "open",
        "close": may_move and status != "closed",
    }
    return render(
        request,
        "delegation.html",
        d=view,
        can=can,
        page_data={"delegation_id": view["id"], "status": status},
    )

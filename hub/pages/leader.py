"""The leader's start page: today's hearings and the next seven days', with join and
start/end for the hearings of the leader's own office."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from aiohttp import web

from hub.api.keys import DATABASE, actor_of
from hub.clock import LOCAL_TZ, now_local
from hub.domain.users import Action
from hub.pages.guard import page
from hub.pages.render import render
from hub.services import hearings

routes = web.RouteTableDef()


@routes.get("/leader")
@page(Action.RUN_HEARINGS)
async def leader_page(request: web.Request) -> web.StreamResponse:
    """Today's hearings and the next seven days', with join and start/end for hosted ones."""
    actor = actor_of(request)
    today = now_local().date()
    start = datetime.combine(today, time(0), LOCAL_TZ)
    async with request.app[DATABASE].transaction() as session:
        ranged, _ = await hearings.list_(
            session, actor, starts_from=start, starts_to=start + timedelta(days=8), limit=200
        )
        live, _ = await hearings.list_(session, actor, status="live", limit=50)
        rows = {r.id: r for r in [*live, *ranged]}
        views = [await hearings.view(session, r, with_petitions=False) for r in rows.values()]
    views.sort(key=lambda v: (v["starts_at"], v["id"]))
    today_items: list[dict[str, Any]] = []
    upcoming: dict[str, list[dict[str, Any]]] = {}
    for view in views:
        # Start and end are offered for the leader's own office's hearings, although the API
        # also lets an office above the host run them.
        view["hosted"] = view["host_office_id"] == actor.office_id
        day = view["starts_at"][:10]
        if view["status"] == "live" or day <= today.isoformat():
            today_items.append(view)
        else:
            upcoming.setdefault(day, []).append(view)
    return render(
        request,
        "leader.html",
        today=today,
        today_items=today_items,
        upcoming=sorted(upcoming.items()),
        can_run=actor.can(Action.RUN_HEARINGS),
    )

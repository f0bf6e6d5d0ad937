"""The playback page of a hearing's recording (static/js/recording-player.js): every site's
file in sync, a jump to each petition heard. Opening it is audited, like each file it plays."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, actor_of
from hub.domain.users import Action
from hub.pages.guard import page
from hub.pages.render import render
from hub.services import recordings

routes = web.RouteTableDef()


@routes.get("/recordings/{id}")
@page(Action.READ_PETITIONS)
async def recording_page(request: web.Request) -> web.StreamResponse:
    """One recording: a <video> per site, a shared timeline, the chapters."""
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        row = await recordings.visible(session, actor, path_id(request, "id"))
        out = await recordings.view(session, row)
        await recordings.audit(session, actor, row, "open playback page")
    return render(
        request,
        "recording.html",
        recording=out,
        page_data={"recording": out},
    )

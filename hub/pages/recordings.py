"""The playback page of a hearing's recording (static/js/recording-player.js): every site's
file in sync, a jump to each petition heard. Opening it is audited, like each file it plays."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, SETTINGS, actor_of
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


@routes.get(r"/recordings/{id}/files/{name:[A-Za-z0-9._-]+}")
@page(Action.READ_PETITIONS)
async def recording_file(request: web.Request) -> web.StreamResponse:
    """A file of a recording (the combined one or a site's), with byte ranges (what a <video>
    element seeks with), for a session cookie or a bearer token. A read from its first byte is
    a playback or a download and is audited; the ranges a player asks for next are not (one
    row per playback, not one per seek)."""
    actor = actor_of(request)
    name = request.match_info["name"]
    async with request.app[DATABASE].transaction() as session:
        row = await recordings.visible(session, actor, path_id(request, "id"))
        path = recordings.file_of(row, request.app[SETTINGS].effective_recording_dir, name)
        if request.http_range.start in (None, 0):
            await recordings.audit(session, actor, row, f"play {name}")
    kind = "video/webm" if name.endswith(".webm") else "video/x-matroska"
    return web.FileResponse(path, headers={"Content-Type": kind, "Cache-Control": "private"})

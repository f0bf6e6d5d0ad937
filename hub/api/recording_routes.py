"""Recordings of live hearings: start and stop (the host side), list, one recording, its files
(each playback audited)."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, RECORDINGS, SETTINGS, actor_of
from hub.api.registry import api
from hub.api.responses import Recording, RecordingList, reply
from hub.services import recordings


@api.route(
    "POST",
    "/api/v1/hearings/{id}/recordings",
    "Start recording a live hearing (every site is told; logged)",
    response=Recording,
    status=201,
)
async def start_recording(request: web.Request) -> web.Response:
    out = await recordings.start(
        request.app[DATABASE],
        request.app[RECORDINGS],
        actor_of(request),
        path_id(request, "id"),
        request.app[SETTINGS].effective_recording_dir,
    )
    return reply(Recording, out, 201)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/recordings/stop",
    "Stop a hearing's recording; answers once its files are written (SHA-256 logged)",
    response=Recording,
)
async def stop_recording(request: web.Request) -> web.Response:
    out = await recordings.stop(
        request.app[DATABASE],
        request.app[RECORDINGS],
        actor_of(request),
        path_id(request, "id"),
        request.app[SETTINGS].effective_recording_dir,
    )
    return reply(Recording, out)


@api.route(
    "GET",
    "/api/v1/hearings/{id}/recordings",
    "A hearing's recordings, oldest first",
    response=RecordingList,
)
async def list_recordings(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        items = await recordings.list_for_hearing(
            session, actor_of(request), path_id(request, "id")
        )
    return reply(RecordingList, {"items": items})


@api.route("GET", "/api/v1/recordings/{id}", "One recording: sites, chapters", response=Recording)
async def get_recording(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        row = await recordings.visible(session, actor_of(request), path_id(request, "id"))
        out = await recordings.view(session, row)
    return reply(Recording, out)


async def recording_file(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/recordings/{id}/files/{name}: a file of a recording, with byte ranges (what
    a <video> element seeks with). A read from its first byte is a playback (or download) and
    is audited; the ranges a player asks for next are not (one row per playback, not per
    seek). Not in the OpenAPI registry: the answer is the file, not JSON."""
    actor = actor_of(request)
    name = request.match_info["name"]
    async with request.app[DATABASE].transaction() as session:
        row = await recordings.visible(session, actor, path_id(request, "id"))
        path = recordings.file_of(row, request.app[SETTINGS].effective_recording_dir, name)
        ranges = request.http_range
        if ranges.start in (None, 0):
            await recordings.audit(session, actor, row, f"play {name}")
    kind = "video/webm" if name.endswith(".webm") else "video/x-matroska"
    return web.FileResponse(path, headers={"Content-Type": kind, "Cache-Control": "private"})


def add_recording_file_route(app: web.Application) -> None:
    """The file route (see recording_file)."""
    app.router.add_get(r"/api/v1/recordings/{id}/files/{name:[A-Za-z0-9._-]+}", recording_file)

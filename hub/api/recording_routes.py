"""Recordings of live hearings: start and stop (the host side), list, one recording (its files
are served, and each playback audited, by hub/pages/recordings.py)."""

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

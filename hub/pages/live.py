"""The pages that carry a live hearing's audio and video: the plain join page
(static/js/join.js), the bridge-point kiosk (static/js/kiosk.js) and the site's self-test
(static/js/self-test.js)."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, SETTINGS, actor_of
from hub.domain.users import Action, Role
from hub.pages.guard import error_page, page, to_login
from hub.pages.render import render, signed_in
from hub.services import hearings
from hub.services.ice_servers import client_ice_servers, client_identity
from hub.storage.tables import OfficeRow

routes = web.RouteTableDef()

KIOSK_ROLES = (Role.STAFF, Role.LEADER, Role.ADMIN)


@routes.get("/hearings/{id}/join")
async def join_page(request: web.Request) -> web.Response:
    """The plain hearing page: local video, one tile per remote site, and one per invited site
    not connected."""
    if not await signed_in(request):
        raise to_login(request)
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        row = await hearings.get(session, actor, path_id(request, "id"))
        invited = await hearings.invited_offices(session, row)
        host = await session.get(OfficeRow, row.host_office_id)
    return render(
        request,
        "join.html",
        # Leaders and staff of the host side start and stop recordings (hub.services.recordings).
        can_record=actor.can(Action.RUN_HEARINGS) and host is not None and actor.sees(host.path),
        hearing_id=row.id,
        hearing_title=row.title,
        office_name=actor.office_name,
        user_display_name=actor.display_name,
        ice_servers=client_ice_servers(
            request.app[SETTINGS], client_identity(actor.user_id, actor.office_id)
        ),
        # The other offices the hearing expects: a tile each while not connected.
        page_data={"sites": [o for o in invited if o["office_id"] != actor.office_id]},
    )


@routes.get("/site")
@page(Action.READ_HEARINGS)
async def site_kiosk(request: web.Request) -> web.StreamResponse:
    """The bridge-point PC's screen (static/js/kiosk.js): waits for its office's next hearing,
    joins it by itself when it goes live, full screen, and waits again after it ends."""
    actor = actor_of(request)
    if actor.role not in KIOSK_ROLES:
        return await error_page(request, 403)
    return render(
        request,
        "kiosk.html",
        office_id=actor.office_id,
        office_name=actor.office_name,
        user_display_name=actor.display_name,
        ice_servers=client_ice_servers(
            request.app[SETTINGS], client_identity(actor.user_id, actor.office_id)
        ),
        page_data={"office_id": actor.office_id},
    )


@routes.get("/self-test")
@page(Action.RUN_HEARINGS)
async def self_test_page(request: web.Request) -> web.StreamResponse:
    """A site's test call before a hearing (static/js/self-test.js): camera, microphone with a
    level meter, speaker, then media looped through the hub; the result is scored and kept
    (POST /api/v1/self-tests). For those who sit at a site: staff, leaders, admins."""
    actor = actor_of(request)
    return render(
        request,
        "self_test.html",
        office_name=actor.office_name,
        ice_servers=client_ice_servers(
            request.app[SETTINGS], client_identity(actor.user_id, actor.office_id)
        ),
    )

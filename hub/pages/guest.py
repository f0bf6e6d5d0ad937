"""A guest's pages: the live hearing opened by a personal link (static/js/join.js in its guest
mode), the page a link that no longer opens anything shows, and the printable invitation card
the host side's staff hand out (static/js/guest-card.js)."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id
from hub.api.guest_gate import GUEST_COOKIE, end_guest_session
from hub.api.keys import DATABASE, SETTINGS, actor_of
from hub.api.security import cookie_secure
from hub.domain.guests import guest_seat
from hub.domain.users import Action
from hub.pages.guard import page
from hub.pages.render import render
from hub.services import guests, hearings
from hub.services.ice_servers import client_ice_servers, client_identity

routes = web.RouteTableDef()

# The page's answer to a link that opens nothing: gone for good (expired, revoked), or never
# known here (mistyped, replaced, removed: the same answer as for any unknown page).
REFUSED_STATUS = {"expired": 410, "revoked": 410, "invalid": 404}


@routes.get("/guest/{token}")
async def guest_page(request: web.Request) -> web.StreamResponse:
    """The live hearing for the guest whose link this is: it waits to be admitted, then sees
    and hears the sites; nothing else of the hub opens for it (hub.api.guest_gate)."""
    token = request.match_info["token"]
    try:
        async with request.app[DATABASE].transaction() as session:
            guest, hearing = await guests.resolve(session, token)
    except guests.LinkRefused as exc:
        status = REFUSED_STATUS.get(exc.reason, 404)
        response = render(request, "guest_expired.html", status=status, reason=exc.reason)
        end_guest_session(response)
        return response
    response = render(
        request,
        "join.html",
        guest=True,
        guest_token=token,
        start_page=request.path,
        hearing_id=hearing.id,
        hearing_title=hearing.title,
        office_name=guest.agency,
        user_display_name=guest.name,
        ice_servers=client_ice_servers(
            request.app[SETTINGS], client_identity(None, guest_seat(guest.id))
        ),
        page_data={"sites": [], "guest": True},
    )
    # The guest session: from now on this browser opens no record (hub.api.guest_gate). A
    # browser session's cookie, gone with the browser; the link itself expires with the hearing.
    response.set_cookie(
        GUEST_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request),
        path="/",
    )
    return response


@routes.get("/staff/hearings/{id}/guests/{guest_id}/card")
@page(Action.EDIT_HEARINGS)
async def guest_card(request: web.Request) -> web.StreamResponse:
    """The guest's invitation card, fit to print: name, agency, hearing, and (once staff issue
    it here) the personal link and its QR code. The hub keeps no link it could show again:
    each card issues a new one, and the one before stops working."""
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        guest, hearing = await guests.get(
            session, actor, path_id(request, "id"), path_id(request, "guest_id")
        )
        view = await hearings.view(session, hearing, with_petitions=False)
        state = str(guests.state_of(guest, hearing))
    return render(
        request,
        "guest_card.html",
        guest=guest,
        hearing=view,
        link_state=state,
        page_data={"hearing_id": hearing.id, "guest_id": guest.id, "link_state": state},
    )

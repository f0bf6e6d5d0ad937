"""A hearing's guests: invite by name and agency, issue a personal link (shown once, with its
QR code), revoke it, remove the guest."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import path_id, read_body
from hub.api.keys import DATABASE, NOTIFIER, actor_of
from hub.api.registry import api
from hub.api.responses import Guest, GuestLink, GuestList, Ok, reply
from hub.api.schemas import GuestBody
from hub.api.security import is_https
from hub.domain.guests import GuestDraft
from hub.services import guest_cards, guests


def origin_of(request: web.Request) -> str:
    """The hub's origin as the browser reached it (behind a trusted proxy: as it was asked)."""
    return f"{'https' if is_https(request) else 'http'}://{request.host}"


@api.route("GET", "/api/v1/hearings/{id}/guests", "The hearing's guests", response=GuestList)
async def list_guests(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        rows, hearing = await guests.list_(session, actor_of(request), path_id(request, "id"))
        items = [guests.view(row, hearing) for row in rows]
    return reply(GuestList, {"items": items, "total": len(items)})


@api.route(
    "POST",
    "/api/v1/hearings/{id}/guests",
    "Invite a guest by name and agency (no link yet: POST .../link issues one)",
    body=GuestBody,
    response=Guest,
    status=201,
)
async def add_guest(request: web.Request) -> web.Response:
    body = await read_body(request, GuestBody)
    draft = GuestDraft(
        name=body.name, agency=body.agency, agency_kind=body.agency_kind, position=body.position
    )
    async with request.app[DATABASE].transaction() as session:
        row, hearing = await guests.add(session, actor_of(request), path_id(request, "id"), draft)
        out = guests.view(row, hearing)
    return reply(Guest, out, 201)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/guests/{guest_id}/link",
    "A new personal link for the guest (shown this once); the earlier one stops working",
    response=GuestLink,
    status=201,
)
async def issue_link(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        link, hearing = await guests.issue_link(
            session, actor_of(request), path_id(request, "id"), path_id(request, "guest_id")
        )
        guest = guests.view(link.guest, hearing)
    # After the commit: a guest still connected with the replaced link leaves now.
    await request.app[NOTIFIER].grounds_changed()
    url = guest_cards.join_url(origin_of(request), link.token)
    out = {
        "guest": guest,
        "token": link.token,
        "url": url,
        "qr_svg": await guest_cards.qr_svg_uri_off_loop(url),
    }
    return reply(GuestLink, out, 201)


@api.route(
    "POST",
    "/api/v1/hearings/{id}/guests/{guest_id}/revoke",
    "Revoke the guest's link (a connected guest leaves the hearing)",
    response=Guest,
)
async def revoke_guest(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        row, hearing = await guests.revoke(
            session, actor_of(request), path_id(request, "id"), path_id(request, "guest_id")
        )
        out = guests.view(row, hearing)
    await request.app[NOTIFIER].grounds_changed()
    return reply(Guest, out)


@api.route(
    "DELETE",
    "/api/v1/hearings/{id}/guests/{guest_id}",
    "Remove a guest from the hearing (its link dies with it)",
    response=Ok,
)
async def remove_guest(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        await guests.remove(
            session, actor_of(request), path_id(request, "id"), path_id(request, "guest_id")
        )
    await request.app[NOTIFIER].grounds_changed()
    return reply(Ok, {"ok": True})

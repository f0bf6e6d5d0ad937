"""A guest's browser sees no record: while it carries a guest session (the cookie the guest
page sets, or a guest link's token presented as a bearer token), every path but the guest's
own page, what that page loads (static files, the socket) and what anyone may read without
signing in answers 404, pages and API alike.

The gate looks at the credential's kind only, not at whether the link behind it still holds:
a stale or forged guest cookie gets the same 404s, and the request never reaches a sign-in, a
query or a handler. A guest session wins over a sign-in in the same browser (a staff session
left open on a shared PC shows nothing to the guest using it); signing in anew ends the guest
session.
"""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import Handler
from hub.domain.guests import GUEST_TOKEN_PREFIX

GUEST_COOKIE = "tcd_guest"
# What a guest's page needs: itself, its files, its socket, the language switch.
GUEST_PREFIXES = ("/guest/", "/static/", "/socket.io/", "/lang/")
# What anyone may open without signing in (no record in them): signing in ends the guest
# session; the public schedule is posted for everyone.
OPEN_PATHS = frozenset({"/login", "/api/v1/auth/login", "/schedule", "/schedule.ics", "/healthz"})


def guest_may_open(path: str) -> bool:
    """Whether a guest session may open this path."""
    return path in OPEN_PATHS or path.startswith(GUEST_PREFIXES)


def is_guest_session(request: web.Request) -> bool:
    """Whether the request comes with a guest's credential (valid or not)."""
    bearer = request.headers.get("Authorization", "")
    return GUEST_COOKIE in request.cookies or bearer.startswith(f"Bearer {GUEST_TOKEN_PREFIX}")


@web.middleware
async def guest_gate_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """404 for a guest session's request to anything it may not open (before any sign-in)."""
    if is_guest_session(request) and not guest_may_open(request.path):
        # The same answer as for a record that does not exist: nothing about it leaks.
        raise web.HTTPNotFound()
    return await handler(request)


def end_guest_session(response: web.StreamResponse) -> None:
    """Remove the guest cookie (a sign-in, or a link that no longer opens anything)."""
    response.del_cookie(GUEST_COOKIE, path="/")

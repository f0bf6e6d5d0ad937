"""Who may open a page and what they see when they may not: the sign-in redirect, the role
guard, and HTML error pages (403, 404, 405) for page paths, in the reader's language."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from hub.api.keys import actor_of
from hub.domain.errors import DomainError
from hub.domain.users import Action
from hub.pages.render import render, signed_in

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ERROR_STATUSES = {403, 404, 405}
# Paths whose errors stay as they are (JSON for the API, plain for files and sockets).
NON_PAGE_PREFIXES = ("/api/", "/static/", "/socket.io", "/healthz")


def to_login(request: web.Request) -> web.HTTPFound:
    """A redirect to the sign-in page that comes back here afterwards."""
    return web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/')}")


async def error_page(request: web.Request, status: int) -> web.Response:
    """The HTML page for 403, 404 or 405, in the reader's language, with the navigation."""
    await signed_in(request)
    code = status if status in ERROR_STATUSES else 404
    return render(request, "error.html", status=code, code=code)


def page(action: Action | None = None) -> Callable[[Handler], Handler]:
    """Guard a page: sign-in (else the login redirect), the role's permission (else 403), and
    record errors turned into HTML (404 for missing or out-of-scope records)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not await signed_in(request):
                raise to_login(request)
            if action is not None and not actor_of(request).can(action):
                return await error_page(request, 403)
            try:
                return await handler(request)
            except DomainError as exc:
                if exc.status in (403, 404):
                    return await error_page(request, exc.status)
                raise

        return guarded

    return wrap


@web.middleware
async def html_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTML error pages for unknown page paths; the API, static files and sockets keep theirs.

    Wire it first in create_app's middlewares, so it sees the router's 404 and 405.
    """
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status in ERROR_STATUSES and not request.path.startswith(NON_PAGE_PREFIXES):
            return await error_page(request, exc.status)
        raise


# My namespaces: unknown paths under them are HTML 404s. Registered after every other page.
fallback_routes = web.RouteTableDef()


@fallback_routes.get("/staff/{tail:.*}")
@fallback_routes.get("/leader/{tail:.*}")
@fallback_routes.get("/operator/{tail:.*}")
async def unknown_page(request: web.Request) -> web.Response:
    """No such page (the router's own 404 elsewhere is plain text until html_errors_middleware
    is wired)."""
    return await error_page(request, 404)

"""Sign-in and sign-out; the session cookie and the CSRF token for browsers."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import authenticate, read_body
from hub.api.guest_gate import GUEST_COOKIE, end_guest_session
from hub.api.keys import (
    CSRF,
    CSRF_COOKIE,
    DATABASE,
    LOGIN_LIMITER,
    NOTIFIER,
    PASSWORDS,
    SESSION_COOKIE,
    SETTINGS,
    TOKEN,
    actor_of,
)
from hub.api.registry import api
from hub.api.responses import Ok, SignIn, WhoAmI, reply
from hub.api.schemas import LoginBody
from hub.api.security import client_address, cookie_secure
from hub.services import auth
from hub.services.access import actor_view


@api.route(
    "POST",
    "/api/v1/auth/login",
    "Sign in; returns a bearer token",
    body=LoginBody,
    response=SignIn,
    public=True,
)
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginBody)
    settings = request.app[SETTINGS]
    signin = await auth.sign_in(
        request.app[DATABASE],
        request.app[LOGIN_LIMITER],
        request.app[PASSWORDS],
        body.username,
        body.password,
        client_address(request),
        settings.session_ttl_seconds,
    )
    response = reply(
        SignIn,
        {
            "token": signin.token,
            "csrf_token": signin.csrf_token,
            "expires_at": signin.expires_at.isoformat(),
            "user": actor_view(signin.actor),
        },
    )
    max_age = settings.session_ttl_seconds
    if GUEST_COOKIE in request.cookies:
        end_guest_session(response)  # a sign-in ends the browser's guest session
    response.set_cookie(
        SESSION_COOKIE,
        signin.token,
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request),
        path="/",
    )
    # Readable by our scripts (not HttpOnly) so they can echo it in the CSRF header.
    response.set_cookie(
        CSRF_COOKIE,
        signin.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="Strict",
        secure=cookie_secure(request),
        path="/",
    )
    return response


@api.route("POST", "/api/v1/auth/logout", "Sign out (ends the session)", response=Ok)
async def logout(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        await auth.logout(session, request[TOKEN])
    # After the commit: its sockets, and those of the join tokens it issued, go now.
    await request.app[NOTIFIER].grounds_changed()
    response = reply(Ok, {"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    response.del_cookie(CSRF_COOKIE, path="/")
    return response


@api.route("GET", "/api/v1/auth/me", "The signed-in user and the CSRF token", response=WhoAmI)
async def me(request: web.Request) -> web.Response:
    return reply(WhoAmI, {"user": actor_view(actor_of(request)), "csrf_token": request[CSRF]})


__all__ = ["authenticate", "login", "logout", "me"]

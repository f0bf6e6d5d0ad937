"""Pages without sign-in: health, the sign-in form, "/", the language switch and the public
schedule (niêm yết công khai) with its iCalendar feed."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from hub.api.keys import DATABASE, actor_of
from hub.api.security import cookie_secure, safe_next
from hub.clock import now_local
from hub.i18n import LANG_COOKIE, LANGUAGES
from hub.pages.guard import error_page
from hub.pages.render import START_PAGES, render, signed_in
from hub.services import schedule

routes = web.RouteTableDef()

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, no sign-in."""
    async with request.app[DATABASE].transaction() as session:
        await session.execute(text("SELECT 1"))
    return web.json_response({"status": "ok"})


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    """The sign-in form (scripted by static/js/login.js)."""
    next_url = safe_next(request.query.get("next"))
    return render(request, "login.html", next_url=next_url)


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """Start page: the schedule for visitors, a role's start page once signed in."""
    if not await signed_in(request):
        raise web.HTTPFound("/schedule")
    raise web.HTTPFound(START_PAGES[actor_of(request).role])


@routes.get("/lang/{code}")
async def set_language(request: web.Request) -> web.Response:
    """Switch the pages' language (a cookie) and go back where the reader was."""
    code = request.match_info["code"]
    if code not in LANGUAGES:
        return await error_page(request, 404)
    response = web.HTTPFound(safe_next(request.query.get("next")))
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=LANG_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=cookie_secure(request),
        path="/",
    )
    raise response


@routes.get("/schedule")
async def schedule_page(request: web.Request) -> web.Response:
    """The public schedule, fit for posting (niêm yết công khai)."""
    await signed_in(request)  # only for the header; the page is public
    async with request.app[DATABASE].transaction() as session:
        items = await schedule.upcoming(session)
    return render(
        request,
        "schedule.html",
        items=items,
        kind_vi=schedule.KIND_VI,
        status_vi=schedule.STATUS_VI,
        generated_at=now_local(),
    )


@routes.get("/schedule.ics")
async def schedule_ics(request: web.Request) -> web.Response:
    """The public schedule as an iCalendar feed."""
    async with request.app[DATABASE].transaction() as session:
        items = await schedule.upcoming(session)
    body = schedule.to_ical(items, request.host.split(":")[0] or "tcd-hub")
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": 'inline; filename="lich-tiep-cong-dan.ics"'},
    )

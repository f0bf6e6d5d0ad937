"""HTML pages: sign-in, the public schedule (and its iCalendar feed), the hearing join page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from hub import schedule
from hub.api.edge import authenticate, path_id
from hub.api.keys import DATABASE, SETTINGS, actor_of
from hub.clock import now_local
from hub.domain.errors import DomainError
from hub.services import hearings

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
TEMPLATES = web.AppKey("templates", jinja2.Environment)

routes = web.RouteTableDef()


def make_templates() -> jinja2.Environment:
    """The Jinja2 environment over web/templates, autoescaping HTML."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        enable_async=False,
    )
    env.filters["vn_date"] = lambda d: d.strftime("%d/%m/%Y")
    env.filters["vn_time"] = lambda d: d.strftime("%H:%M")
    return env


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template as an HTML response."""
    html = request.app[TEMPLATES].get_template(name).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def signed_in(request: web.Request) -> bool:
    """Try the session cookie; True when it names a live session."""
    try:
        await authenticate(request)
    except DomainError:
        return False
    return True


def to_login(request: web.Request) -> web.HTTPFound:
    """A redirect to the sign-in page that comes back here afterwards."""
    return web.HTTPFound(f"/login?next={request.path_qs}")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, no sign-in."""
    from sqlalchemy import text

    async with request.app[DATABASE].transaction() as session:
        await session.execute(text("SELECT 1"))
    return web.json_response({"status": "ok"})


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    """The sign-in form (scripted by static/js/login.js)."""
    next_url = request.query.get("next", "/")
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = "/"  # only local redirects: no open redirect through ?next=
    return render(request, "login.html", next_url=next_url)


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """Start page: the schedule for visitors, a role's start page once signed in."""
    if not await signed_in(request):
        raise web.HTTPFound("/schedule")
    raise web.HTTPFound("/schedule")


@routes.get("/schedule")
async def schedule_page(request: web.Request) -> web.Response:
    """The public schedule, fit for posting (niêm yết công khai)."""
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


@routes.get("/hearings/{id}/join")
async def join_page(request: web.Request) -> web.Response:
    """The plain hearing page: local video and one tile per remote site."""
    if not await signed_in(request):
        raise to_login(request)
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        row = await hearings.get(session, actor, path_id(request, "id"))
    return render(
        request,
        "join.html",
        hearing_id=row.id,
        hearing_title=row.title,
        office_name=actor.office_name,
        user_display_name=actor.display_name,
        ice_servers=request.app[SETTINGS].client_ice_servers(),
    )

"""HTML pages: sign-in, each role's start page, the staff console, the operator board, the public
schedule (and its iCalendar feed) and the hearing join page; Vietnamese first, English on a switch.

Pages are jinja2 shells; the staff console's scripts (web/static/js/) call the JSON API for the
data they list and for every change. Detail pages render their record on the server, so a
missing or out-of-scope record is an HTML 404 like any unknown page.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from hub import schedule
from hub.api.edge import authenticate, path_id
from hub.api.keys import ACTOR, CSRF, DATABASE, SETTINGS, actor_of
from hub.clock import LOCAL_TZ, now_local
from hub.domain.errors import DomainError
from hub.domain.users import Action, Role
from hub.i18n import LANG_COOKIE, LANGUAGES, Translator, catalogue, pick_language
from hub.services import hearings, offices, petitions
from hub.services.access import Actor

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
TEMPLATES = web.AppKey("templates", jinja2.Environment)

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
# Where each role lands after signing in (and when it opens "/").
START_PAGES = {
    Role.LEADER: "/leader",
    Role.STAFF: "/staff",
    Role.OPERATOR: "/operator",
    Role.ADMIN: "/staff",
}
# Paths whose errors stay as they are (JSON for the API, plain for files and sockets).
NON_PAGE_PREFIXES = ("/api/", "/static/", "/socket.io", "/healthz")


@dataclass(frozen=True)
class NavItem:
    """One header link: shown when the role allows `action` (None: everyone)."""

    href: str
    label: str
    action: Action | None
    # Paths under which this link is the current section.
    prefixes: tuple[str, ...]


NAV = (
    NavItem("/leader", "nav.today", Action.RUN_HEARINGS, ("/leader",)),
    NavItem(
        "/staff/calendar", "nav.calendar", Action.READ_HEARINGS, ("/staff/calendar", "/staff/hear")
    ),
    NavItem("/staff/petitions", "nav.petitions", Action.READ_PETITIONS, ("/staff/petitions",)),
    NavItem("/operator", "nav.operator", Action.MONITOR, ("/operator",)),
    NavItem("/schedule", "nav.schedule", None, ("/schedule",)),
)


# --- formatting ------------------------------------------------------------------------------


def _local(value: datetime | date | str | None) -> datetime | date | None:
    """A datetime in Vietnam's time (dates pass through); ISO strings are parsed."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(LOCAL_TZ)
    return value


def vn_date(value: datetime | date | str | None) -> str:
    """dd/mm/yyyy in Asia/Ho_Chi_Minh; a dash for nothing."""
    local = _local(value)
    return local.strftime("%d/%m/%Y") if local is not None else "—"


def vn_time(value: datetime | str | None) -> str:
    """hh:mm (24-hour) in Asia/Ho_Chi_Minh; a dash for nothing."""
    local = _local(value)
    return local.strftime("%H:%M") if isinstance(local, datetime) else "—"


def vn_datetime(value: datetime | str | None) -> str:
    """hh:mm dd/mm/yyyy in Asia/Ho_Chi_Minh; a dash for nothing."""
    local = _local(value)
    return local.strftime("%H:%M %d/%m/%Y") if isinstance(local, datetime) else "—"


def make_templates() -> jinja2.Environment:
    """The Jinja2 environment over web/templates, autoescaping HTML."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        enable_async=False,
    )
    env.filters["vn_date"] = vn_date
    env.filters["vn_time"] = vn_time
    env.filters["vn_datetime"] = vn_datetime
    # The message catalogue goes into every page as JSON: keep Vietnamese letters as they are.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters["weekday"] = lambda day: date.fromisoformat(str(day)[:10]).weekday()
    return env


# --- the frame every page shares -----------------------------------------------------------


def language_of(request: web.Request) -> str:
    """The reader's language: the `lang` cookie, Vietnamese by default."""
    return pick_language(request.cookies.get(LANG_COOKIE))


def _current_actor(request: web.Request) -> Actor | None:
    actor = request.get(ACTOR)
    return actor if isinstance(actor, Actor) else None


def nav_for(actor: Actor | None, path: str) -> list[dict[str, Any]]:
    """The header links a signed-in role may follow, the current section marked."""
    if actor is None:
        return []
    return [
        {
            "href": item.href,
            "label": item.label,
            "current": any(path.startswith(p) for p in item.prefixes),
        }
        for item in NAV
        if item.action is None or actor.can(item.action)
    ]


def _me(actor: Actor) -> dict[str, Any]:
    return {
        "id": actor.user_id,
        "username": actor.username,
        "display_name": actor.display_name,
        "role": str(actor.role),
        "office_id": actor.office_id,
        "office_name": actor.office_name,
        "can": {str(action): actor.can(action) for action in Action},
    }


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template as an HTML response, with the language, the user and the navigation."""
    lang = language_of(request)
    actor = _current_actor(request)
    page_data: dict[str, Any] = {
        "lang": lang,
        "today": now_local().date().isoformat(),
        "me": _me(actor) if actor else None,
        "csrf": request.get(CSRF),
    }
    page_data.update(context.pop("page_data", {}))
    frame: dict[str, Any] = {
        "lang": lang,
        "languages": LANGUAGES,
        "t": Translator(lang),
        "me": actor,
        "start_page": START_PAGES[actor.role] if actor else "/",
        "nav": nav_for(actor, request.path),
        "path_qs": request.path_qs,
        "messages": catalogue(lang),
        "page_data": page_data,
    }
    frame.update(context)
    html = request.app[TEMPLATES].get_template(name).render(**frame)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def signed_in(request: web.Request) -> bool:
    """Try the session cookie; True when it names a live session."""
    if _current_actor(request) is not None:
        return True
    try:
        await authenticate(request)
    except DomainError:
        return False
    return True


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go on to; anything else (another site, '//host') becomes the default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def to_login(request: web.Request) -> web.HTTPFound:
    """A redirect to the sign-in page that comes back here afterwards."""
    return web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/')}")


ERROR_STATUSES = {403, 404, 405}


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


# --- public pages ------------------------------------------------------------------------------


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
    # Only local redirects: no open redirect through ?next=.
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
        secure=request.app[SETTINGS].secure_cookies,
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


# --- the staff console ---------------------------------------------------------------------


@routes.get("/staff")
@page(Action.READ_HEARINGS)
async def staff_home(request: web.Request) -> web.StreamResponse:
    """The staff console opens on the calendar."""
    raise web.HTTPFound("/staff/calendar")


@routes.get("/staff/calendar")
@page(Action.READ_HEARINGS)
async def calendar_page(request: web.Request) -> web.StreamResponse:
    """Month and week views of the hearings in scope (static/js/calendar.js fills them)."""
    return render(request, "calendar.html")


@routes.get("/staff/hearings/new")
@page(Action.EDIT_HEARINGS)
async def new_hearing_page(request: web.Request) -> web.StreamResponse:
    """The form that schedules a hearing or a periodic series (static/js/hearing-form.js)."""
    return render(request, "hearing_new.html")


@routes.get("/staff/hearings/{id}")
@page(Action.READ_HEARINGS)
async def hearing_page(request: web.Request) -> web.StreamResponse:
    """One hearing: details, sites, petitions, session log, minutes and its controls."""
    actor = actor_of(request)
    hearing_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        row = await hearings.get(session, actor, hearing_id)
        view = await hearings.view(session, row, with_petitions=True)
        log = await hearings.log(session, actor, hearing_id)
        host = await offices.get_office(session, row.host_office_id)
    t = Translator(language_of(request))
    hosted = actor.sees(host.path)
    status = view["status"]
    open_ = status not in ("ended", "cancelled")
    can = {
        "run": hosted and actor.can(Action.RUN_HEARINGS),
        "edit": hosted and actor.can(Action.EDIT_HEARINGS) and status != "cancelled",
        "link": actor.can(Action.LINK_PETITIONS)
        and actor.can(Action.READ_PETITIONS)
        and status != "cancelled",
        "note": actor.can(Action.WRITE_LOG_NOTES),
        "join": actor.can(Action.RUN_HEARINGS) and open_,
        "read_petitions": actor.can(Action.READ_PETITIONS),
    }
    events = [
        {**event, "label": t.label("log", event["kind"]), "text": log_detail(t, event)}
        for event in log
    ]
    return render(
        request,
        "hearing.html",
        hearing=view,
        events=events,
        hosted=hosted,
        weekday=datetime.fromisoformat(view["starts_at"]).weekday(),
        can=can,
        created=request.query.get("created", ""),
        page_data={"hearing_id": view["id"], "status": status, "published": view["published"]},
    )


def log_detail(t: Translator, event: dict[str, Any]) -> str:
    """One line saying what a session log event carried, in the reader's language."""
    detail: dict[str, Any] = event.get("detail") or {}
    kind = event["kind"]
    if kind == "note":
        return str(detail.get("text", ""))
    if kind == "petition_heard":
        return t(
            "logd.heard",
            code=detail.get("case_code", ""),
            start=vn_time(detail.get("heard_from")),
            end=vn_time(detail.get("heard_to")),
        )
    if "case_code" in detail:
        return str(detail["case_code"])
    if detail.get("reason"):
        return t("logd.reason", reason=detail["reason"])
    if kind == "scheduled" and detail.get("starts_at"):
        return t("logd.starts", time=vn_datetime(detail["starts_at"]))
    if detail.get("fields") and kind != "minutes":
        names = [t.label("field", str(f)) for f in detail["fields"]]
        return t("logd.fields", fields=", ".join(names))
    site = detail.get("office_name") or detail.get("site")
    if site:
        return t("logd.site", site=site)
    return ""


@routes.get("/staff/petitions")
@page(Action.READ_PETITIONS)
async def petitions_page(request: web.Request) -> web.StreamResponse:
    """The register: search, filters and a paged table (static/js/petitions.js)."""
    return render(request, "petitions.html")


@routes.get("/staff/petitions/new")
@page(Action.EDIT_PETITIONS)
async def new_petition_page(request: web.Request) -> web.StreamResponse:
    """The form that registers a received petition (static/js/petition-form.js)."""
    return render(request, "petition_new.html")


@routes.get("/staff/petitions/{id}")
@page(Action.READ_PETITIONS)
async def petition_page(request: web.Request) -> web.StreamResponse:
    """One petition: every field, its workflow, its history and the hearings that heard it.

    Reading it here is the audited read of its personal data (one per page view).
    """
    actor = actor_of(request)
    async with request.app[DATABASE].transaction() as session:
        petition = await petitions.get(session, actor, path_id(request, "id"))
    return render(
        request,
        "petition.html",
        p=petition,
        can_edit=actor.can(Action.EDIT_PETITIONS),
        page_data={"petition_id": petition["id"], "status": petition["status"]},
    )


# --- the leader's start page -------------------------------------------------------------------


@routes.get("/leader")
@page(Action.RUN_HEARINGS)
async def leader_page(request: web.Request) -> web.StreamResponse:
    """Today's hearings and the next seven days', with join and start/end for hosted ones."""
    actor = actor_of(request)
    today = now_local().date()
    start = datetime.combine(today, time(0), LOCAL_TZ)
    async with request.app[DATABASE].transaction() as session:
        ranged, _ = await hearings.list_(
            session, actor, starts_from=start, starts_to=start + timedelta(days=8), limit=200
        )
        live, _ = await hearings.list_(session, actor, status="live", limit=50)
        rows = {r.id: r for r in [*live, *ranged]}
        views = [await hearings.view(session, r, with_petitions=False) for r in rows.values()]
    views.sort(key=lambda v: (v["starts_at"], v["id"]))
    today_items: list[dict[str, Any]] = []
    upcoming: dict[str, list[dict[str, Any]]] = {}
    for view in views:
        # Start and end are offered for the leader's own office's hearings, although the API
        # also lets an office above the host run them.
        view["hosted"] = view["host_office_id"] == actor.office_id
        day = view["starts_at"][:10]
        if view["status"] == "live" or day <= today.isoformat():
            today_items.append(view)
        else:
            upcoming.setdefault(day, []).append(view)
    return render(
        request,
        "leader.html",
        today=today,
        today_items=today_items,
        upcoming=sorted(upcoming.items()),
        can_run=actor.can(Action.RUN_HEARINGS),
    )


# --- the site kiosk -----------------------------------------------------------------------------

KIOSK_ROLES = (Role.STAFF, Role.LEADER, Role.ADMIN)


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
        ice_servers=request.app[SETTINGS].client_ice_servers(),
        page_data={"office_id": actor.office_id},
    )


# --- the operator board ------------------------------------------------------------------------


@routes.get("/operator")
@page(Action.MONITOR)
async def operator_page(request: web.Request) -> web.StreamResponse:
    """Every bridge point, online or not and in which hearing (static/js/operator.js)."""
    signaling = any(
        resource.canonical.startswith("/socket.io") for resource in request.app.router.resources()
    )
    return render(request, "operator.html", page_data={"signaling": signaling})


# --- my namespaces: unknown paths under them are HTML 404s --------------------------------


@routes.get("/staff/{tail:.*}")
@routes.get("/leader/{tail:.*}")
@routes.get("/operator/{tail:.*}")
async def unknown_page(request: web.Request) -> web.Response:
    """No such page (the router's own 404 elsewhere is plain text until html_errors_middleware
    is wired)."""
    return await error_page(request, 404)

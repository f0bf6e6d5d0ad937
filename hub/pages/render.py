"""The frame every page shares: the Jinja2 environment over web/templates, Vietnam-time date
filters, the header's navigation, and render() with the language, the user and the page data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from hub.api.edge import authenticate
from hub.api.keys import ACTOR, CSRF
from hub.clock import LOCAL_TZ, now_local
from hub.domain.errors import DomainError
from hub.domain.users import Action, Role
from hub.i18n import LANG_COOKIE, LANGUAGES, Translator, catalogue, pick_language
from hub.services.access import Actor, actor_view

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
TEMPLATES = web.AppKey("templates", jinja2.Environment)

# Where each role lands after signing in (and when it opens "/").
START_PAGES = {
    Role.LEADER: "/leader",
    Role.STAFF: "/staff",
    Role.OPERATOR: "/operator",
    Role.ADMIN: "/staff",
}


@dataclass(frozen=True)
class NavItem:
    """One header link: shown when the role allows `action` (None: everyone)."""

    href: str
    label: str
    action: Action | None
    # Paths under which this link is the current section (none: only its own path).
    prefixes: tuple[str, ...]


NAV = (
    NavItem("/leader", "nav.today", Action.RUN_HEARINGS, ("/leader",)),
    # The staff start page (deadlines): its path is a prefix of every other staff page.
    NavItem("/staff", "nav.todo", Action.READ_PETITIONS, ()),
    NavItem(
        "/staff/calendar", "nav.calendar", Action.READ_HEARINGS, ("/staff/calendar", "/staff/hear")
    ),
    NavItem("/staff/petitions", "nav.petitions", Action.READ_PETITIONS, ("/staff/petitions",)),
    NavItem(
        "/staff/delegations", "nav.delegations", Action.READ_PETITIONS, ("/staff/delegations",)
    ),
    NavItem("/reports", "nav.reports", Action.READ_PETITIONS, ("/reports",)),
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


def input_time(value: str | None) -> str:
    """An ISO time as a datetime-local input's value, in Vietnam's time ('2026-12-02T08:15')."""
    local = _local(value)
    return local.strftime("%Y-%m-%dT%H:%M") if isinstance(local, datetime) else ""


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
    env.filters["input_time"] = input_time
    # The message catalogue goes into every page as JSON: keep Vietnamese letters as they are.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters["weekday"] = lambda day: date.fromisoformat(str(day)[:10]).weekday()
    return env


# --- the frame every page shares -----------------------------------------------------------


def language_of(request: web.Request) -> str:
    """The reader's language: the `lang` cookie, Vietnamese by default."""
    return pick_language(request.cookies.get(LANG_COOKIE))


def current_actor(request: web.Request) -> Actor | None:
    """The signed-in Actor when the request has been authenticated, else None."""
    actor = request.get(ACTOR)
    return actor if isinstance(actor, Actor) else None


async def signed_in(request: web.Request) -> bool:
    """Try the session cookie; True when it names a live session."""
    if current_actor(request) is not None:
        return True
    try:
        await authenticate(request)
    except DomainError:
        return False
    return True


def nav_for(actor: Actor | None, path: str) -> list[dict[str, Any]]:
    """The header links a signed-in role may follow, the current section marked."""
    if actor is None:
        return []
    return [
        {
            "href": item.href,
            "label": item.label,
            "current": any(path.startswith(p) for p in item.prefixes)
            if item.prefixes
            else path == item.href,
        }
        for item in NAV
        if item.action is None or actor.can(item.action)
    ]


def _me(actor: Actor) -> dict[str, Any]:
    # What the page's scripts may offer: the same permissions the services check.
    return {**actor_view(actor), "can": {str(action): actor.can(action) for action in Action}}


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template as an HTML response, with the language, the user and the navigation."""
    lang = language_of(request)
    actor = current_actor(request)
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

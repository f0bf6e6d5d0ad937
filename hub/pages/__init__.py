"""HTML pages, split by audience: the shared frame (render), the guard and error pages,
public pages (schedule, sign-in, language), the staff console, the leader's start page, the
operator's board, the periodic reports, the crowd delegations' pages, the live pages (join,
kiosk) and a guest's pages. Vietnamese first, English on a switch."""

from __future__ import annotations

from aiohttp import web

from hub.pages import (
    delegations,
    guest,
    leader,
    live,
    operator,
    public,
    recordings,
    reports,
    staff,
)
from hub.pages.guard import fallback_routes, html_errors_middleware
from hub.pages.render import TEMPLATES, WEB_DIR, make_templates


def add_page_routes(app: web.Application) -> None:
    """Register every page; the namespaces' catch-all 404s come last so they match last."""
    for module in (public, staff, delegations, leader, operator, reports, live, guest, recordings):
        app.router.add_routes(module.routes)
    app.router.add_routes(fallback_routes)


__all__ = ["TEMPLATES", "WEB_DIR", "add_page_routes", "html_errors_middleware", "make_templates"]

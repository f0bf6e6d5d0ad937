"""The staff console: the hearings' calendar, the hearing form and page, the petition register,
the petition form and page. The scripts (web/static/js/) call the JSON API for the data they
list and for every change; detail pages render their record on the server, so a missing or
out-of-scope record is an HTML 404 like any unknown page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, actor_of
from hub.domain.users import Action
from hub.i18n import Translator
from hub.pages.guard import page
from hub.pages.render import language_of, render, vn_datetime, vn_time
from hub.services import hearings, offices, petitions, recordings

routes = web.RouteTableDef()


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
        # Its recordings, for who may play them (faces and voices: personal data).
        recorded = (
            await recordings.list_for_hearing(session, actor, hearing_id)
            if actor.can(Action.READ_PETITIONS)
            else []
        )
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
        recordings=recorded,
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
    if kind == "recording_stopped" and detail.get("sha256"):
        return f"SHA-256 {detail['sha256']}"
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

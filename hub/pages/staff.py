"""The staff console: the start page (deadlines), the hearings' calendar, the hearing form and
page, the petition register, the petition form and page. The scripts (web/static/js/) call the
JSON API for the data they list and for every change; detail pages render their record on the
server, so a missing or out-of-scope record is an HTML 404 like any unknown page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from hub.api.edge import path_id
from hub.api.keys import DATABASE, actor_of
from hub.domain.deadlines import Due
from hub.domain.guests import AgencyKind
from hub.domain.users import Action
from hub.i18n import Translator
from hub.pages.guard import page
from hub.pages.render import language_of, render, vn_datetime, vn_time
from hub.services import (
    deadline_alerts,
    deadlines,
    guests,
    hearings,
    minutes,
    offices,
    petitions,
    recordings,
    sessionlog,
)

routes = web.RouteTableDef()


@routes.get("/staff")
@page(Action.READ_HEARINGS)
async def staff_home(request: web.Request) -> web.StreamResponse:
    """The staff console's start page: deadline alerts, what is overdue and what is due this
    week in the user's scope (case codes, no personal data), and the way to the calendar."""
    actor = actor_of(request)
    if not actor.can(Action.READ_PETITIONS):
        # An operator's work is the calendar, not the register.
        raise web.HTTPFound("/staff/calendar")
    today = deadlines.today_local()
    async with request.app[DATABASE].transaction() as session:
        alerts = await deadline_alerts.alerts_for(session, actor, today=today)
        overdue = await deadlines.due_list(session, actor, Due.OVERDUE, today=today)
        week = await deadlines.due_list(session, actor, Due.WEEK, today=today)
        counts = await deadlines.due_counts(session, actor, today=today)
    return render(
        request,
        "staff_home.html",
        today=today,
        alerts=alerts,
        overdue=overdue,
        week=week,
        counts=counts,
    )


@routes.get("/staff/deadlines")
@page(Action.READ_PETITIONS)
async def deadlines_page(request: web.Request) -> web.StreamResponse:
    """The deadline rules as an office applies them (its overrides: admins edit them) and the
    holiday table of a year (central admins edit it); static/js/deadlines.js sends the edits."""
    actor = actor_of(request)
    today = deadlines.today_local()
    try:
        year = int(request.query.get("year", today.year))
        office_id = int(request.query.get("office", actor.office_id))
    except ValueError:
        raise web.HTTPFound("/staff/deadlines") from None
    year = min(max(year, 2000), 2100)
    async with request.app[DATABASE].transaction() as session:
        rules = await deadlines.office_rules(session, actor, office_id)
        days = await deadlines.list_days(session, year)
    return render(
        request,
        "deadlines.html",
        year=year,
        rules=rules,
        days=days,
        can_override=actor.can(Action.MANAGE_DEADLINES),
        can_keep_calendar=actor.can(Action.MANAGE_DEADLINES) and actor.office_path.count("/") <= 2,
        page_data={"office_id": rules["office_id"], "year": year},
    )


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
        # The log was just read in scope (hearings.log): its chain is checked the same way.
        integrity = await sessionlog.verify(session, hearing_id)
        host = await offices.get_office(session, row.host_office_id)
        guest_rows, _ = await guests.list_(session, actor, hearing_id)
        guest_views = [guests.view(g, row) for g in guest_rows]
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
        # Guests (the working group's people) are invited by the host side, while it is open.
        "guests": hosted and actor.can(Action.EDIT_HEARINGS) and open_,
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
        integrity=integrity,
        recordings=recorded,
        hosted=hosted,
        weekday=datetime.fromisoformat(view["starts_at"]).weekday(),
        can=can,
        guests=guest_views,
        agency_kinds=list(AgencyKind),
        created=request.query.get("created", ""),
        page_data={"hearing_id": view["id"], "status": status, "published": view["published"]},
    )


@routes.get("/staff/hearings/{id}/minutes")
@page(Action.READ_PETITIONS)
async def minutes_page(request: web.Request) -> web.StreamResponse:
    """A hearing's minutes (biên bản): the form staff edit (static/js/minutes.js saves it with
    its version), the leader's sign-off, the DOCX and PDF downloads; read-only once signed.
    Only the host side reads them (404 otherwise); the read is audited like the API's."""
    actor = actor_of(request)
    hearing_id = path_id(request, "id")
    async with request.app[DATABASE].transaction() as session:
        record = await minutes.read(session, actor, hearing_id)
        hearing = await hearings.view(
            session, await hearings.get(session, actor, hearing_id), with_petitions=False
        )
    signed = record["status"] == "signed"
    can = {
        "edit": actor.can(Action.EDIT_HEARINGS) and not signed and hearing["status"] != "cancelled",
        "sign": actor.can(Action.SIGN_MINUTES) and not signed and hearing["status"] == "ended",
    }
    return render(
        request,
        "minutes.html",
        hearing=hearing,
        record=record,
        content=record["content"],
        can=can,
        page_data={"hearing_id": hearing_id, "version": record["version"]},
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
    if kind == "minutes" and detail.get("signed"):
        return t("logd.minutes_signed", number=detail.get("number", ""))
    if kind == "minutes" and "version" in detail:
        return t("logd.minutes_version", version=detail["version"])
    if detail.get("guest_name"):
        # A guest is no office: the entry names the person and the agency.
        return t("logd.guest", name=detail["guest_name"], agency=detail.get("agency", ""))
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

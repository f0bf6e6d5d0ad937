"""Deadlines: the holiday table (read by all, kept by central admins), the rules as an office
applies them with its overrides, and the overdue / due-soon counts reports read."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from hub.api.edge import DomainErrorWithStatus, path_id, read_body, read_query
from hub.api.keys import DATABASE, actor_of
from hub.api.registry import api
from hub.api.responses import CalendarDay, CalendarDayList, DueCounts, OfficeRules, Ok, reply
from hub.api.schemas import (
    CalendarDayBody,
    CalendarDayFilter,
    DueCountFilter,
    OverrideBody,
)
from hub.domain.deadlines import CalendarDay as Entry
from hub.domain.deadlines import Override, RuleKey
from hub.services import deadlines


def _day(request: web.Request) -> date:
    raw = request.match_info["day"]
    try:
        if len(raw) != 10:  # fromisoformat also takes 20260101
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainErrorWithStatus(404, f"no such day: {raw!r} (YYYY-MM-DD)") from None


def _rule(request: web.Request) -> RuleKey:
    raw = request.match_info["rule"]
    try:
        return RuleKey(raw)
    except ValueError:
        raise DomainErrorWithStatus(404, f"no such deadline rule: {raw!r}") from None


@api.route(
    "GET",
    "/api/v1/calendar-days",
    "The holiday table: public holidays and days off, and weekend days worked in exchange",
    query=CalendarDayFilter,
    response=CalendarDayList,
)
async def list_calendar_days(request: web.Request) -> web.Response:
    q = read_query(request, CalendarDayFilter)
    async with request.app[DATABASE].transaction() as session:
        items = await deadlines.list_days(session, q.year)
    return reply(CalendarDayList, {"items": items})


@api.route(
    "PUT",
    "/api/v1/calendar-days/{day}",
    "Add or change a day of the holiday table (central admins); running deadlines it moves "
    "are set again",
    body=CalendarDayBody,
    response=CalendarDay,
)
async def put_calendar_day(request: web.Request) -> web.Response:
    body = await read_body(request, CalendarDayBody)
    entry = Entry(_day(request), body.kind, body.name)
    async with request.app[DATABASE].transaction() as session:
        out = await deadlines.put_day(session, actor_of(request), entry)
    return reply(CalendarDay, out)


@api.route(
    "DELETE",
    "/api/v1/calendar-days/{day}",
    "Remove a day from the holiday table (central admins)",
    response=Ok,
)
async def delete_calendar_day(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        await deadlines.delete_day(session, actor_of(request), _day(request))
    return reply(Ok, {"ok": True})


@api.route(
    "GET",
    "/api/v1/offices/{id}/deadline-rules",
    "The deadline rules as an office applies them: the law's days and any override in force",
    response=OfficeRules,
)
async def office_rules(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await deadlines.office_rules(session, actor_of(request), path_id(request, "id"))
    return reply(OfficeRules, out)


@api.route(
    "PUT",
    "/api/v1/offices/{id}/deadline-rules/{rule}",
    "An office's own number of days for a rule (admins); it applies to the offices under it "
    "too, unless they set their own",
    body=OverrideBody,
    response=OfficeRules,
)
async def put_override(request: web.Request) -> web.Response:
    body = await read_body(request, OverrideBody)
    override = Override(_rule(request), body.days, body.extension_days)
    async with request.app[DATABASE].transaction() as session:
        out = await deadlines.set_override(
            session, actor_of(request), path_id(request, "id"), override
        )
    return reply(OfficeRules, out)


@api.route(
    "DELETE",
    "/api/v1/offices/{id}/deadline-rules/{rule}",
    "Remove an office's override of a rule (admins): back to the law's days",
    response=OfficeRules,
)
async def delete_override(request: web.Request) -> web.Response:
    async with request.app[DATABASE].transaction() as session:
        out = await deadlines.delete_override(
            session, actor_of(request), path_id(request, "id"), _rule(request)
        )
    return reply(OfficeRules, out)


@api.route(
    "GET",
    "/api/v1/deadlines/counts",
    "How many petitions in scope are overdue, and how many fall due within the next days",
    query=DueCountFilter,
    response=DueCounts,
)
async def due_counts(request: web.Request) -> web.Response:
    q = read_query(request, DueCountFilter)
    async with request.app[DATABASE].transaction() as session:
        counts = await deadlines.due_counts(
            session, actor_of(request), office_id=q.office, within_days=q.within_days
        )
    return reply(DueCounts, {"overdue": counts.overdue, "due_within": counts.due_within})

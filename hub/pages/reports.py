"""The periodic report page (/reports: staff, leaders and admins) with its charts
(static/js/reports.js, Chart.js from npm), and its XLSX export (/reports/export.xlsx). Both are
made from the one figures dict of hub.services.reports, as GET /api/v1/reports answers it."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select

from hub.api.edge import read_query
from hub.api.keys import DATABASE, actor_of
from hub.api.schemas import ReportQuery
from hub.clock import now, now_local
from hub.domain.errors import ValidationFailed
from hub.domain.reports import Period, PeriodKind, tables
from hub.domain.users import Action
from hub.i18n import Translator
from hub.pages.guard import page
from hub.pages.render import language_of, render
from hub.services import reports
from hub.services.access import Actor
from hub.services.report_workbook import workbook
from hub.services.scope import in_subtree
from hub.storage.tables import OfficeRow

routes = web.RouteTableDef()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def current_quarter() -> Period:
    """The quarter today lies in (the page's default)."""
    today = now_local().date()
    return Period(PeriodKind.QUARTER, today.year, (today.month - 1) // 3 + 1)


def _query(request: web.Request) -> ReportQuery:
    """The page's query: ReportQuery with the current quarter when no period is given."""
    raw = dict(request.query)
    if not raw.get("period"):
        raw["period"] = str(current_quarter())
    if not raw.get("office_id"):
        raw.pop("office_id", None)
    return ReportQuery.model_validate(raw)


async def _office_choices(session: Any, actor: Actor) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(OfficeRow.id, OfficeRow.name, OfficeRow.path)
        .where(in_subtree(OfficeRow.path, actor.office_path))
        .order_by(OfficeRow.path)
    )
    base = actor.office_path.count("/")
    return [{"id": i, "name": n, "depth": p.count("/") - base} for i, n, p in rows.all()]


def t_label(request: web.Request, key: str, params: dict[str, str]) -> str:
    """A period's name in the reader's language."""
    return Translator(language_of(request))(key, **params)


@routes.get("/reports")
@page(Action.READ_PETITIONS)
async def report_page(request: web.Request) -> web.StreamResponse:
    """The report of an office in scope for a period: its tables and charts, the export link.
    A bad period is shown on the form (422); an office outside the scope is a 404."""
    actor = actor_of(request)
    try:
        q = _query(request)
        async with request.app[DATABASE].transaction() as session:
            figures = await reports.report(
                session, actor, q.office_id, Period.parse(q.period), now()
            )
            choices = await _office_choices(session, actor)
    except (ValidationError, ValidationFailed) as exc:
        if isinstance(exc, ValidationError):
            problem = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        else:
            problem = next(iter(exc.fields.values()), exc.message)
        async with request.app[DATABASE].transaction() as session:
            choices = await _office_choices(session, actor)
        return render(
            request,
            "reports.html",
            status=422,
            report=None,
            offices=choices,
            selected_office=actor.office_id,
            period_text=request.query.get("period", ""),
            error=problem,
        )
    export = "/reports/export.xlsx?" + urlencode(
        {"office_id": figures["office_id"], "period": figures["period"]}
    )
    label_key, label_params = Period.parse(figures["period"]).label()
    return render(
        request,
        "reports.html",
        report=figures,
        period_label=t_label(request, label_key, label_params),
        tables=tables(figures),
        offices=choices,
        selected_office=figures["office_id"],
        period_text=figures["period"],
        export_url=export,
        error=None,
        page_data={"report": figures},
    )


@routes.get("/reports/export.xlsx")
@page(Action.READ_PETITIONS)
async def report_export(request: web.Request) -> web.StreamResponse:
    """The same report as an XLSX workbook (one sheet per table, totals as formulas)."""
    q = read_query(request, ReportQuery)
    async with request.app[DATABASE].transaction() as session:
        figures = await reports.report(
            session, actor_of(request), q.office_id, Period.parse(q.period), now()
        )
    # openpyxl builds the file in Python: off the loop that carries signaling.
    body = await asyncio.to_thread(workbook, figures, language_of(request))
    name = f"bao-cao-{figures['office_id']}-{figures['period']}.xlsx"
    return web.Response(
        body=body,
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

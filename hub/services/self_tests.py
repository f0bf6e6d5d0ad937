"""Self-test results: keep the one a site's page posts, list those in a user's scope (an
office's, or every office's last), and tell whoever listens when a result is bad.

A bad result is an event of its own, outside any session log (a self-test runs before a
hearing, in none): it is logged here and handed to the hooks of `SelfTestHooks.on_bad`, in the
transaction that keeps the result, so that an alert raised from it is kept or lost with it.
create_app hooks in `open_failed_alert` (a self_test_failed alert for the office, outside any
hearing) and, for a result that passes, `close_failed_alert`; what they open or close is
announced to the operators once the transaction is committed (`SelfTestHooks.announce`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain import hearing_roles
from hub.domain.alerts import AlertDraft, AlertKind
from hub.domain.errors import Forbidden, NotFound
from hub.domain.self_tests import Score, SelfTestDraft
from hub.domain.users import Action
from hub.services import alerts
from hub.services.access import Actor
from hub.services.scope import in_subtree
from hub.storage.paging import page_of
from hub.storage.tables import AlertRow, OfficeRow, SelfTestRow, UserRow

log = logging.getLogger(__name__)

# Told of a stored result, in its transaction: (the session, the row); returns an alert (as
# the operators' `alert` event carries it) to announce after the commit, or None.
ResultHook = Callable[[AsyncSession, SelfTestRow], Awaitable[dict[str, Any] | None]]
# Tells the operators of an alert opened or closed (signaling's deliver_alert).
Announce = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class SelfTestHooks:
    """Who hears of kept results (create_app owns one; the alerts service hooks in here)."""

    # A result scored bad: e.g. open a self_test_failed alert for its office.
    on_bad: list[ResultHook] = field(default_factory=list)
    # A result scored good or okay: e.g. close that office's self_test_failed alert.
    on_passed: list[ResultHook] = field(default_factory=list)
    # Where the hooks' alerts go once committed (None: nobody is told, e.g. no signaling).
    announce: Announce | None = None


@dataclass
class Kept:
    """A kept result and the alerts to announce once its transaction is committed."""

    row: SelfTestRow
    alerts: list[dict[str, Any]] = field(default_factory=list)


async def record(
    session: AsyncSession, actor: Actor, draft: SelfTestDraft, hooks: SelfTestHooks
) -> Kept:
    """Keep a self-test result of the actor's own site (office and user are the actor's)."""
    if not hearing_roles.may_join(actor.role):
        raise Forbidden(
            f"the {actor.role} role does not sit at a site: a site's staff member, leader or "
            "admin runs its self-test"
        )
    row = SelfTestRow(
        office_id=draft.office_id,
        user_id=draft.user_id,
        at=now(),
        score=str(draft.score),
        reasons=list(draft.reasons),
        figures=dict(draft.figures),
    )
    session.add(row)
    await session.flush()
    log.info(
        "self-test %s of office %s by user %s: %s %s",
        row.id,
        row.office_id,
        row.user_id,
        row.score,
        ",".join(row.reasons) or "-",
    )
    kept = Kept(row)
    if row.score == Score.BAD:
        kept.alerts = await on_bad_result(session, row, hooks)
    else:
        for hook in hooks.on_passed:
            alert = await hook(session, row)
            if alert is not None:
                kept.alerts.append(alert)
    return kept


async def on_bad_result(
    session: AsyncSession, row: SelfTestRow, hooks: SelfTestHooks
) -> list[dict[str, Any]]:
    """A site's self-test scored bad: say so in the hub's log (no session log: no hearing) and
    tell every `on_bad` hook, in the result's transaction; the alerts they raised."""
    log.warning(
        "self-test %s: office %s scored bad (%s)", row.id, row.office_id, ", ".join(row.reasons)
    )
    raised = []
    for hook in hooks.on_bad:
        alert = await hook(session, row)
        if alert is not None:
            raised.append(alert)
    return raised


async def announce(hooks: SelfTestHooks, kept: Kept) -> None:
    """After the commit: tell the operators of the alerts a result opened or closed."""
    if hooks.announce is None:
        return
    for alert in kept.alerts:
        try:
            await hooks.announce(alert)
        except Exception:  # the result and its alert are kept; the board reads them anyway
            log.exception("self-test %s: alert %s not announced", kept.row.id, alert.get("id"))


async def open_failed_alert(session: AsyncSession, row: SelfTestRow) -> dict[str, Any] | None:
    """on_bad hook: the office's self_test_failed alert (outside any hearing), opened unless it
    is open already; its view when new."""
    draft = AlertDraft(
        AlertKind.SELF_TEST_FAILED,
        row.office_id,
        None,
        {"self_test_id": row.id, "reasons": list(row.reasons), "user_id": row.user_id},
    )
    alert, new = await alerts.open_alert(session, draft)
    return await _alert_view(session, alert) if new else None


async def close_failed_alert(session: AsyncSession, row: SelfTestRow) -> dict[str, Any] | None:
    """on_passed hook: a later test of the office passed, so its self_test_failed alert (if
    open) closes; its view when closed."""
    alert = await alerts.close_alert(
        session,
        AlertKind.SELF_TEST_FAILED,
        row.office_id,
        None,
        detail={"passed_self_test_id": row.id, "score": row.score},
    )
    return await _alert_view(session, alert) if alert is not None else None


async def _alert_view(session: AsyncSession, alert: AlertRow) -> dict[str, Any]:
    # As the operators' `alert` event carries it: with the office's path, whose operators'
    # rooms it goes to.
    view = await alerts.view_of(session, alert)
    office = await session.get(OfficeRow, alert.office_id)
    view["office_path"] = office.path if office is not None else None
    return view


async def list_(
    session: AsyncSession,
    actor: Actor,
    *,
    office_id: int | None = None,
    latest: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Results in the actor's scope, newest first: one office's (NotFound outside the scope),
    or every office's; `latest`: only each office's last result."""
    actor.require(Action.READ_HEARINGS)
    query = (
        select(SelfTestRow, OfficeRow, UserRow)
        .join(OfficeRow, OfficeRow.id == SelfTestRow.office_id)
        .join(UserRow, UserRow.id == SelfTestRow.user_id)
        .where(in_subtree(OfficeRow.path, actor.office_path))
    )
    if office_id is not None:
        office = await session.get(OfficeRow, office_id)
        if office is None or not actor.sees(office.path):
            raise NotFound(f"office {office_id} not found")
        query = query.where(SelfTestRow.office_id == office_id)
    if latest:
        # Ids grow with time (`at` is the hub's clock when it kept the result).
        last = select(func.max(SelfTestRow.id)).group_by(SelfTestRow.office_id)
        query = query.where(SelfTestRow.id.in_(last))
    rows, total = await page_of(session, query, [SelfTestRow.id.desc()], limit, offset)
    return [view(t, o, u) for t, o, u in rows], total


async def view_of(session: AsyncSession, row: SelfTestRow) -> dict[str, Any]:
    """One kept result as the API shows it (its office and user read by id)."""
    office = await session.get(OfficeRow, row.office_id)
    user = await session.get(UserRow, row.user_id)
    assert office is not None and user is not None  # foreign keys
    return view(row, office, user)


def view(row: SelfTestRow, office: OfficeRow, user: UserRow) -> dict[str, Any]:
    """A result as the API shows it."""
    return {
        "id": row.id,
        "office_id": row.office_id,
        "office_name": office.name,
        "user_id": row.user_id,
        "user_name": user.display_name,
        "at": local_iso(row.at),
        "score": row.score,
        "reasons": list(row.reasons),
        "figures": dict(row.figures),
    }

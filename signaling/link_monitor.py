"""Every site's link samples in, grades out: each sample goes to the link history, the last few
are graded (hub.domain.link_grade), and a site graded poor or bad for too long opens a
site_degraded alert, closed at its first good grade or when it leaves.

The hub measures a site every QUALITY_INTERVAL seconds (rooms.quality); the site's browser
reports its own figures (getStats) on its own schedule. The browser's latest report is merged
into the hub's next sample while it is fresh, so one sample carries both ends.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import Settings
from hub.domain.alerts import AlertDraft, AlertKind, DegradedWatch, Verdict
from hub.domain.link_grade import GradeThresholds, LinkGrade, LinkSample, grade
from hub.services import alerts
from hub.storage.db import Database
from hub.storage.tables import AlertRow, OfficeRow
from signaling.link_history import LinkHistory

logger = logging.getLogger(__name__)

# A browser's report older than this is not merged into the hub's sample (two hub intervals).
CLIENT_FRESH_SECONDS = 10.0


class LinkMonitor:
    """The sites measured by this process: their recent samples, grades and degraded spells."""

    def __init__(
        self,
        history: LinkHistory,
        database: Database,
        thresholds: GradeThresholds,
        degraded_after: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.history = history
        # Told every alert this monitor opens or closes, as the API shows it (hub.services.
        # alerts.view): what puts it on the operators' board as it happens. Set by whoever
        # delivers to the board; a failing listener is logged.
        self.on_alert: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        self._database = database
        self._thresholds = thresholds
        self._watch = DegradedWatch(degraded_after)
        self._clock = clock
        self._recent: dict[int, deque[LinkSample]] = {}
        self._grades: dict[int, LinkGrade] = {}
        self._client: dict[int, tuple[float, LinkSample]] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, history: LinkHistory, database: Database
    ) -> LinkMonitor:
        """Thresholds and the degraded delay from the settings."""
        return cls(history, database, settings.grade_thresholds, settings.alert_degraded_seconds)

    def client_reported(self, office_id: int, sample: LinkSample, at: float | None = None) -> None:
        """The site's browser sent its figures; they ride on the hub's next sample."""
        self._client[office_id] = (self._clock() if at is None else at, sample)

    async def measured(
        self,
        office_id: int,
        sample: LinkSample,
        *,
        hearing_id: int | None = None,
        at: float | None = None,
    ) -> LinkGrade:
        """The hub measured a site: record, grade, and open or close site_degraded. A failing
        store is logged, never raised: measuring goes on."""
        at = self._clock() if at is None else at
        client = self._client.get(office_id)
        if client is not None and at - client[0] <= CLIENT_FRESH_SECONDS:
            sample = sample.merged(client[1])
        recent = self._recent.setdefault(office_id, deque(maxlen=self._thresholds.window))
        recent.append(sample)
        result = grade(list(recent), self._thresholds)
        self._grades[office_id] = result
        try:
            await self.history.add(office_id, sample, at)
        except Exception:
            logger.exception("link history: sample of office %s not stored", office_id)
        verdict = self._watch.grade(office_id, result.grade, at, hearing_id)
        if verdict is Verdict.OPEN:
            since = self._watch.since(office_id, hearing_id)
            worst = self._watch.worst(office_id, hearing_id)
            detail = {
                "grade": str(result.grade),
                "worst": str(worst) if worst is not None else None,
                "seconds": round(at - since, 1) if since is not None else None,
                "reasons": [r.text for r in result.reasons],
            }
            await self._open(AlertDraft(AlertKind.SITE_DEGRADED, office_id, hearing_id, detail))
        elif verdict is Verdict.CLOSE:
            await self._close(office_id, hearing_id, {"cleared_grade": str(result.grade)})
        return result

    def grade_of(self, office_id: int) -> LinkGrade | None:
        """The office's last grade on this process, if it was measured here."""
        return self._grades.get(office_id)

    def grades(self) -> dict[int, LinkGrade]:
        """Every office measured here and its last grade (the metrics read it)."""
        return dict(self._grades)

    async def left(self, office_id: int, hearing_id: int | None = None) -> None:
        """The site left (the hearing, or the hub): forget its samples and close its
        site_degraded alert if one is open."""
        self._recent.pop(office_id, None)
        self._grades.pop(office_id, None)
        self._client.pop(office_id, None)
        if self._watch.forget(office_id, hearing_id):
            await self._close(office_id, hearing_id, {"cleared": "left"})

    async def close(self) -> None:
        """Release the history's connection."""
        await self.history.close()

    async def raise_alert(
        self,
        kind: AlertKind,
        office_id: int,
        hearing_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Open an alert of any kind (once: an open one of the same kind, office and hearing
        stays as it is) and announce it."""
        await self._open(AlertDraft(kind, office_id, hearing_id, dict(detail or {})))

    async def clear_alert(
        self,
        kind: AlertKind,
        office_id: int,
        hearing_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Close the open alert of that kind, office and hearing, if any, and announce it."""
        await self._close(office_id, hearing_id, dict(detail or {}), kind=kind)

    async def check_attendance(self, hearing_id: int, connected: set[int]) -> None:
        """Every invited site of a live hearing not among `connected` (office ids) gets its
        site_not_connected_at_start alert; one connected since has it closed."""
        try:
            async with self._database.transaction() as session:
                opened, closed = await alerts.check_attendance(session, hearing_id, connected)
                views = [await _board_view(session, row) for row in (*opened, *closed)]
        except Exception:
            logger.exception("attendance of hearing %s not checked", hearing_id)
            return
        for view in views:
            await self._announce(view)

    async def _open(self, draft: AlertDraft) -> None:
        try:
            async with self._database.transaction() as session:
                row, new = await alerts.open_alert(session, draft)
                view = await _board_view(session, row) if new else None
        except Exception:
            logger.exception("alert %s of office %s not opened", draft.kind, draft.office_id)
            return
        await self._announce(view)

    async def _close(
        self,
        office_id: int,
        hearing_id: int | None,
        detail: dict[str, Any],
        *,
        kind: AlertKind = AlertKind.SITE_DEGRADED,
    ) -> None:
        try:
            async with self._database.transaction() as session:
                row = await alerts.close_alert(session, kind, office_id, hearing_id, detail=detail)
                view = await _board_view(session, row) if row is not None else None
        except Exception:
            logger.exception("%s alert of office %s not closed", kind, office_id)
            return
        await self._announce(view)

    async def _announce(self, view: dict[str, Any] | None) -> None:
        if view is None or self.on_alert is None:
            return
        try:
            await self.on_alert(view)
        except Exception:
            logger.exception("alert %s not announced", view.get("id"))


async def _board_view(session: AsyncSession, row: AlertRow) -> dict[str, Any]:
    """The alert as the API shows it, plus its office's materialised path: which operators'
    rooms it goes to (the office may never have connected to this node)."""
    view = await alerts.view_of(session, row)
    office = await session.get(OfficeRow, row.office_id)
    view["office_path"] = office.path if office is not None else None
    return view


LINK_MONITOR = web.AppKey("tcd_link_monitor", LinkMonitor)


def setup_link_monitor(app: web.Application, monitor: LinkMonitor) -> None:
    """Keep the monitor on the app; its history's connection closes with the app."""
    app[LINK_MONITOR] = monitor

    async def lifespan(_app: web.Application) -> AsyncIterator[None]:
        yield
        await monitor.close()

    app.cleanup_ctx.append(lifespan)

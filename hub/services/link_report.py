"""A site's link as its operators' page shows it: the grade now, the latest figures, the 15-minute
sparkline and the 24-hour series, read from the link history (signaling.link_history, handed
in as a LinkReader so that hub/ imports nothing of signaling/)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso
from hub.domain.errors import NotFound
from hub.domain.link_grade import GradeThresholds, LinkSample, grade
from hub.domain.users import Action
from hub.services.access import Actor
from hub.storage.tables import OfficeRow

# Samples older than this say nothing about the link now (they arrive every 2-5 s; a site
# whose figures stopped is site_offline's business, and its grade is unknown).
FRESH_SECONDS_PER_SAMPLE = 5.0


class SeriesPointLike(Protocol):
    """A step of a series (signaling.link_history.SeriesPoint, a frozen dataclass)."""

    @property
    def at(self) -> float:
        """The step's start, unix seconds."""

    @property
    def samples(self) -> int:
        """Samples in it."""

    @property
    def means(self) -> dict[str, float | None]:
        """Each figure's mean."""


class LinkReader(Protocol):
    """What a report reads (signaling.link_history.LinkHistory has it all)."""

    async def since(self, office_id: int, t: float) -> Sequence[tuple[float, LinkSample]]:
        """Raw samples from t on, oldest first."""

    async def sparkline(self, office_id: int, now: float) -> Sequence[SeriesPointLike]:
        """The last 15 minutes."""

    async def graph(self, office_id: int, now: float) -> Sequence[SeriesPointLike]:
        """The last 24 hours."""


async def link_report(
    session: AsyncSession,
    actor: Actor,
    reader: LinkReader,
    thresholds: GradeThresholds,
    office_id: int,
    now: float,
    *,
    with_graph: bool = True,
) -> dict[str, Any]:
    """The report of one office in the actor's scope (NotFound outside it, like a missing one)."""
    actor.require(Action.READ_HEARINGS)
    office = await session.get(OfficeRow, office_id)
    if office is None or not actor.sees(office.path):
        raise NotFound(f"office {office_id} not found")
    fresh = max(15.0, thresholds.window * FRESH_SECONDS_PER_SAMPLE)
    recent = list(await reader.since(office_id, now - fresh))
    graded = grade([s for _, s in recent], thresholds)
    latest = None
    if recent:
        at, sample = recent[-1]
        latest = {"at": _iso(at), **sample.as_dict()}
    return {
        "office_id": office.id,
        "office_name": office.name,
        **graded.as_dict(),
        "latest": latest,
        "sparkline": [_point(p) for p in await reader.sparkline(office_id, now)],
        "graph": [_point(p) for p in await reader.graph(office_id, now)] if with_graph else None,
    }


def _iso(at: float) -> str | None:
    return local_iso(datetime.fromtimestamp(at, UTC))


def _point(point: SeriesPointLike) -> dict[str, Any]:
    return {"at": _iso(point.at), "samples": point.samples, **point.means}

"""GET /metrics in Prometheus's text format: the app's own registry, figures collected at scrape
time, API latency and the event loop's lag.

Each app owns its CollectorRegistry (never prometheus_client's global one), so several apps in
one process (tests, benches) never clash. What the signaling side knows (sites by state and
grade, media participants and forwarded tracks) comes in through FigureSource callables that
create_app wires, since hub/ imports nothing from signaling/ or rooms/.

Who may scrape: a client on the loopback interface that came through no proxy, or anyone
sending 'Authorization: Bearer <TCD_METRICS_TOKEN>'. The figures name offices and show the
hub's load, which is nobody's business outside, and the hub has no network-level allow list of
its own; behind a proxy on the same host every visitor arrives from 127.0.0.1, so a request
carrying X-Forwarded-For or Forwarded is never taken for a local one. In docker-compose
Prometheus reaches the nodes over the compose network, not the loopback: set the token there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from hub.domain.alerts import AlertKind
from hub.domain.hearings import HearingStatus
from hub.domain.link_grade import Grade
from hub.services import alerts
from hub.storage.db import Database
from hub.storage.tables import HearingRow

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
# How often the lag probe wakes: often enough to catch a 100 ms stall, rare enough to cost
# nothing (one timer a quarter second).
LAG_INTERVAL = 0.25
# Requests not timed: the long-lived Socket.IO transports (a WebSocket lasts the hearing),
# static files, and the scrape itself.
_UNTIMED = ("/socket.io", "/static/", METRICS_PATH)
SITE_STATES = ("offline", "online", "waiting", "in_hearing", "degraded")


@dataclass
class Figures:
    """What one scrape reports beyond the counters the app keeps itself. A source fills the
    fields it knows; the others keep their defaults."""

    # Offices on the operators' board by state (SITE_STATES), and each one's grade.
    sites: dict[str, int] = field(default_factory=dict)
    site_grades: dict[int, Grade] = field(default_factory=dict)
    # Media: rooms open, participants in them, tracks forwarded publisher -> subscriber, frames
    # forwarded by the rooms open now (None where the backend does not say).
    rooms: int | None = None
    participants: int | None = None
    forwarded_tracks: int | None = None
    frames_forwarded: int | None = None


FigureSource = Callable[[Figures], Awaitable[None]]


class HubMetrics:
    """The registry of one app: its histograms, the lag probe's task, and the scrape."""

    def __init__(self, database: Database, token: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._database = database
        self._token = token
        self._sources: list[FigureSource] = []
        self._figures = Figures()
        self._hearings_live = 0
        self._open_alerts: dict[str, int] = {}
        self._lag_task: asyncio.Task[None] | None = None
        self.latency = Histogram(
            "tcd_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.loop_lag = Histogram(
            "tcd_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled every 0.25 s)",
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.loop_lag_last = Gauge(
            "tcd_event_loop_lag_last_seconds",
            "The event loop's lag at the last probe",
            registry=self.registry,
        )
        self.registry.register(_ScrapeCollector(self))

    def add_source(self, source: FigureSource) -> None:
        """A callable that fills in Figures at every scrape (create_app wires signaling's)."""
        self._sources.append(source)

    # -- the scrape ---------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read every figure now: the database's and each source's (a failing source is logged
        and leaves its figures out; the scrape still answers)."""
        figures = Figures()
        for source in self._sources:
            try:
                await source(figures)
            except Exception:
                log.exception("metrics: a figure source failed")
        self._figures = figures
        try:
            async with self._database.transaction() as session:
                live = select(func.count()).where(HearingRow.status == str(HearingStatus.LIVE))
                self._hearings_live = int((await session.execute(live)).scalar_one())
                self._open_alerts = await alerts.count_open(session)
        except Exception:
            log.exception("metrics: the database's figures could not be read")

    def collect(self) -> Iterable[Metric]:
        """The scrape-time families, from the last refresh()."""
        f = self._figures
        sites = GaugeMetricFamily(
            "tcd_sites", "Offices on the operators' board by state", labels=["state"]
        )
        for state in SITE_STATES:
            sites.add_metric([state], f.sites.get(state, 0))
        yield sites
        by_grade = GaugeMetricFamily(
            "tcd_sites_by_grade", "Offices by their link's grade", labels=["grade"]
        )
        for grade in Grade:
            by_grade.add_metric([str(grade)], sum(1 for g in f.site_grades.values() if g is grade))
        yield by_grade
        per_site = GaugeMetricFamily(
            "tcd_site_grade",
            "Each graded office's link: 0 good, 1 poor, 2 bad",
            labels=["office_id"],
        )
        for office_id, grade in sorted(f.site_grades.items()):
            if grade is not Grade.UNKNOWN:
                per_site.add_metric([str(office_id)], grade.severity)
        yield per_site
        yield GaugeMetricFamily("tcd_hearings_live", "Hearings live now", value=self._hearings_live)
        for name, value, text in (
            ("tcd_media_rooms", f.rooms, "Media rooms open"),
            ("tcd_media_participants", f.participants, "Participants in the media rooms"),
            (
                "tcd_media_forwarded_tracks",
                f.forwarded_tracks,
                "Tracks forwarded from a publisher to a subscriber",
            ),
            (
                "tcd_media_frames_forwarded",
                f.frames_forwarded,
                "Frames forwarded by the rooms open now (falls when a room closes)",
            ),
        ):
            if value is not None:
                yield GaugeMetricFamily(name, text, value=value)
        open_alerts = GaugeMetricFamily("tcd_alerts_open", "Open alerts by kind", labels=["kind"])
        for kind in AlertKind:
            open_alerts.add_metric([str(kind)], self._open_alerts.get(str(kind), 0))
        yield open_alerts

    def allowed(self, request: web.Request) -> bool:
        """Loopback without a proxy in between, or the bearer token (see the module)."""
        header = request.headers.get("Authorization", "")
        if self._token and header.startswith("Bearer "):
            return hmac.compare_digest(header[7:].strip().encode(), self._token.encode())
        if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
            return False
        try:
            return ipaddress.ip_address(request.remote or "").is_loopback
        except ValueError:
            return False  # a Unix socket or an unknown peer: not known to be local

    async def handle(self, request: web.Request) -> web.Response:
        """GET /metrics."""
        if not self.allowed(request):
            # An answer, not HTTPForbidden: the pages' middleware would make that an HTML page.
            return web.Response(
                status=403,
                text="metrics are served to loopback clients that came through no proxy, or "
                "with 'Authorization: Bearer <TCD_METRICS_TOKEN>'\n",
            )
        await self.refresh()
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    # -- API latency ----------------------------------------------------------------------------

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Time every request but the untimed ones, labelled by the route's template (never
        the raw path: ids would make a series each)."""
        if request.path.startswith(_UNTIMED):
            return await handler(request)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            self.latency.labels(_route_of(request), request.method, str(status)).observe(
                time.perf_counter() - started
            )

    # -- the lag probe --------------------------------------------------------------------------

    async def lifespan(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: the lag probe runs as long as the app."""
        self._lag_task = asyncio.create_task(self._probe_lag(), name="tcd-metrics-loop-lag")
        yield
        self._lag_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._lag_task
        self._lag_task = None

    async def _probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_INTERVAL)
            lag = max(0.0, loop.time() - before - LAG_INTERVAL)
            self.loop_lag.observe(lag)
            self.loop_lag_last.set(lag)


class _ScrapeCollector(Collector):
    """Hands the registry HubMetrics.collect's families at each scrape."""

    def __init__(self, metrics: HubMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.collect()

    def describe(self) -> Iterable[Metric]:
        # Nothing up front: these families are only known at scrape time.
        return []


def _route_of(request: web.Request) -> str:
    """The route's template ('/api/v1/petitions/{id}'), or 'unmatched' (a 404 of the router)."""
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None or getattr(info, "http_exception", None) is not None:
        return "unmatched"
    return str(resource.canonical)


def site_state(status: Mapping[str, Any]) -> str:
    """An operators' board status (signaling.presence) as one of SITE_STATES: its own
    `presence` field when it has one (degraded, ...), else offline, in_hearing (admitted),
    waiting, or online (connected, in no hearing)."""
    presence = status.get("presence")
    if isinstance(presence, str) and presence in SITE_STATES:
        return presence
    if not status.get("online"):
        return "offline"
    if status.get("state") == "admitted":
        return "in_hearing"
    if status.get("state") == "waiting":
        return "waiting"
    return "online"


def setup_metrics(app: web.Application, metrics: HubMetrics) -> None:
    """Mount GET /metrics and the lag probe on the app (the middleware goes in at creation)."""
    app.router.add_get(METRICS_PATH, metrics.handle)
    app.cleanup_ctx.append(metrics.lifespan)

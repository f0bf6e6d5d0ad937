"""create_app(settings): the one place that wires the hub, signaling and rooms together."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator

from aiohttp import web

# Importing the route modules registers their handlers on the registry.
from hub.api import (  # noqa: F401
    alert_routes,
    auth_routes,
    deadline_routes,
    delegation_routes,
    guest_routes,
    hearing_routes,
    link_routes,
    minutes_routes,
    national_routes,
    office_routes,
    petition_routes,
    recording_routes,
    report_routes,
    self_test_routes,
)
from hub.api.edge import auth_middleware, errors_middleware
from hub.api.guest_gate import guest_gate_middleware
from hub.api.keys import (
    DATABASE,
    DEADLINE_TASK,
    DELEGATION_NOTIFIER,
    DOCUMENTS,
    LINK_READER,
    LOGIN_LIMITER,
    METRICS,
    NOTIFIER,
    PASSWORDS,
    RECORDINGS,
    SELF_TEST_HOOKS,
    SETTINGS,
)
from hub.api.openapi import build_spec
from hub.api.registry import api
from hub.api.security import add_security_headers
from hub.config import Settings
from hub.metrics import HubMetrics, setup_metrics
from hub.pages import TEMPLATES, WEB_DIR, add_page_routes, html_errors_middleware, make_templates
from hub.services import self_tests
from hub.services.deadline_alerts import DeadlineTask
from hub.services.documents import DocumentWorkers
from hub.services.live import DatabaseLiveGateway
from hub.services.login_limiter import LoginRateLimiter
from hub.services.passwords import PasswordWorkers
from hub.services.recordings import RecordingSweeper
from hub.services.self_tests import SelfTestHooks
from hub.storage.db import Database
from signaling.link_history import open_link_history
from signaling.link_monitor import LinkMonitor, setup_link_monitor
from signaling.metrics_figures import signaling_figures
from signaling.server import setup_signaling

log = logging.getLogger(__name__)

# JSON bodies are small; anything bigger is refused before a handler reads it.
MAX_BODY_BYTES = 256 * 1024


def create_app(settings: Settings) -> web.Application:
    """Build the aiohttp application: API, pages, static files, signaling and rooms."""
    database = Database.from_settings(settings)
    metrics = HubMetrics(database, settings.metrics_token)
    app = web.Application(
        # The metrics middleware first: it times whatever the others answer, errors included.
        middlewares=[
            metrics.middleware,
            html_errors_middleware,
            errors_middleware,
            # Before any sign-in is read: a guest's browser gets 404 for every record.
            guest_gate_middleware,
            auth_middleware,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app.on_response_prepare.append(add_security_headers)
    app[DATABASE] = database
    app[METRICS] = metrics
    app[LOGIN_LIMITER] = LoginRateLimiter.from_settings(settings)
    app[PASSWORDS] = PasswordWorkers(settings.password_workers, settings.password_queue)
    app[TEMPLATES] = make_templates()
    app[DOCUMENTS] = DocumentWorkers()
    # Told of every kept self-test result, in its transaction: a bad one opens its office's
    # self_test_failed alert, one that passes closes it (announced once signaling is wired).
    app[SELF_TEST_HOOKS] = SelfTestHooks(
        on_bad=[self_tests.open_failed_alert], on_passed=[self_tests.close_failed_alert]
    )
    app.router.add_routes(api.table)
    spec = build_spec(api.operations)

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(spec)

    app.router.add_get("/api/v1/openapi.json", openapi)
    add_page_routes(app)
    app.router.add_static("/static/", WEB_DIR / "static", follow_symlinks=False)
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_sign_in_ctx)
    app[DEADLINE_TASK] = DeadlineTask(database)
    app.cleanup_ctx.append(_deadline_ctx)
    app.cleanup_ctx.append(_documents_ctx)
    app.on_startup.append(_freeze_startup_heap)

    # Before signaling: cleanup runs in reverse, so the monitor outlives the rooms' last words.
    monitor = LinkMonitor.from_settings(settings, open_link_history(settings), database)
    setup_link_monitor(app, monitor)
    app[LINK_READER] = monitor.history
    signaling = setup_signaling(
        app, settings, DatabaseLiveGateway(app[DATABASE], settings.secret_key)
    )
    app[NOTIFIER] = signaling
    app[DELEGATION_NOTIFIER] = signaling
    app[RECORDINGS] = signaling
    app.cleanup_ctx.append(_recording_sweep_ctx)
    signaling.link_monitor = monitor
    monitor.on_alert = signaling.deliver_alert
    app[SELF_TEST_HOOKS].announce = signaling.deliver_alert
    metrics.add_source(signaling_figures(signaling, monitor))
    setup_metrics(app, metrics)
    return app


async def _freeze_startup_heap(_app: web.Application) -> None:
    """Move everything alive after start-up (modules, templates, the OpenAPI document, SQLAlchemy
    metadata) out of the collector's sight. A burst of requests (a sign-in storm) otherwise
    triggers full collections that walk that heap for about 0.1 s with the loop, and so the
    media, held; what is frozen is never garbage anyway."""
    gc.collect()
    gc.freeze()


async def _recording_sweep_ctx(app: web.Application) -> AsyncIterator[None]:
    """The task that deletes expired recordings (TCD_RECORDING_RETENTION_DAYS) and finishes
    those whose room closed while recording; stopped before the database closes."""
    settings = app[SETTINGS]
    sweeper = RecordingSweeper(
        app[DATABASE], settings.effective_recording_dir, settings.recording_retention_days
    )
    sweeper.start()
    yield
    await sweeper.close()


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[DATABASE].close()


async def _deadline_ctx(app: web.Application) -> AsyncIterator[None]:
    """The daily deadline run lives as long as the app (before the database closes)."""
    app[DEADLINE_TASK].start()
    yield
    await app[DEADLINE_TASK].close()


async def _documents_ctx(app: web.Application) -> AsyncIterator[None]:
    """The document worker process lives as long as the app."""
    yield
    await asyncio.to_thread(app[DOCUMENTS].close)


async def _sign_in_ctx(app: web.Application) -> AsyncIterator[None]:
    """The password pool and the limiter's store live as long as the app."""
    yield
    # Waits for the check in progress, if any: off the loop, which is still closing rooms.
    await asyncio.to_thread(app[PASSWORDS].close)
    await app[LOGIN_LIMITER].close()

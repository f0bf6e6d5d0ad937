"""Typed application and request state shared by the API's modules."""

from __future__ import annotations

from aiohttp import web

from hub.config import Settings
from hub.metrics import HubMetrics
from hub.services.access import Actor
from hub.services.deadline_alerts import DeadlineTask
from hub.services.delegations import DelegationNotifier
from hub.services.documents import DocumentWorkers
from hub.services.link_report import LinkReader
from hub.services.live import HearingNotifier
from hub.services.login_limiter import LoginRateLimiter
from hub.services.passwords import PasswordWorkers
from hub.services.recordings import RecordingControl
from hub.services.self_tests import SelfTestHooks
from hub.storage.db import Database

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
LOGIN_LIMITER = web.AppKey("login_limiter", LoginRateLimiter)
PASSWORDS = web.AppKey("password_workers", PasswordWorkers)
NOTIFIER = web.AppKey("hearing_notifier", HearingNotifier)
# Who tells the live pages of a crowd delegation registered or changed (signaling).
DELEGATION_NOTIFIER = web.AppKey("delegation_notifier", DelegationNotifier)
METRICS = web.AppKey("metrics", HubMetrics)
# The link history, read by the sites' link reports (signaling.link_history implements it).
LINK_READER = web.AppKey("link_reader", LinkReader)
# Who hears of kept self-test results (a bad one: the alert to raise).
SELF_TEST_HOOKS = web.AppKey("self_test_hooks", SelfTestHooks)
# The worker process that renders documents (the minutes' DOCX and PDF) off the event loop.
DOCUMENTS = web.AppKey("document_workers", DocumentWorkers)

# The daily deadline run (alerts the day before a handling deadline).
DEADLINE_TASK = web.AppKey("deadline_task", DeadlineTask)
# The media side's recording controls (signaling.server.SignalingServer).
RECORDINGS = web.AppKey("recordings", RecordingControl)

# Request keys (set by the auth middleware).
ACTOR = web.RequestKey("actor", Actor)
TOKEN = web.RequestKey("token", str)
CSRF = web.RequestKey("csrf", str)

SESSION_COOKIE = "tcd_session"
CSRF_COOKIE = "tcd_csrf"
CSRF_HEADER = "X-CSRF-Token"


def actor_of(request: web.Request) -> Actor:
    """The signed-in Actor of a request that passed the auth middleware."""
    return request[ACTOR]

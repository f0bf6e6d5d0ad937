"""The hub's HTTP hardening, API and pages alike: where a redirect may go, whether a request
came over HTTPS (also behind a TLS-terminating proxy), and the security headers every response
carries (Content-Security-Policy, framing, sniffing, referrer and caching)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from hub.api.keys import SESSION_COOKIE, SETTINGS

# Browsers drop tab and newlines anywhere in a URL and C0 controls and spaces around it, so
# "/\t/evil.example" is followed as "//evil.example"; a backslash counts as a slash. Refuse any
# of them rather than guess what a browser makes of the rest.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")

# Scripts only from our own files (data goes in data-* attributes and JSON blocks, which are
# never run); styles only from app.css, with style attributes set through the CSSOM by the
# scripts; the socket (ws:/wss:) on our own origin ('self' covers it in CSP Level 3); remote
# video arrives as MediaStreams, which no fetch directive governs; nobody may frame a page.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Only what citizens may see without signing in may be kept by browsers and shared caches;
# everything else (the API, signed-in pages, error pages naming the user) is no-store.
PUBLIC_PATHS = frozenset({"/schedule", "/schedule.ics"})
PUBLIC_MAX_AGE = 60
STATIC_PREFIX = "/static/"
HSTS_MAX_AGE = 365 * 24 * 3600


# A guest's page (hub/pages/guest.py): its path carries the guest's personal link token.
GUEST_PAGE_PREFIX = "/guest/"


def loggable_path(path_qs: str) -> str:
    """A request's path as the access log keeps it: a guest link's token is a credential (it
    opens a live hearing to whoever holds it), so it never reaches a log file."""
    if path_qs.startswith(GUEST_PAGE_PREFIX):
        return f"{GUEST_PAGE_PREFIX}[token]"
    return path_qs


class AccessLogger(AbstractAccessLogger):
    """The serving process's access log: one line per request, credentials left out (no
    guest token, no Referer: a guest page's own requests would name its link there)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            loggable_path(request.path_qs),
            response.status,
            response.body_length,
            time,
        )


def safe_next(value: str | None, default: str = "/") -> str:
    """Where to go on to after signing in or switching language: a path on this hub only.

    Accepted: a single leading "/" and no scheme, host, backslash, control character or
    whitespace. Anything else (another site, "//host", "/\\t/host", "javascript:") is `default`.
    """
    if not value or _UNSAFE_IN_NEXT.search(value):
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def is_https(request: web.Request) -> bool:
    """Whether the browser reached the hub over HTTPS: TLS here, or, when the hub trusts its
    proxy (TCD_TRUST_PROXY), the proxy's X-Forwarded-Proto."""
    if request.secure:
        return True
    if not request.app[SETTINGS].trust_proxy:
        return False
    # The proxy nearest to us appends last; a chain "https, http" came in over HTTPS first.
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    first = forwarded.split(",")[0].strip().lower()
    return first == "https"


def client_address(request: web.Request) -> str:
    """The address the request came from, for per-address limits and logs. Behind a trusted
    proxy (TCD_TRUST_PROXY) that is the last X-Forwarded-For entry: the one the proxy itself
    appended. Earlier entries come from the client and are never believed; without the
    setting the header is ignored altogether, so that nobody dodges a limit by sending it."""
    if request.app[SETTINGS].trust_proxy:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        if hops and hops[-1]:
            return hops[-1]
    return request.remote or "unknown"


def cookie_secure(request: web.Request) -> bool:
    """Whether cookies set in answer to this request are marked Secure."""
    return request.app[SETTINGS].secure_cookies or is_https(request)


def _cache_control(request: web.Request) -> str:
    path = request.path
    if path.startswith(STATIC_PREFIX):
        # Kept but revalidated (ETag, Last-Modified): a new release's scripts are never stale.
        return "no-cache"
    signed_in = SESSION_COOKIE in request.cookies or "Authorization" in request.headers
    if path in PUBLIC_PATHS and request.method in ("GET", "HEAD") and not signed_in:
        return f"public, max-age={PUBLIC_MAX_AGE}"
    return "no-store"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: every response, error and static file included, leaves with
    the security headers and the caching rule above."""
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cache-Control"] = _cache_control(request)
    if request.path in PUBLIC_PATHS:
        # Signed-in readers get their own, uncached copy of the public pages.
        headers["Vary"] = "Cookie, Authorization"
    if headers["Cache-Control"] == "no-store":
        headers.setdefault("Pragma", "no-cache")
    if is_https(request):
        headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE}"

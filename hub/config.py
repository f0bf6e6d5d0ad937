"""Settings: one frozen object built once from the environment and CLI flags."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hub.domain.errors import ValidationFailed
from hub.domain.link_grade import GradeThresholds

DEFAULT_DATA_DIR = Path("var")
MEDIA_MODES = ("packet", "frame", "mediarelay")


class SettingsError(ValueError):
    """A setting with a value the hub cannot run with; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the hub is configured with; nothing else reads os.environ."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = DEFAULT_DATA_DIR
    # SQLite under data_dir unless a URL is given (postgresql+asyncpg://... for PostgreSQL).
    database_url: str = ""
    # Empty: in-process signaling. redis://...: Socket.IO fan-out through AsyncRedisManager.
    redis_url: str = ""
    # With Redis: a node that stops beating (killed, cut off) loses its sites from the
    # operators' board this many seconds after its last heartbeat (it beats every third of it).
    presence_ttl_seconds: float = 15.0
    # Signs join tokens and CSRF tokens. Generated per process when not given, which is fine for
    # one process; set TCD_SECRET_KEY when several processes serve one hub.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session_ttl_seconds: int = 12 * 3600
    join_token_ttl_seconds: int = 4 * 3600
    # Sign-in attempts a minute per account, and per client address (looser: an office's PCs
    # often share one). Counted before the password is checked; see hub/services/login_limiter.
    login_attempts_per_minute: int = 10
    login_attempts_per_minute_per_address: int = 50
    # argon2 runs on this many threads of the hub's own (each check already uses up to four
    # native threads), with at most password_queue checks waiting behind them; one more is
    # answered 503 at once. One worker leaves the event loop, and so the media, a core of a
    # two-core machine; 16 waiting is about two seconds of checks.
    password_workers: int = 1
    password_queue: int = 16
    # Addresses the SFU announces in its ICE candidates (like mediasoup's announcedIp or
    # LiveKit's node_ip). Empty: aiortc's own host candidates. Tests use ("127.0.0.1",).
    ice_announced_ips: tuple[str, ...] = ()
    # Inclusive UDP port range of the SFU's host candidates ("40000-40199"), so that a firewall
    # can be opened for exactly those ports; one port per peer connection and address. None:
    # any port the OS picks.
    ice_udp_ports: tuple[int, int] | None = None
    # STUN servers for browsers and the SFU, e.g. "stun:stun.example.vn:3478". A turn:/turns:
    # URL here is handed to browsers only, with the credentials issued for turn_hosts.
    ice_servers: tuple[str, ...] = ()
    # coturn with `use-auth-secret` and `static-auth-secret=<turn_secret>`: the hub issues each
    # client a credential valid for at least turn_ttl_seconds (hub/services/ice_servers.py) for
    # every host below over UDP and TCP on turn_port and TLS on turn_tls_port. No static
    # password: coturn checks the HMAC against the shared secret and the expiry in the name.
    turn_hosts: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)
    turn_port: int = 3478
    turn_tls_port: int = 443
    turn_ttl_seconds: int = 3600
    timezone: str = "Asia/Ho_Chi_Minh"
    # Cookies are marked Secure whenever the request came over HTTPS; this forces it always.
    secure_cookies: bool = False
    # Behind a TLS-terminating proxy: believe its X-Forwarded-Proto about the browser's scheme
    # (Secure cookies, HSTS). Off by default, since a direct client could send the header too.
    trust_proxy: bool = False
    # Engine.IO heartbeat: the hub pings every socket this often and drops one that has not
    # answered within the timeout, so a site whose network dies is seen gone within their sum
    # (5 s; Engine.IO's own 25 + 20 s left a dead site "online" for up to 45 s). Browsers learn
    # both in the handshake and give up on a silent hub as fast, then reconnect. A site in a
    # hearing is seen sooner, by the room's ear on its media (rooms.room, 3 s). Tighter than
    # this, 3,400 sockets on a busy pair of nodes dropped en masse (bench presence at 1.5 s).
    signaling_ping_interval: float = 2.5
    signaling_ping_timeout: float = 2.5
    max_signaling_message_bytes: int = 64 * 1024
    max_sdp_bytes: int = 32 * 1024
    log_level: str = "INFO"
    # "packet": forward RTP packets, rewritten (the product). "frame": forward reassembled
    # encoded frames through aiortc's pack() (the earlier path, kept as the fallback and the
    # benchmark's comparison). "mediarelay": aiortc's stock decode-and-re-encode relay, kept
    # only as the benchmark's baseline.
    media_mode: str = "packet"
    # Media worker processes `serve` starts (0: rooms in the serving process, as in unit tests;
    # `tcd-hub serve`'s default is one per core, default_media_workers()). media_remote: also use
    # workers registered in Redis (`tcd-hub media-worker --redis-url`), placing rooms on any.
    media_workers: int = 0
    media_remote: bool = False
    # Participants a worker takes (placement compares each worker's load against it).
    media_worker_capacity: int = 200
    # The nice value a media worker moves itself to (-20..19; 0 leaves it alone). Below the
    # serving process's 0 the scheduler gives media first call on the CPU, so a storm on the
    # records side (sign-ins, searches, the database) takes what the hearings leave over: on two
    # cores, bench mixed's lowest frame rate during a storm went from 26 fps at 0 to 29.4 at
    # -10. Going below 0 needs CAP_SYS_NICE (root, or docker's cap_add: SYS_NICE); without it
    # the worker says so once and runs at its inherited value.
    media_worker_nice: int = -10
    # A site's link grade (hub.domain.link_grade): loss %, round trip and jitter (ms) at which
    # it turns poor and bad, over the median of the last link_grade_window samples. The
    # defaults and why: GradeThresholds.
    link_loss_poor_pct: float = 10.0
    link_loss_bad_pct: float = 15.0
    link_rtt_poor_ms: float = 400.0
    link_rtt_bad_ms: float = 800.0
    link_jitter_poor_ms: float = 30.0
    link_jitter_bad_ms: float = 50.0
    link_grade_window: int = 3
    # A site graded poor or bad this long raises a site_degraded alert (30 s: several samples,
    # so a passing burst of loss does not page anyone, yet well before a leader notices).
    alert_degraded_seconds: float = 30.0
    # GET /metrics: answered to loopback clients always; to anyone else only with
    # 'Authorization: Bearer <metrics_token>' (empty: loopback only). See hub/metrics.py.
    metrics_token: str = field(default="", repr=False)
    # Low-bandwidth mode (rooms/bandwidth.py): a site whose link the hub finds bad (the link_*
    # bad thresholds above, on the loss either way or the round trip) for this many seconds in
    # a row receives audio plus the spotlit site's video only (0: never by itself, only when
    # switched by hand) ...
    low_bandwidth_after_seconds: float = 6.0
    # ... and full video again after this many seconds under the poor thresholds (doubled, up
    # to 8 times, each time it falls back soon after: its link carried audio but not video).
    low_bandwidth_recover_seconds: float = 20.0
    # Recordings of hearings (hub/services/recordings.py): the folder their files go to (None:
    # data_dir/recordings; with media workers on other machines, storage they share with the
    # hub) and how long they are kept after they stop before the hub deletes them.
    recording_dir: Path | None = None
    recording_retention_days: int = 365

    @property
    def effective_recording_dir(self) -> Path:
        """Where recordings go, absolute (a media worker child may run in another folder)."""
        return (self.recording_dir or self.data_dir / "recordings").resolve()

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tcd-hub.sqlite3').resolve()}"

    def __post_init__(self) -> None:
        if self.ice_udp_ports is not None:
            low, high = self.ice_udp_ports
            if not 1 <= low <= high <= 65535:
                raise SettingsError(
                    f"ice_udp_ports: {low}-{high} is not a port range (1-65535, low <= high)"
                )
        turn_urls = [u for u in self.ice_servers if u.startswith(("turn:", "turns:"))]
        if (self.turn_hosts or turn_urls) and not self.turn_secret:
            raise SettingsError(
                "TURN is configured (turn_hosts or a turn: URL in ice_servers) without "
                "turn_secret (TCD_TURN_SECRET), coturn's static-auth-secret"
            )
        for host in self.turn_hosts:
            bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
            if not bare or any(c in bare for c in "/?@ ") or (":" in bare and bare == host):
                raise SettingsError(
                    f"turn_hosts: {host!r} is not a host name or address (no scheme or port: "
                    "those come from turn_port and turn_tls_port; IPv6 in brackets)"
                )
        if self.turn_ttl_seconds < 1:
            raise SettingsError(f"turn_ttl_seconds must be positive, not {self.turn_ttl_seconds}")
        if not self.presence_ttl_seconds >= 1:  # (NaN too)
            raise SettingsError(
                f"presence_ttl_seconds must be at least 1, not {self.presence_ttl_seconds}"
            )
        for name in ("signaling_ping_interval", "signaling_ping_timeout"):
            if not 0.5 <= getattr(self, name) <= 120:  # (NaN too)
                raise SettingsError(f"{name} must be 0.5 to 120 seconds, not {getattr(self, name)}")
        if not -20 <= self.media_worker_nice <= 19:
            raise SettingsError(
                f"media_worker_nice must be a nice value, -20 to 19, not {self.media_worker_nice}"
            )
        if self.media_workers < 0:
            raise SettingsError(f"media_workers must be 0 or more, not {self.media_workers}")
        for name in ("turn_port", "turn_tls_port"):
            value = getattr(self, name)
            if not 1 <= value <= 65535:
                raise SettingsError(f"{name}: {value} is not a port")
        if not 0 <= self.low_bandwidth_after_seconds <= 3600:  # (NaN too)
            raise SettingsError(
                "low_bandwidth_after_seconds must be 0 (never by itself) to 3600 seconds, not "
                f"{self.low_bandwidth_after_seconds}"
            )
        if not 0 < self.low_bandwidth_recover_seconds <= 3600:
            raise SettingsError(
                "low_bandwidth_recover_seconds must be more than 0 and at most 3600 seconds, "
                f"not {self.low_bandwidth_recover_seconds}"
            )
        try:
            self.grade_thresholds  # noqa: B018 (validates the link_* fields)
        except ValidationFailed as exc:
            which, problem = next(iter(exc.fields.items()))
            names = (
                "link_grade_window (TCD_LINK_GRADE_WINDOW)"
                if which == "window"
                else f"link_{which}_poor/bad (TCD_LINK_{which.upper()}_POOR_*, _BAD_*)"
            )
            raise SettingsError(f"{names}: {which} {problem}") from None
        if not 1 <= self.recording_retention_days <= 36500:
            raise SettingsError(
                "recording_retention_days must be 1 to 36500 days, not "
                f"{self.recording_retention_days}"
            )
        if not (math.isfinite(self.alert_degraded_seconds) and self.alert_degraded_seconds > 0):
            raise SettingsError(
                f"alert_degraded_seconds must be positive, not {self.alert_degraded_seconds}"
            )

    @property
    def grade_thresholds(self) -> GradeThresholds:
        """The link_* settings as the domain's GradeThresholds."""
        return GradeThresholds(
            loss_poor_pct=self.link_loss_poor_pct,
            loss_bad_pct=self.link_loss_bad_pct,
            rtt_poor_ms=self.link_rtt_poor_ms,
            rtt_bad_ms=self.link_rtt_bad_ms,
            jitter_poor_ms=self.link_jitter_poor_ms,
            jitter_bad_ms=self.link_jitter_bad_ms,
            window=self.link_grade_window,
        )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given non-None fields replaced (CLI flags over environment)."""
        clean = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **clean)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_port_range(value: str, name: str = "TCD_ICE_UDP_PORTS") -> tuple[int, int]:
    """'40000-40199' as (40000, 40199); a clear SettingsError naming `name` otherwise."""
    low, sep, high = value.strip().partition("-")
    try:
        if not sep:
            raise ValueError
        ports = (int(low), int(high))
    except ValueError:
        raise SettingsError(
            f"{name}: expected LOW-HIGH such as 40000-40199, not {value!r}"
        ) from None
    if not 1 <= ports[0] <= ports[1] <= 65535:
        raise SettingsError(f"{name}: {value!r} is not a port range (1-65535, low <= high)")
    return ports


def _number(
    env: Mapping[str, str], kwargs: dict[str, Any], name: str, kind: type, what: str
) -> None:
    """kwargs[name] from TCD_<NAME> when set, as `kind`; SettingsError naming it otherwise."""
    variable = f"TCD_{name.upper()}"
    if variable in env:
        try:
            kwargs[name] = kind(env[variable])
        except ValueError:
            raise SettingsError(f"{variable}: expected {what}, not {env[variable]!r}") from None


def default_media_workers() -> int:
    """`tcd-hub serve`'s media workers when none are asked for: one per core it may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from TCD_* environment variables (the one place that reads them)."""
    env = os.environ if env is None else env
    base = Settings()
    kwargs: dict[str, Any] = {}
    if "TCD_HOST" in env:
        kwargs["host"] = env["TCD_HOST"]
    if "TCD_PORT" in env:
        kwargs["port"] = int(env["TCD_PORT"])
    if "TCD_DATA_DIR" in env:
        kwargs["data_dir"] = Path(env["TCD_DATA_DIR"])
    if env.get("TCD_RECORDING_DIR", "").strip():
        kwargs["recording_dir"] = Path(env["TCD_RECORDING_DIR"])
    if "TCD_DATABASE_URL" in env:
        kwargs["database_url"] = env["TCD_DATABASE_URL"]
    if "TCD_REDIS_URL" in env:
        kwargs["redis_url"] = env["TCD_REDIS_URL"]
    for name in ("presence_ttl_seconds", "signaling_ping_interval", "signaling_ping_timeout"):
        _number(env, kwargs, name, float, "seconds such as 15")
    if "TCD_SECRET_KEY" in env:
        kwargs["secret_key"] = env["TCD_SECRET_KEY"]
    if "TCD_ICE_ANNOUNCED_IPS" in env:
        kwargs["ice_announced_ips"] = _split(env["TCD_ICE_ANNOUNCED_IPS"])
    if "TCD_ICE_SERVERS" in env:
        kwargs["ice_servers"] = _split(env["TCD_ICE_SERVERS"])
    if env.get("TCD_ICE_UDP_PORTS", "").strip():
        kwargs["ice_udp_ports"] = parse_port_range(env["TCD_ICE_UDP_PORTS"])
    if "TCD_TURN_HOSTS" in env:
        kwargs["turn_hosts"] = _split(env["TCD_TURN_HOSTS"])
    if "TCD_TURN_SECRET" in env:
        kwargs["turn_secret"] = env["TCD_TURN_SECRET"]
    for gone in ("TCD_TURN_USERNAME", "TCD_TURN_PASSWORD"):
        if env.get(gone, "").strip():
            raise SettingsError(
                f"{gone} is no longer read: set TCD_TURN_SECRET to coturn's static-auth-secret "
                "(use-auth-secret) and the hub issues short-lived TURN credentials"
            )
    if "TCD_SECURE_COOKIES" in env:
        kwargs["secure_cookies"] = env["TCD_SECURE_COOKIES"].lower() in ("1", "true", "yes")
    if "TCD_TRUST_PROXY" in env:
        kwargs["trust_proxy"] = env["TCD_TRUST_PROXY"].lower() in ("1", "true", "yes")
    if "TCD_MEDIA_MODE" in env:
        mode = env["TCD_MEDIA_MODE"].strip()
        if mode not in MEDIA_MODES:
            raise SettingsError(
                f"TCD_MEDIA_MODE must be one of {', '.join(MEDIA_MODES)}, not {mode!r}"
            )
        kwargs["media_mode"] = mode
    if "TCD_MEDIA_REMOTE" in env:
        kwargs["media_remote"] = env["TCD_MEDIA_REMOTE"].lower() in ("1", "true", "yes")
    for name in (
        "media_workers",
        "media_worker_capacity",
        "media_worker_nice",
        "turn_port",
        "turn_tls_port",
        "turn_ttl_seconds",
        "login_attempts_per_minute",
        "login_attempts_per_minute_per_address",
        "password_workers",
        "password_queue",
        "link_grade_window",
        "recording_retention_days",
    ):
        _number(env, kwargs, name, int, "a whole number")
    for name in (
        "link_loss_poor_pct",
        "link_loss_bad_pct",
        "link_rtt_poor_ms",
        "link_rtt_bad_ms",
        "link_jitter_poor_ms",
        "link_jitter_bad_ms",
        "alert_degraded_seconds",
    ):
        _number(env, kwargs, name, float, "a number")
    if "TCD_METRICS_TOKEN" in env:
        kwargs["metrics_token"] = env["TCD_METRICS_TOKEN"].strip()
    if "TCD_LOG_LEVEL" in env:
        kwargs["log_level"] = env["TCD_LOG_LEVEL"]
    for name in ("low_bandwidth_after_seconds", "low_bandwidth_recover_seconds"):
        variable = f"TCD_{name.upper()}"
        if variable in env:
            try:
                kwargs[name] = float(env[variable])
            except ValueError:
                raise SettingsError(
                    f"{variable}: expected seconds such as 6, not {env[variable]!r}"
                ) from None
    return replace(base, **kwargs)

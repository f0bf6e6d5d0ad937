"""One Socket.IO connection as signaling sees it: who holds it, on what grounds, its rate
limits, and the hearing it sits in."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

from hub.domain import hearing_roles
from hub.domain.hearing_roles import Control, Seat
from hub.services.live import HearingAccess, Principal
from rooms.backend import MediaParticipant, MediaRoom

SESSION_COOKIE = "tcd_session"
# join/leave: a burst of 5, then one every 2 s per connection.
JOIN_LEAVE_BURST, JOIN_LEAVE_PER_SECOND = 5, 0.5
# Everything else, unknown events included (ICE candidates come in bursts): 60, then 30/s.
EVENT_BURST, EVENT_PER_SECOND = 60, 30.0


class TokenBucket:
    """A rate limit: `burst` at once, refilled at `rate` per second."""

    def __init__(self, burst: float, rate: float) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token; False when empty."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def seat_of(principal: Principal, access: HearingAccess) -> Seat:
    """Where a principal sits in the hearing it was admitted to, for hub.domain.hearing_roles."""
    return Seat(
        role=hearing_roles.role_named(principal.role),
        host_side=access.host_side,
        chair=access.chair,
    )


def rights(principal: Principal) -> tuple[Any, ...]:
    """What a connection's rights were computed from: when any of it changes (another role,
    another office, the office moved), the connection must be opened again."""
    return (
        principal.user_id,
        principal.role,
        principal.office_id,
        principal.office_path,
        principal.hearing_id,
    )


@dataclass
class Connection:
    """A connected socket: its principal, the token it was opened with (re-checked while it
    stays open), its rate limits, and the hearing it sits in, if any."""

    sid: str
    principal: Principal
    token: str = field(repr=False)
    joins: TokenBucket = field(
        default_factory=lambda: TokenBucket(JOIN_LEAVE_BURST, JOIN_LEAVE_PER_SECOND)
    )
    events: TokenBucket = field(default_factory=lambda: TokenBucket(EVENT_BURST, EVENT_PER_SECOND))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    room: MediaRoom | None = None
    participant: MediaParticipant | None = None
    # Where it sits in that hearing (None: in no hearing).
    seat: Seat | None = None
    watching: bool = False
    # The seat the hub took from it while the socket stayed (its media path lost, its room's
    # worker gone): the hearing a later loss of the socket is site_offline in, until it sits
    # again or leaves of its own accord.
    lost_seat: MediaParticipant | None = None
    # Revoked: a disconnect is under way; nothing more is done for it.
    revoked: bool = False

    @property
    def moderator(self) -> bool:
        """Moderates the hearing it sits in (admit, mute, remove, ...)."""
        return self.seat is not None and hearing_roles.moderates(self.seat)

    def may(self, control: Control) -> bool:
        """May do `control` to the hearing it sits in."""
        return self.seat is not None and hearing_roles.may_control(self.seat, control)

    def seat_in(self, room: MediaRoom, participant: MediaParticipant, seat: Seat) -> None:
        """Now sitting in `room` as `participant`."""
        self.room, self.participant, self.seat = room, participant, seat
        self.lost_seat = None

    def unseat(self) -> None:
        """In no hearing any more."""
        self.room = self.participant = None
        self.seat = None


def token_from(environ: dict[str, Any], auth: Any) -> str | None:
    """The token a connection presents: auth.token, else the sign-in cookie."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        return str(auth["token"])
    cookie_header = environ.get("HTTP_COOKIE", "")
    if cookie_header:
        try:
            cookies = SimpleCookie(cookie_header)
        except CookieError:
            return None
        morsel = cookies.get(SESSION_COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value
    return None

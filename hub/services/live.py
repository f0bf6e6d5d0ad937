"""The hub side of live hearings: who may join which hearing, and the session log.

signaling/ and rooms/ call this; it knows nothing of Socket.IO or WebRTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Principal:
    """Whoever holds a token: a signed-in user, or a join token's holder (one hearing/office)."""

    user_id: int | None
    username: str
    display_name: str
    role: str  # leader | staff | operator | admin | site
    office_id: int
    office_name: str
    # Set for join tokens: the one hearing the token covers.
    hearing_id: int | None = None


@dataclass(frozen=True)
class HearingAccess:
    """What a participant may know about the hearing it joins."""

    hearing_id: int
    title: str
    status: str  # scheduled | live | ended | cancelled
    host_office_id: int
    # office id -> office name, host included
    site_offices: dict[int, str] = field(default_factory=dict)
    chair_user_id: int | None = None


class LiveGateway:
    """Port used by signaling: authenticate tokens, admit to hearings, append to the session log.

    Implemented over the database in this module (see hub.services.live_impl once written).
    Methods raise hub.domain.errors.Unauthorized / NotFound / Conflict with clear messages.
    """

    async def authenticate(self, token: str) -> Principal:
        """Resolve a sign-in token or a join token; Unauthorized if invalid or expired."""
        raise NotImplementedError

    async def admit(self, principal: Principal, hearing_id: int) -> HearingAccess:
        """Check the principal may join this hearing; NotFound if not (outside scope, not invited,
        or a join token for another hearing); Conflict if the hearing is ended or cancelled."""
        raise NotImplementedError

    async def record(
        self,
        hearing_id: int,
        kind: str,
        *,
        office_id: int | None = None,
        user_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an event to the hearing's session log (participant_joined, participant_left,
        participant_dropped, media_started, ...)."""
        raise NotImplementedError

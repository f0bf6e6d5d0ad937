"""A hearing's guests: people invited by name and agency (the inter-agency working group:
inspectorate, the People's Committee office, police, natural resources and environment, the
Party's internal affairs and mass mobilisation boards, the Fatherland Front), not offices'
bridge points. Each joins from a browser with a personal link, waits to be admitted, and sees
the live hearing only; the link lives as long as the hearing is open.

In a live room a guest takes a seat of its own: its participant's office id is the negative of
its guest id (guest_seat), so that the room's admissions, kept per office id, keep each guest
apart from every office and from every other guest. No office row has a negative id.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.domain.errors import ValidationFailed
from hub.domain.hearings import HearingStatus


class AgencyKind(enum.StrEnum):
    """The agencies a working group draws on (Tổ công tác tiếp công dân), and any other."""

    INSPECTORATE = "inspectorate"  # Thanh tra
    PEOPLES_COMMITTEE_OFFICE = "peoples_committee_office"  # Văn phòng UBND
    POLICE = "police"  # Công an
    NATURAL_RESOURCES = "natural_resources"  # Sở Tài nguyên và Môi trường
    PARTY_INTERNAL_AFFAIRS = "party_internal_affairs"  # Ban Nội chính
    PARTY_MASS_MOBILISATION = "party_mass_mobilisation"  # Ban Dân vận
    FATHERLAND_FRONT = "fatherland_front"  # Ủy ban MTTQ Việt Nam
    OTHER = "other"


# The role a guest's principal carries: no account, no Role (hub.domain.users), no records.
GUEST_ROLE = "guest"
# Prefix of a guest link's token (sign-in tokens are bare token_urlsafe, which has no ".").
GUEST_TOKEN_PREFIX = "g."
# A hearing nobody ends still closes its guests' links this long after its scheduled end.
LINK_GRACE = timedelta(hours=12)

MAX_NAME, MAX_AGENCY, MAX_POSITION = 200, 200, 200


@dataclass(frozen=True)
class GuestDraft:
    """A guest to invite, checked on construction."""

    name: str
    agency: str
    agency_kind: AgencyKind
    position: str = ""

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not self.name.strip() or len(self.name) > MAX_NAME:
            errors["name"] = f"must be 1-{MAX_NAME} characters"
        if not self.agency.strip() or len(self.agency) > MAX_AGENCY:
            errors["agency"] = f"must be 1-{MAX_AGENCY} characters"
        if len(self.position) > MAX_POSITION:
            errors["position"] = f"must be at most {MAX_POSITION} characters"
        if errors:
            raise ValidationFailed("invalid guest", errors)


class LinkState(enum.StrEnum):
    """Where a guest's link stands."""

    NONE = "none"  # no link issued yet
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"  # the hearing ended, was cancelled, or is long past its end


def link_state(
    *,
    issued: bool,
    revoked: bool,
    hearing_status: str,
    hearing_ends_at: datetime,
    at: datetime,
) -> LinkState:
    """A guest link's state: expiry (the hearing is over) comes before revocation, so that a
    guest whose link was both revoked and outlived is told the hearing is over."""
    if hearing_status in (HearingStatus.ENDED, HearingStatus.CANCELLED):
        return LinkState.EXPIRED
    if at >= hearing_ends_at + LINK_GRACE:
        return LinkState.EXPIRED
    if revoked:
        return LinkState.REVOKED
    return LinkState.ACTIVE if issued else LinkState.NONE


def guest_seat(guest_id: int) -> int:
    """The office id a guest's participant carries in a live room (see the module's note)."""
    if guest_id <= 0:
        raise ValueError("guest ids are positive")
    return -guest_id


def guest_of_seat(office_id: int | None) -> int | None:
    """The guest id behind a room participant's office id, or None for an office's site."""
    return -office_id if office_id is not None and office_id < 0 else None


def is_guest_seat(office_id: int | None) -> bool:
    """Whether a room participant's office id is a guest's seat."""
    return office_id is not None and office_id < 0

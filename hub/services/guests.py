"""A hearing's guests (hub.domain.guests): invited by the host side's staff, each given a
personal link whose token is shown once and kept only as its SHA-256, revoked or removed; and
the one check every use of a link makes (the guest page, the signaling join, the revalidation
of an open socket)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain.errors import Conflict, NotFound, Unauthorized
from hub.domain.guests import GUEST_TOKEN_PREFIX, GuestDraft, LinkState, link_state
from hub.domain.sessionlog import LogKind
from hub.domain.users import Action
from hub.services import hearings, sessionlog
from hub.services.access import Actor
from hub.storage.tables import GuestRow, HearingRow, OfficeRow

# What a guest is told when its link no longer opens the hearing (page and signaling alike).
EXPIRED = "this guest link has expired: the hearing is over"
REVOKED = "this guest link was revoked by the hearing's staff"
INVALID = "this guest link is not valid (mistyped, replaced by a newer link, or removed)"


def token_hash(token: str) -> str:
    """What is kept of a guest link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_guest_token(token: str) -> bool:
    """Whether a token is meant as a guest link's (it may still be forged or stale)."""
    return token.startswith(GUEST_TOKEN_PREFIX)


class LinkRefused(Unauthorized):
    """A guest link that opens nothing: `reason` says why ("expired", "revoked", "invalid")."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class GuestLink:
    """A guest's link as it was just issued: the token is never shown again."""

    guest: GuestRow
    token: str


def state_of(guest: GuestRow, hearing: HearingRow) -> LinkState:
    """The guest's link state now."""
    return link_state(
        issued=guest.token_hash is not None,
        revoked=guest.revoked_at is not None,
        hearing_status=hearing.status,
        hearing_ends_at=hearing.ends_at,
        at=now(),
    )


def view(guest: GuestRow, hearing: HearingRow) -> dict[str, Any]:
    """A guest as the API and the staff page show it (never its token or the token's hash)."""
    return {
        "id": guest.id,
        "hearing_id": guest.hearing_id,
        "name": guest.name,
        "agency": guest.agency,
        "agency_kind": guest.agency_kind,
        "position": guest.position,
        "link_state": str(state_of(guest, hearing)),
        "link_issued_at": local_iso(guest.link_issued_at),
        "revoked_at": local_iso(guest.revoked_at),
        "admitted": guest.admitted_at is not None,
        "created_at": local_iso(guest.created_at),
    }


def log_detail(guest: GuestRow) -> dict[str, Any]:
    """What the session log keeps of a guest in its entries (it outlives the guest's row)."""
    return {"guest_id": guest.id, "guest_name": guest.name, "agency": guest.agency}


async def _hosted(session: AsyncSession, actor: Actor, hearing_id: int) -> HearingRow:
    """A hearing whose guests the actor manages: the host side's, with EDIT_HEARINGS."""
    actor.require(Action.EDIT_HEARINGS)
    row = await hearings.get(session, actor, hearing_id)
    host = await session.get(OfficeRow, row.host_office_id)
    assert host is not None  # foreign key
    if not actor.sees(host.path):
        # The sites of a hearing see it, but only its host side invites people to it.
        raise NotFound(f"hearing {hearing_id} not found")
    return row


async def _guest(session: AsyncSession, hearing: HearingRow, guest_id: int) -> GuestRow:
    guest = await session.get(GuestRow, guest_id)
    if guest is None or guest.hearing_id != hearing.id:
        raise NotFound(f"guest {guest_id} not found in hearing {hearing.id}")
    return guest


def _open(hearing: HearingRow) -> None:
    """Conflict unless the hearing can still take guests (its links would be born expired)."""
    if state_of_hearing(hearing) is LinkState.EXPIRED:
        raise Conflict(f"the hearing is {hearing.status}; its guests' links have expired")


def state_of_hearing(hearing: HearingRow) -> LinkState:
    """ACTIVE while the hearing's links may work, EXPIRED once it is over."""
    return link_state(
        issued=True,
        revoked=False,
        hearing_status=hearing.status,
        hearing_ends_at=hearing.ends_at,
        at=now(),
    )


async def add(
    session: AsyncSession, actor: Actor, hearing_id: int, draft: GuestDraft
) -> tuple[GuestRow, HearingRow]:
    """Invite a guest to a hearing (no link yet: issue_link makes one)."""
    hearing = await _hosted(session, actor, hearing_id)
    _open(hearing)
    guest = GuestRow(
        hearing_id=hearing.id,
        name=draft.name.strip(),
        agency=draft.agency.strip(),
        agency_kind=str(draft.agency_kind),
        position=draft.position.strip(),
        created_by=actor.user_id,
        created_at=now(),
    )
    session.add(guest)
    await session.flush()
    await sessionlog.append(
        session,
        hearing.id,
        LogKind.GUEST_INVITED,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail={**log_detail(guest), "agency_kind": guest.agency_kind},
    )
    return guest, hearing


async def list_(
    session: AsyncSession, actor: Actor, hearing_id: int
) -> tuple[list[GuestRow], HearingRow]:
    """A hearing's guests, in the order they were invited (whoever sees the hearing)."""
    hearing = await hearings.get(session, actor, hearing_id)
    rows = await session.execute(
        select(GuestRow).where(GuestRow.hearing_id == hearing.id).order_by(GuestRow.id)
    )
    return list(rows.scalars()), hearing


async def get(
    session: AsyncSession, actor: Actor, hearing_id: int, guest_id: int
) -> tuple[GuestRow, HearingRow]:
    """One guest of a hearing the actor manages."""
    hearing = await _hosted(session, actor, hearing_id)
    return await _guest(session, hearing, guest_id), hearing


async def issue_link(
    session: AsyncSession, actor: Actor, hearing_id: int, guest_id: int
) -> tuple[GuestLink, HearingRow]:
    """A new personal link for a guest; any earlier link of the guest stops working (and a
    revoked guest is invited again)."""
    hearing = await _hosted(session, actor, hearing_id)
    _open(hearing)
    guest = await _guest(session, hearing, guest_id)
    token = GUEST_TOKEN_PREFIX + secrets.token_urlsafe(32)
    guest.token_hash = token_hash(token)
    guest.link_issued_at = now()
    guest.revoked_at = None
    await sessionlog.append(
        session,
        hearing.id,
        LogKind.GUEST_LINK_ISSUED,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail=log_detail(guest),
    )
    await session.flush()
    return GuestLink(guest, token), hearing


async def revoke(
    session: AsyncSession, actor: Actor, hearing_id: int, guest_id: int
) -> tuple[GuestRow, HearingRow]:
    """The guest's link stops working now (its page says it was revoked); a live guest leaves
    the hearing at the next revalidation, which the caller pokes after the commit."""
    hearing = await _hosted(session, actor, hearing_id)
    guest = await _guest(session, hearing, guest_id)
    if guest.revoked_at is None:
        guest.revoked_at = now()
        guest.admitted_at = None
        await sessionlog.append(
            session,
            hearing.id,
            LogKind.GUEST_REVOKED,
            user_id=actor.user_id,
            office_id=actor.office_id,
            detail=log_detail(guest),
        )
        await session.flush()
    return guest, hearing


async def remove(session: AsyncSession, actor: Actor, hearing_id: int, guest_id: int) -> None:
    """Take a guest off the hearing; its link dies with it (the log keeps who it was)."""
    hearing = await _hosted(session, actor, hearing_id)
    guest = await _guest(session, hearing, guest_id)
    await sessionlog.append(
        session,
        hearing.id,
        LogKind.GUEST_REMOVED,
        user_id=actor.user_id,
        office_id=actor.office_id,
        detail=log_detail(guest),
    )
    await session.delete(guest)
    await session.flush()


# --- using a link ----------------------------------------------------------------------------


async def by_tokens(
    session: AsyncSession, tokens: Collection[str]
) -> dict[str, tuple[GuestRow, HearingRow]]:
    """The guests (with their hearings) that guest tokens name, in one query; a token that
    names none is absent."""
    hashes = {token_hash(t): t for t in tokens if looks_like_guest_token(t)}
    if not hashes:
        return {}
    rows = await session.execute(
        select(GuestRow, HearingRow)
        .join(HearingRow, HearingRow.id == GuestRow.hearing_id)
        .where(GuestRow.token_hash.in_(hashes))
    )
    return {
        hashes[guest.token_hash]: (guest, hearing)
        for guest, hearing in rows.tuples()
        if guest.token_hash is not None
    }


def check_link(found: tuple[GuestRow, HearingRow] | None) -> tuple[GuestRow, HearingRow]:
    """The guest and hearing a link opens, or LinkRefused saying why it does not."""
    if found is None:
        raise LinkRefused("invalid", INVALID)
    guest, hearing = found
    state = state_of(guest, hearing)
    if state is LinkState.EXPIRED:
        raise LinkRefused("expired", EXPIRED)
    if state is LinkState.REVOKED:
        raise LinkRefused("revoked", REVOKED)
    return guest, hearing


async def resolve(session: AsyncSession, token: str) -> tuple[GuestRow, HearingRow]:
    """check_link() of one token."""
    return check_link((await by_tokens(session, [token])).get(token))

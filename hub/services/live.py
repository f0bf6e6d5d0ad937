"""The hub side of live hearings: who may join which hearing, and the session log.

signaling/ and rooms/ call this; it knows nothing of Socket.IO or WebRTC.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso
from hub.domain import hearing_roles
from hub.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from hub.domain.guests import GUEST_ROLE, guest_of_seat, guest_seat
from hub.domain.hearings import HearingStatus
from hub.domain.offices import path_in_scope
from hub.services import admissions, auth, guests, hearings, sessionlog
from hub.services.access import Actor
from hub.storage.db import Database
from hub.storage.tables import GuestRow, HearingRow, OfficeRow, PetitionRow, UserRow


@dataclass(frozen=True)
class Principal:
    """Whoever holds a token: a signed-in user, a join token's holder (one hearing/office), or
    a guest with its personal link (one hearing; role "guest", office_id its seat: the negative
    of its guest id, office_name its agency, display_name its name; see hub.domain.guests)."""

    user_id: int | None
    username: str
    display_name: str
    role: str  # leader | staff | operator | admin | site
    office_id: int
    office_name: str
    # Set for join tokens: the one hearing the token covers.
    hearing_id: int | None = None
    # Materialised path of office_id ('/1/5/'): whose sites an operator may watch.
    office_path: str = ""

    @property
    def guest(self) -> bool:
        """A guest's link, not an office's or a user's token."""
        return self.role == GUEST_ROLE


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
    # The principal's office is the host office or an office above it.
    host_side: bool = False
    # The principal is the hearing's chair, sitting at the chair's own office.
    chair: bool = False


@dataclass(frozen=True)
class PetitionHeard:
    """A petition marked as being heard now (or no longer) in a live hearing."""

    petition_id: int
    case_code: str
    heard_from: str | None  # ISO 8601, Vietnam's offset
    heard_to: str | None


class HearingNotifier(Protocol):
    """Port through which the records side tells live rooms that a hearing's status changed
    (a hearing started, ended or cancelled through the REST API)."""

    async def status_changed(self, hearing_id: int, status: str) -> None:
        """Announce the status to the hearing's participants; close its room when it is over."""

    async def grounds_changed(self) -> None:
        """A sign-in ended or a hearing's sites changed: re-check every open connection's
        grounds now (a revocation reaches live sockets, not only the next request)."""


class LiveGateway:
    """Port used by signaling: authenticate tokens, admit to hearings, append to the session log.

    DatabaseLiveGateway below is the implementation; tests may substitute a fake at this seam.
    Methods raise hub.domain.errors.Unauthorized / NotFound / Conflict with clear messages.
    """

    async def authenticate(self, token: str) -> Principal:
        """Resolve a sign-in token or a join token; Unauthorized if invalid or expired."""
        raise NotImplementedError

    async def authenticate_many(self, tokens: Sequence[str]) -> dict[str, Principal | DomainError]:
        """authenticate() for many tokens at once (re-checking every open connection): each
        token's Principal, or the DomainError authenticate() would raise for it. Raises only
        when nothing could be decided (the database is away). This fallback asks one by one;
        the database gateway resolves a whole batch in a few queries."""
        outcomes: dict[str, Principal | DomainError] = {}
        for token in tokens:
            if token not in outcomes:
                try:
                    outcomes[token] = await self.authenticate(token)
                except DomainError as exc:
                    outcomes[token] = exc
        return outcomes

    async def admit(self, principal: Principal, hearing_id: int) -> HearingAccess:
        """Check the principal may join this hearing; NotFound if not (outside scope, not invited,
        or a join token for another hearing); Conflict if the hearing is ended or cancelled."""
        raise NotImplementedError

    async def admit_many(
        self, hearing_id: int, principals: Sequence[Principal]
    ) -> list[HearingAccess | DomainError]:
        """admit() for many principals in one hearing, in order: each one's access, or the
        DomainError admit() would raise for it. Raises only when nothing could be decided.
        This fallback asks one by one; the database gateway loads the hearing once."""
        outcomes: list[HearingAccess | DomainError] = []
        for principal in principals:
            try:
                outcomes.append(await self.admit(principal, hearing_id))
            except DomainError as exc:
                outcomes.append(exc)
        return outcomes

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

    async def admitted_offices(self, hearing_id: int) -> set[int]:
        """The offices admitted to the hearing (by a moderator, or by joining admitted) that are
        still admitted: kept across restarts, cleared by the waiting room, a removal or the
        hearing's end. This fallback keeps none (the rooms remember admissions themselves)."""
        return set()

    async def set_status(self, principal: Principal, hearing_id: int, status: str) -> str:
        """Start ("live") or end ("ended") a hearing as the principal; returns the new status.
        Forbidden/NotFound/Conflict as the hearings service decides."""
        raise NotImplementedError

    async def mark_petition(
        self, principal: Principal, hearing_id: int, petition_id: int, action: str
    ) -> PetitionHeard:
        """Mark a petition heard now: "start" sets heard_from, "stop" sets heard_to."""
        raise NotImplementedError


class DatabaseLiveGateway(LiveGateway):
    """LiveGateway over the hub's database: sessions, join tokens, hearing scope, session log."""

    def __init__(self, db: Database, secret_key: str) -> None:
        self.db = db
        self.secret_key = secret_key

    async def authenticate(self, token: str) -> Principal:
        """Resolve a sign-in token or a join token; Unauthorized if invalid or expired."""
        outcome = (await self.authenticate_many([token]))[token]
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def authenticate_many(self, tokens: Sequence[str]) -> dict[str, Principal | DomainError]:
        """Resolve many tokens in one transaction of at most three queries (see LiveGateway):
        every sign-in's session with its user and office in one, then the join tokens'
        issuers and offices not already loaded."""
        outcomes: dict[str, Principal | DomainError] = {}
        sign_ins: dict[str, str] = {}  # token -> its session's key
        joins: dict[str, auth.JoinClaims] = {}
        guest_links: set[str] = set()
        for token in tokens:
            if token in outcomes or token in sign_ins or token in joins or token in guest_links:
                continue
            if not token:
                outcomes[token] = Unauthorized("no token: pass auth.token or sign in first")
            elif guests.looks_like_guest_token(token):
                guest_links.add(token)
            elif token.startswith(auth.JOIN_TOKEN_PREFIX):
                try:
                    joins[token] = auth.verify_join_token(self.secret_key, token)
                except Unauthorized as exc:
                    outcomes[token] = exc
            else:
                sign_ins[token] = auth.session_key(token)
        if not sign_ins and not joins and not guest_links:
            return outcomes
        issuer_keys = {c.issuer_session for c in joins.values() if c.issuer_session is not None}
        async with self.db.transaction() as session:
            invited = await guests.by_tokens(session, guest_links)
            found = await auth.sessions_by_key(session, {*sign_ins.values(), *issuer_keys})
            users = {user.id: user for _row, user, _office in found.values() if user}
            offices = {office.id: office for _row, _user, office in found.values() if office}
            wanted = {c.user_id for c in joins.values() if c.user_id is not None}
            users.update(await _rows_by_id(session, UserRow, wanted - users.keys()))
            wanted = {c.office_id for c in joins.values()}
            offices.update(await _rows_by_id(session, OfficeRow, wanted - offices.keys()))
        for token, key in sign_ins.items():
            row, user, office = found.get(key, (None, None, None))
            try:
                auth.live_session(row)
                user = auth.active_account(user)
                assert office is not None  # foreign key
                actor = auth.actor_of(user, office)
            except DomainError as exc:
                outcomes[token] = exc
                continue
            outcomes[token] = Principal(
                user_id=actor.user_id,
                username=actor.username,
                display_name=actor.display_name,
                role=str(actor.role),
                office_id=actor.office_id,
                office_name=actor.office_name,
                office_path=actor.office_path,
            )
        for token, claims in joins.items():
            issuer_row = found.get(claims.issuer_session or "", (None, None, None))[0]
            try:
                issuer = auth.check_join_issuer(
                    claims,
                    users.get(claims.user_id) if claims.user_id is not None else None,
                    issuer_row,
                )
                outcomes[token] = _join_principal(claims, offices.get(claims.office_id), issuer)
            except DomainError as exc:
                outcomes[token] = exc
        for token in guest_links:
            try:
                guest, _hearing = guests.check_link(invited.get(token))
            except DomainError as exc:
                outcomes[token] = exc
                continue
            outcomes[token] = _guest_principal(guest)
        return outcomes

    async def admit(self, principal: Principal, hearing_id: int) -> HearingAccess:
        """Check the principal may join this hearing (see LiveGateway.admit)."""
        (outcome,) = await self.admit_many(hearing_id, [principal])
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def admit_many(
        self, hearing_id: int, principals: Sequence[Principal]
    ) -> list[HearingAccess | DomainError]:
        """admit() for many principals in one transaction: the hearing, its host and sites
        once, the principals' offices in one query (see LiveGateway.admit_many)."""
        outcomes: list[HearingAccess | DomainError | None] = [
            NotFound(f"hearing {hearing_id} not found (the join token is for another)")
            if p.hearing_id is not None and p.hearing_id != hearing_id
            else None
            for p in principals
        ]
        pending = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if not pending:
            return [o for o in outcomes if o is not None]
        async with self.db.transaction() as session:
            hearing = await session.get(HearingRow, hearing_id)
            if hearing is None:
                for i in pending:
                    outcomes[i] = NotFound(f"hearing {hearing_id} not found")
                return [o for o in outcomes if o is not None]
            host = await session.get(OfficeRow, hearing.host_office_id)
            assert host is not None
            # The hearing's sites as they are now (a join token names its office, not a right
            # to the seat), and only those under the host office: an invitation written before
            # sites were scoped admits no office elsewhere in the tree.
            sites = await hearings.lawful_sites(session, hearing)
            sites[host.id] = host
            own = await _rows_by_id(session, OfficeRow, {principals[i].office_id for i in pending})
            chair_user = None
            if hearing.chair_user_id is not None and any(
                principals[i].user_id == hearing.chair_user_id for i in pending
            ):
                chair_user = await session.get(UserRow, hearing.chair_user_id)
        for i in pending:
            principal = principals[i]
            try:
                outcomes[i] = _hearing_access(
                    principal, hearing, host, sites, own.get(principal.office_id), chair_user
                )
            except DomainError as exc:
                outcomes[i] = exc
        return [o for o in outcomes if o is not None]

    async def record(
        self,
        hearing_id: int,
        kind: str,
        *,
        office_id: int | None = None,
        user_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an event to the hearing's session log in its own transaction, with what it
        does to the site's admission (hub.services.admissions)."""
        async with self.db.transaction() as session:
            logged_office, logged = office_id, detail
            guest_id = guest_of_seat(office_id)
            if guest_id is not None:
                # A guest is no office: the entry names the guest (its row may be gone).
                guest = await session.get(GuestRow, guest_id)
                who = guests.log_detail(guest) if guest is not None else {"guest_id": guest_id}
                logged_office, logged = None, {**(detail or {}), **who}
            await sessionlog.append_site_entry(
                session, hearing_id, kind, office_id=logged_office, user_id=user_id, detail=logged
            )
            await admissions.follow(session, hearing_id, kind, office_id, detail)

    async def admitted_offices(self, hearing_id: int) -> set[int]:
        """The offices admitted to the hearing, as the database keeps them."""
        async with self.db.transaction() as session:
            return await admissions.admitted_offices(session, hearing_id)

    async def set_status(self, principal: Principal, hearing_id: int, status: str) -> str:
        """Start or end a hearing through the hearings service, as the principal's user."""
        target = HearingStatus(status)
        if target not in (HearingStatus.LIVE, HearingStatus.ENDED):
            raise ValidationFailed("invalid status", {"status": "must be live or ended"})
        async with self.db.transaction() as session:
            actor = await _actor(session, principal)
            row = await hearings.set_status(session, actor, hearing_id, target)
            return str(row.status)

    async def mark_petition(
        self, principal: Principal, hearing_id: int, petition_id: int, action: str
    ) -> PetitionHeard:
        """Mark heard_from ("start") or heard_to ("stop") now, through the hearings service."""
        if action not in ("start", "stop"):
            raise ValidationFailed("invalid action", {"action": "must be start or stop"})
        async with self.db.transaction() as session:
            actor = await _actor(session, principal)
            link = await hearings.link_petition(
                session,
                actor,
                hearing_id,
                petition_id,
                heard_from="now" if action == "start" else None,
                heard_to="now" if action == "stop" else None,
            )
            petition = await session.get(PetitionRow, petition_id)
            assert petition is not None  # link_petition checked it
            return PetitionHeard(
                petition_id=petition.id,
                case_code=petition.case_code,
                heard_from=local_iso(link.heard_from),
                heard_to=local_iso(link.heard_to),
            )


async def _actor(session: AsyncSession, principal: Principal) -> Actor:
    """The Actor of a principal's user (a site token without a user may not act)."""
    if principal.user_id is None:
        raise Forbidden("a site token cannot do this; sign in as a leader")
    user = await session.get(UserRow, principal.user_id)
    if user is None or not user.active:
        raise Unauthorized("account disabled")
    return await auth.actor_for_user(session, user)


def _join_principal(
    claims: auth.JoinClaims, office: OfficeRow | None, user: UserRow | None
) -> Principal:
    """The holder of a join token whose issuer still holds (auth.check_join_issuer)."""
    if office is None:
        raise Unauthorized("join token names an office that no longer exists")
    return Principal(
        user_id=user.id if user else None,
        username=user.username if user else f"site:{office.code}",
        display_name=user.display_name if user else office.name,
        role=user.role if user else "site",
        office_id=office.id,
        office_name=office.name,
        hearing_id=claims.hearing_id,
        office_path=office.path,
    )


def _guest_principal(guest: GuestRow) -> Principal:
    """The holder of a guest's link that still opens its hearing (guests.check_link)."""
    return Principal(
        user_id=None,
        username=f"guest:{guest.id}",
        display_name=guest.name,
        role=GUEST_ROLE,
        office_id=guest_seat(guest.id),
        office_name=guest.agency,
        hearing_id=guest.hearing_id,
    )


def _hearing_access(
    principal: Principal,
    hearing: HearingRow,
    host: OfficeRow,
    sites: dict[int, OfficeRow],
    own: OfficeRow | None,
    chair_user: UserRow | None,
) -> HearingAccess:
    """admit()'s decision for one principal once the hearing's rows are loaded: its access,
    or NotFound / Conflict naming why not."""
    hearing_id = hearing.id
    if principal.guest:
        # Its link names this hearing (admit_many checked it) and still holds (authenticate):
        # a seat of its own, never on the host side.
        if hearing.status in (HearingStatus.ENDED, HearingStatus.CANCELLED):
            raise Conflict(f"hearing {hearing_id} is {hearing.status}; it cannot be joined")
        return HearingAccess(
            hearing_id=hearing.id,
            title=hearing.title,
            status=hearing.status,
            host_office_id=hearing.host_office_id,
            site_offices={principal.office_id: principal.office_name},
            chair_user_id=hearing.chair_user_id,
        )
    above = own is not None and path_in_scope(own.path, host.path)
    if principal.hearing_id is None:
        # A sign-in token: the user must be allowed to run hearings.
        if not hearing_roles.may_join(hearing_roles.role_named(principal.role)):
            raise NotFound(f"hearing {hearing_id} not found")
    # At a site office or the host, or at an office above the host (observers from
    # the centre), whether by sign-in or by join token.
    if principal.office_id not in sites and not above:
        if principal.hearing_id is not None:
            # The token's holder knows the hearing exists: say why it no longer opens.
            raise NotFound(
                f"{principal.office_name or 'this office'} is no longer a site of "
                f"hearing {hearing_id}"
            )
        raise NotFound(f"hearing {hearing_id} not found")
    chair = False
    if principal.user_id is not None and principal.user_id == hearing.chair_user_id:
        # A join token carries its issuer's user: the chair issuing a kiosk's token
        # for another office does not make that kiosk the chair.
        chair = chair_user is not None and chair_user.office_id == principal.office_id
    if hearing.status in (HearingStatus.ENDED, HearingStatus.CANCELLED):
        raise Conflict(f"hearing {hearing_id} is {hearing.status}; it cannot be joined")
    return HearingAccess(
        hearing_id=hearing.id,
        title=hearing.title,
        status=hearing.status,
        host_office_id=hearing.host_office_id,
        site_offices={o.id: o.name for o in sites.values()},
        chair_user_id=hearing.chair_user_id,
        host_side=above,
        chair=chair,
    )


Row = TypeVar("Row", UserRow, OfficeRow)


async def _rows_by_id(
    session: AsyncSession, table: type[Row], ids: Collection[int]
) -> dict[int, Row]:
    """Rows of one table by id, in one query (none when there is nothing to look up)."""
    if not ids:
        return {}
    rows = await session.execute(select(table).where(table.id.in_(ids)))
    return {row.id: row for row in rows.scalars()}

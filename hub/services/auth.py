"""Sign-in: the rate-limited password check, sessions with expiry and CSRF tokens, join tokens.

Passwords are hashed and checked in hub.services.passwords (off the event loop); attempts are
counted in hub.services.login_limiter."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.clock import now
from hub.domain.errors import Unauthorized
from hub.domain.users import Role
from hub.services.access import Actor
from hub.services.login_limiter import LoginRateLimiter
from hub.services.passwords import DUMMY_HASH, PasswordWorkers, hash_password, verify_password
from hub.storage.db import Database
from hub.storage.tables import OfficeRow, SessionRow, UserRow

__all__ = ["hash_password", "verify_password"]  # kept importable from here for their callers

WRONG = "wrong username or password"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """A new session: the bearer/cookie token and the CSRF token that goes with it."""

    token: str
    csrf_token: str
    expires_at: datetime
    actor: Actor


async def actor_for_user(session: AsyncSession, user: UserRow) -> Actor:
    """The Actor for a user row (loads its office)."""
    office = await session.get(OfficeRow, user.office_id)
    assert office is not None  # foreign key
    return actor_of(user, office)


def actor_of(user: UserRow, office: OfficeRow) -> Actor:
    """The Actor for a user row and its office row, both loaded."""
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        office_id=office.id,
        office_name=office.name,
        office_path=office.path,
    )


async def _active_account(session: AsyncSession, username: str) -> UserRow | None:
    user = (
        await session.execute(select(UserRow).where(UserRow.username == username))
    ).scalar_one_or_none()
    return user if user is not None and user.active else None


async def sign_in(
    database: Database,
    limiter: LoginRateLimiter,
    passwords: PasswordWorkers,
    username: str,
    password: str,
    address: str,
    ttl_seconds: int,
) -> SignIn:
    """The hub's sign-in: Unauthorized with one message for any wrong name or password,
    RateLimited (429) past the limiter, PasswordWorkersBusy (503) when the pool is full.

    The limiter's slot is taken first, so a refused attempt costs neither a query nor a hash.
    The password is checked on the bounded pool outside any transaction (a storm must not hold
    database connections while it waits); an unknown or disabled account is checked against a
    dummy hash, so its answer takes as long as a real account's.
    """
    await limiter.reserve(username, address)
    # The pool's place is claimed before the query, so a full pool answers before any work.
    async with passwords.place() as place:
        async with database.transaction() as session:
            user = await _active_account(session, username)
            user_id, stored = (user.id, user.password_hash) if user else (None, DUMMY_HASH)
        matches = await place.verify(stored, password)
    if user_id is None or not matches:
        raise Unauthorized(WRONG)
    await limiter.succeeded(username)
    async with database.transaction() as session:
        user = await session.get(UserRow, user_id)
        # Disabled, or the password changed, while it was being checked.
        if user is None or not user.active or user.password_hash != stored:
            raise Unauthorized(WRONG)
        return await _open_session(session, user, ttl_seconds)


async def login(session: AsyncSession, username: str, password: str, ttl_seconds: int) -> SignIn:
    """Check the password and open a session in one transaction, without the rate limit: for
    tools and tests that hold a session (the hub's route uses sign_in). Unauthorized with one
    message for any failure; the check runs on a worker thread."""
    user = await _active_account(session, username)
    stored = user.password_hash if user is not None else DUMMY_HASH
    matches = await asyncio.to_thread(verify_password, stored, password)
    if user is None or not matches:
        raise Unauthorized(WRONG)
    return await _open_session(session, user, ttl_seconds)


async def open_sessions_without_password(
    session: AsyncSession, users: Sequence[UserRow], ttl_seconds: int
) -> list[SignIn]:
    """Sign-ins for accounts without checking their passwords: for tools that already hold
    the database and act for the accounts they made (the presence benchmark's thousands of
    kiosks, which would otherwise spend minutes on argon2). The hub's routes never call it;
    the sessions are ordinary ones, resolved and revoked like any other."""
    return [await _open_session(session, user, ttl_seconds, sweep=False) for user in users]


async def _open_session(
    session: AsyncSession, user: UserRow, ttl_seconds: int, *, sweep: bool = True
) -> SignIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = now() + timedelta(seconds=ttl_seconds)
    session.add(
        SessionRow(
            token_hash=_token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now(),
            expires_at=expires,
        )
    )
    if sweep:
        # Expired sessions are swept on sign-in so the table never grows without bound.
        await session.execute(delete(SessionRow).where(SessionRow.expires_at < now()))
    return SignIn(token, csrf, expires, await actor_for_user(session, user))


# A sign-in with its user and office, read in one statement (every API request makes it).
_SIGNED_IN = (
    select(
        SessionRow.expires_at,
        SessionRow.csrf_token,
        UserRow.id,
        UserRow.username,
        UserRow.display_name,
        UserRow.role,
        UserRow.active,
        OfficeRow.id.label("office_id"),
        OfficeRow.name.label("office_name"),
        OfficeRow.path,
    )
    .join(UserRow, UserRow.id == SessionRow.user_id)
    .join(OfficeRow, OfficeRow.id == UserRow.office_id)
)


async def resolve_session(session: AsyncSession | AsyncConnection, token: str) -> tuple[Actor, str]:
    """The Actor and CSRF token of a live session; Unauthorized if unknown or expired.

    Read as it is now, every time: a sign-out, an expiry or a disabled account takes effect on
    the very next request, on every node (nothing about a sign-in is cached)."""
    row = (
        await session.execute(_SIGNED_IN.where(SessionRow.token_hash == _token_hash(token)))
    ).one_or_none()
    if row is None:
        raise Unauthorized("invalid sign-in token; sign in again")
    if row.expires_at <= now():
        raise Unauthorized("sign-in expired; sign in again")
    if not row.active:
        raise Unauthorized("account disabled")
    actor = Actor(
        user_id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        office_id=row.office_id,
        office_name=row.office_name,
        office_path=row.path,
    )
    return actor, row.csrf_token


def live_session(row: SessionRow | None) -> SessionRow:
    """A sign-in's session row if it still holds; Unauthorized naming why not otherwise (the
    same checks as resolve_session's, for rows read many at once: sessions_by_key)."""
    if row is None:
        raise Unauthorized("invalid sign-in token; sign in again")
    if row.expires_at <= now():
        raise Unauthorized("sign-in expired; sign in again")
    return row


def active_account(user: UserRow | None) -> UserRow:
    """The user a sign-in belongs to, if still active; Unauthorized otherwise."""
    if user is None or not user.active:
        raise Unauthorized("account disabled")
    return user


async def sessions_by_key(
    session: AsyncSession, keys: Collection[str]
) -> dict[str, tuple[SessionRow, UserRow | None, OfficeRow | None]]:
    """Many sign-ins' session rows (by session_key), each with its user and the user's office,
    in one query: what re-checking many open connections at once needs."""
    if not keys:
        return {}
    rows = await session.execute(
        select(SessionRow, UserRow, OfficeRow)
        .outerjoin(UserRow, UserRow.id == SessionRow.user_id)
        .outerjoin(OfficeRow, OfficeRow.id == UserRow.office_id)
        .where(SessionRow.token_hash.in_(keys))
    )
    return {row.token_hash: (row, user, office) for row, user, office in rows.tuples()}


async def logout(session: AsyncSession, token: str) -> None:
    """End a session."""
    await session.execute(delete(SessionRow).where(SessionRow.token_hash == _token_hash(token)))


def session_key(token: str) -> str:
    """The key of a sign-in's session row: what a join token names as its issuer's sign-in
    (a hash, so a kiosk holding the join token learns nothing it could sign in with)."""
    return _token_hash(token)


def check_join_issuer(
    claims: JoinClaims, user: UserRow | None, issuer_session: SessionRow | None
) -> UserRow | None:
    """The user who issued a join token (`user`: the row claims.user_id names), still active
    and, when the token names the sign-in it was issued from (`issuer_session`: that row, if
    it still exists), still signed in with it; Unauthorized otherwise. A join token lives no
    longer than its issuer's sign-in: signing out revokes the tokens issued with it."""
    if claims.user_id is None:
        return None
    if user is None or not user.active:
        raise Unauthorized("the join token's issuer is no longer active")
    if claims.issuer_session is not None:
        row = issuer_session
        if row is None or row.user_id != user.id or row.expires_at <= now():
            raise Unauthorized("the join token's issuer signed out; ask for a new join token")
    return user


JOIN_TOKEN_PREFIX = "j."


@dataclass(frozen=True)
class JoinClaims:
    """What a join token grants: one office's seat in one hearing, until it expires."""

    hearing_id: int
    office_id: int
    user_id: int | None
    expires_at: int  # unix seconds
    # session_key() of the issuer's sign-in: the token is void once that sign-in ends. None
    # only for tokens the hub issues itself, outside any sign-in (benchmarks).
    issuer_session: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_join_token(secret: str, claims: JoinClaims) -> str:
    """A signed, expiring join token (HMAC-SHA256; stateless so any hub process can check it)."""
    payload = _b64(
        json.dumps(
            {
                "h": claims.hearing_id,
                "o": claims.office_id,
                "u": claims.user_id,
                "e": claims.expires_at,
                **({"s": claims.issuer_session} if claims.issuer_session is not None else {}),
            },
            separators=(",", ":"),
        ).encode()
    )
    sig = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{JOIN_TOKEN_PREFIX}{payload}.{sig}"


def verify_join_token(secret: str, token: str, at: float | None = None) -> JoinClaims:
    """The claims of a valid join token; Unauthorized naming what is wrong otherwise."""
    if not token.startswith(JOIN_TOKEN_PREFIX) or token.count(".") != 2:
        raise Unauthorized("malformed join token")
    payload, sig = token[len(JOIN_TOKEN_PREFIX) :].split(".")
    expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(sig, expected):
        raise Unauthorized("join token signature is invalid")
    try:
        data = json.loads(_unb64(payload))
        issuer_session = data.get("s")
        if issuer_session is not None and not isinstance(issuer_session, str):
            raise TypeError("s")
        claims = JoinClaims(
            int(data["h"]), int(data["o"]), data.get("u"), int(data["e"]), issuer_session
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise Unauthorized("malformed join token") from exc
    if claims.expires_at <= (time.time() if at is None else at):
        raise Unauthorized("join token expired")
    return claims

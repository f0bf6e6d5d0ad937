"""The live gateway's batch methods (what re-checking thousands of open sockets uses) answer
exactly as their one-at-a-time forms, in a few queries whatever the batch's size."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, update

from hub.clock import now
from hub.domain.errors import DomainError
from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus
from hub.services import auth, hearings
from hub.services.access import Actor
from hub.services.live import DatabaseLiveGateway, HearingAccess, Principal
from hub.storage.db import Database
from hub.storage.tables import HearingRow, SessionRow, UserRow
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

START = datetime(2027, 3, 2, 8, 0, tzinfo=VN)
SECRET = "secret"


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """The SQL statements the database runs inside the block."""
    statements: list[str] = []

    def on_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", on_execute)


def same(outcome: Principal | HearingAccess | DomainError) -> Any:
    """What a caller sees of an outcome: the value, or the error's class, code and message."""
    if isinstance(outcome, DomainError):
        return (type(outcome), outcome.code, outcome.message)
    return outcome


async def one_by_one(gateway: DatabaseLiveGateway, token: str) -> Any:
    try:
        return same(await gateway.authenticate(token))
    except DomainError as exc:
        return same(exc)


async def sign_in(db: Database, actor: Actor) -> str:
    async with db.transaction() as session:
        user = await session.get(UserRow, actor.user_id)
        assert user is not None
        (opened,) = await auth.open_sessions_without_password(session, [user], 3600)
    return opened.token


def join(issuer: Actor | None, office_id: int, hearing_id: int, session_of: str | None) -> str:
    claims = auth.JoinClaims(
        hearing_id,
        office_id,
        issuer.user_id if issuer else None,
        int(time.time()) + 3600,
        auth.session_key(session_of) if session_of else None,
    )
    return auth.issue_join_token(SECRET, claims)


async def hy_hearing(db: Database, tree: Tree) -> int:
    async with db.transaction() as session:
        rows = await hearings.create(
            session,
            tree.staff_hy,
            HearingDraft(
                title="Tiếp công dân đột xuất tại Văn Lâm",
                kind=HearingKind.ADHOC,
                host_office_id=tree.office["HY"].id,
                site_office_ids=(tree.office["HY.VANLAM"].id,),
                starts_at=START,
                ends_at=START + timedelta(hours=2),
                chair_user_id=tree.leader_hy.user_id,
            ),
        )
        return rows[0].id


async def test_authenticate_many_answers_as_authenticate_in_three_queries(
    db: Database, tree: Tree
) -> None:
    gateway = DatabaseLiveGateway(db, SECRET)
    hid = await hy_hearing(db, tree)
    vanlam = tree.office["HY.VANLAM"].id
    good = await sign_in(db, tree.staff_hy)
    expired = await sign_in(db, tree.leader_hy)
    disabled = await sign_in(db, tree.operator_hy)
    signed_out = await sign_in(db, tree.staff_bg)
    async with db.transaction() as session:
        await session.execute(
            update(SessionRow)
            .where(SessionRow.token_hash == auth.session_key(expired))
            .values(expires_at=now() - timedelta(seconds=1))
        )
        await session.execute(
            update(UserRow).where(UserRow.id == tree.operator_hy.user_id).values(active=False)
        )
        await auth.logout(session, signed_out)
    tokens = [
        good,
        good,  # two sockets on one sign-in
        expired,
        disabled,
        signed_out,
        "never-issued",
        "",
        "j.not.signed",
        join(tree.staff_hy, vanlam, hid, good),
        join(tree.leader_hy, vanlam, hid, expired),
        join(tree.operator_hy, vanlam, hid, disabled),
        join(tree.staff_bg, vanlam, hid, signed_out),
        join(tree.staff_bg, vanlam, hid, good),  # someone else's sign-in
        join(None, vanlam, hid, None),  # issued by the hub itself (benchmarks)
        join(tree.staff_hy, 999_999, hid, good),  # an office that is gone
    ]
    expected = {token: await one_by_one(gateway, token) for token in tokens}
    with counted(db) as statements:
        batch = await gateway.authenticate_many(tokens)
    assert {token: same(outcome) for token, outcome in batch.items()} == expected
    assert len(statements) <= 3, statements
    # Every kind of answer is among them, so the comparison above covers each path.
    principals = [o for o in batch.values() if isinstance(o, Principal)]
    assert {p.username for p in principals} == {"staff.hy", "site:HY.VANLAM"}
    messages = {o.message for o in batch.values() if isinstance(o, DomainError)}
    for part in ("expired", "disabled", "signed out", "no longer active", "no longer exists"):
        assert any(part in m for m in messages), (part, messages)

    # Many sign-ins cost no more queries than a few.
    many = [await sign_in(db, tree.staff_hy) for _ in range(300)]
    with counted(db) as statements:
        batch = await gateway.authenticate_many(many)
    assert all(isinstance(o, Principal) for o in batch.values()) and len(batch) == 300
    assert len(statements) == 1, statements


async def test_admit_many_answers_as_admit_loading_the_hearing_once(
    db: Database, tree: Tree
) -> None:
    gateway = DatabaseLiveGateway(db, SECRET)
    hid = await hy_hearing(db, tree)
    other = await hy_hearing(db, tree)
    vanlam = tree.office["HY.VANLAM"]

    def seat(actor: Actor, office_id: int | None = None, hearing_id: int | None = None) -> Any:
        return Principal(
            actor.user_id,
            actor.username,
            actor.display_name,
            str(actor.role),
            office_id or actor.office_id,
            "",
            hearing_id=hearing_id,
            office_path=actor.office_path,
        )

    principals = [
        seat(tree.staff_hy),  # host side
        seat(tree.leader_hy),  # the chair
        seat(tree.admin),  # above the host
        seat(tree.staff_bg),  # elsewhere in the tree
        seat(tree.operator_hy),  # a role that does not join
        seat(tree.staff_hy, vanlam.id, hid),  # a kiosk's join token
        seat(tree.leader_hy, vanlam.id, hid),  # the chair's token for a kiosk: not the chair
        seat(tree.staff_hy, vanlam.id, other),  # a token for another hearing
        seat(tree.staff_bg, tree.office["BG"].id, hid),  # a token for an office not invited
    ]

    async def each(hearing_id: int) -> list[Any]:
        answers = []
        for principal in principals:
            try:
                answers.append(same(await gateway.admit(principal, hearing_id)))
            except DomainError as exc:
                answers.append(same(exc))
        return answers

    expected = await each(hid)
    with counted(db) as statements:
        batch = await gateway.admit_many(hid, principals)
    assert [same(o) for o in batch] == expected
    assert len(statements) <= 5, statements
    accesses = [o for o in batch if isinstance(o, HearingAccess)]
    assert [a.chair for a in accesses].count(True) == 1 and len(accesses) == 5

    async with db.transaction() as session:
        await session.execute(
            update(HearingRow).where(HearingRow.id == hid).values(status=HearingStatus.ENDED)
        )
    ended = await gateway.admit_many(hid, principals)
    assert [same(o) for o in ended] == await each(hid)
    assert {o.code for o in ended if isinstance(o, DomainError)} == {"conflict", "not_found"}
    gone = await gateway.admit_many(999_999, principals)
    assert all(isinstance(o, DomainError) and o.code == "not_found" for o in gone)

"""A hearing's guests through the services and the live gateway, on both back ends: a personal
link kept only as its hash, resolved to a guest's principal with a seat of its own, admitted
through the admissions machinery, and refused with a clear reason once expired, revoked,
replaced, removed, forged or mistyped (nothing written then)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.clock import now
from hub.domain.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from hub.domain.guests import (
    LINK_GRACE,
    AgencyKind,
    GuestDraft,
    LinkState,
    guest_of_seat,
    guest_seat,
    link_state,
)
from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus
from hub.domain.sessionlog import LogKind
from hub.services import guests, hearings
from hub.services.live import DatabaseLiveGateway
from hub.storage.db import Database
from hub.storage.tables import GuestRow, HearingRow, LogEventRow
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

START = datetime(2027, 3, 2, 8, 0, tzinfo=VN)
POLICE = GuestDraft(
    name="Trần Văn Bình",
    agency="Công an tỉnh Hưng Yên",
    agency_kind=AgencyKind.POLICE,
    position="Phó Trưởng phòng",
)


async def hy_hearing(db: Database, tree: Tree) -> int:
    async with db.transaction() as session:
        rows = await hearings.create(
            session,
            tree.staff_hy,
            HearingDraft(
                title="Tiếp công dân đột xuất, tổ công tác liên ngành",
                kind=HearingKind.ADHOC,
                host_office_id=tree.office["HY"].id,
                site_office_ids=(tree.office["HY.VANLAM"].id,),
                starts_at=START,
                ends_at=START + timedelta(hours=2),
            ),
        )
        return rows[0].id


async def invite(db: Database, tree: Tree, hearing_id: int) -> tuple[int, str]:
    """A police guest with a link: (guest id, token)."""
    async with db.transaction() as session:
        guest, _ = await guests.add(session, tree.staff_hy, hearing_id, POLICE)
        link, _ = await guests.issue_link(session, tree.staff_hy, hearing_id, guest.id)
        return guest.id, link.token


async def counts(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        logged = (await session.execute(select(func.count()).select_from(LogEventRow))).scalar()
        invited = (await session.execute(select(func.count()).select_from(GuestRow))).scalar()
        return int(logged or 0), int(invited or 0)


def test_link_state_follows_the_hearing_then_the_revocation() -> None:
    ends = datetime(2027, 3, 2, 10, 0, tzinfo=VN)
    during = ends - timedelta(hours=1)

    def state(status: str, *, issued: bool = True, revoked: bool = False, at: datetime = during):
        return link_state(
            issued=issued, revoked=revoked, hearing_status=status, hearing_ends_at=ends, at=at
        )

    assert state("scheduled") is LinkState.ACTIVE
    assert state("live") is LinkState.ACTIVE
    assert state("live", issued=False) is LinkState.NONE
    assert state("live", revoked=True) is LinkState.REVOKED
    assert state("ended") is LinkState.EXPIRED
    assert state("cancelled", revoked=True) is LinkState.EXPIRED
    # A hearing nobody ended: open until LINK_GRACE after its scheduled end, not for ever.
    assert state("live", at=ends + LINK_GRACE - timedelta(seconds=1)) is LinkState.ACTIVE
    assert state("live", at=ends + LINK_GRACE) is LinkState.EXPIRED


def test_a_guest_is_named_and_takes_a_seat_no_office_has() -> None:
    with pytest.raises(ValidationFailed) as caught:
        GuestDraft(name=" ", agency="", agency_kind=AgencyKind.POLICE)
    assert set(caught.value.fields) == {"name", "agency"}
    assert guest_seat(7) == -7 and guest_of_seat(-7) == 7
    assert guest_of_seat(7) is None and guest_of_seat(None) is None
    with pytest.raises(ValueError):
        guest_seat(0)


async def test_a_guest_link_is_kept_only_as_its_hash_and_opens_one_hearing(
    db: Database, tree: Tree
) -> None:
    hid = await hy_hearing(db, tree)
    other = await hy_hearing(db, tree)
    guest_id, token = await invite(db, tree, hid)
    assert token.startswith("g.") and len(token) >= 40
    async with db.transaction() as session:
        row = await session.get(GuestRow, guest_id)
        assert row is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        kept = [str(getattr(row, c.key)) for c in GuestRow.__table__.columns]
        assert not [value for value in kept if token in value]

    gateway = DatabaseLiveGateway(db, "secret")
    principal = await gateway.authenticate(token)
    assert principal.guest and principal.user_id is None
    assert principal.display_name == "Trần Văn Bình"
    assert principal.office_name == "Công an tỉnh Hưng Yên"
    assert principal.office_id == guest_seat(guest_id) and principal.hearing_id == hid
    access = await gateway.admit(principal, hid)
    assert not access.host_side and not access.chair
    assert access.site_offices == {guest_seat(guest_id): "Công an tỉnh Hưng Yên"}
    with pytest.raises(NotFound):
        await gateway.admit(principal, other)


async def test_a_guest_waits_is_admitted_and_is_logged_by_name_and_agency(
    db: Database, tree: Tree
) -> None:
    hid = await hy_hearing(db, tree)
    guest_id, _token = await invite(db, tree, hid)
    seat = guest_seat(guest_id)
    gateway = DatabaseLiveGateway(db, "secret")
    joined = LogKind.PARTICIPANT_JOINED
    await gateway.record(hid, joined, office_id=seat, detail={"state": "waiting"})
    assert seat not in await gateway.admitted_offices(hid)
    await gateway.record(hid, LogKind.PARTICIPANT_ADMITTED, office_id=seat, detail={})
    # The host office's admission is apart from the guest's, and the other way round.
    await gateway.record(hid, joined, office_id=tree.office["HY"].id, detail={"state": "admitted"})
    assert await gateway.admitted_offices(hid) == {seat, tree.office["HY"].id}
    await gateway.record(hid, LogKind.PARTICIPANT_DROPPED, office_id=seat, detail={})
    assert seat in await gateway.admitted_offices(hid)  # a drop keeps it: back straight in
    await gateway.record(hid, LogKind.PARTICIPANT_REMOVED, office_id=seat, detail={})
    assert await gateway.admitted_offices(hid) == {tree.office["HY"].id}

    async with db.transaction() as session:
        log = await hearings.log(session, tree.staff_hy, hid)
    entries = [e for e in log if e["detail"].get("guest_id") == guest_id]
    kinds = [e["kind"] for e in entries]
    assert kinds == [
        "guest_invited",
        "guest_link_issued",
        "participant_joined",
        "participant_admitted",
        "participant_dropped",
        "participant_removed",
    ]
    for entry in entries:
        if entry["kind"].startswith("participant_"):
            assert entry["office_id"] is None  # a guest is no office
        assert entry["detail"]["guest_name"] == "Trần Văn Bình"
        assert entry["detail"]["agency"] == "Công an tỉnh Hưng Yên"


@pytest.mark.parametrize("ending", ["ended", "cancelled"])
async def test_a_guest_link_expires_with_the_hearing(db: Database, tree: Tree, ending: str) -> None:
    hid = await hy_hearing(db, tree)
    guest_id, token = await invite(db, tree, hid)
    gateway = DatabaseLiveGateway(db, "secret")
    principal = await gateway.authenticate(token)
    if ending == "ended":
        async with db.transaction() as session:
            await hearings.set_status(session, tree.staff_hy, hid, HearingStatus.LIVE)
        await gateway.record(hid, LogKind.PARTICIPANT_ADMITTED, office_id=guest_seat(guest_id))
        assert await gateway.admitted_offices(hid) == {guest_seat(guest_id)}
        async with db.transaction() as session:
            await hearings.set_status(session, tree.staff_hy, hid, HearingStatus.ENDED)
    else:
        async with db.transaction() as session:
            await hearings.set_status(session, tree.staff_hy, hid, HearingStatus.CANCELLED)
    with pytest.raises(Unauthorized) as caught:
        await gateway.authenticate(token)
    assert caught.value.message == guests.EXPIRED
    with pytest.raises(Conflict):
        await gateway.admit(principal, hid)  # an open socket's seat goes too
    assert await gateway.admitted_offices(hid) == set()
    async with db.transaction() as session:
        with pytest.raises(Conflict):
            await guests.issue_link(session, tree.staff_hy, hid, guest_id)
        with pytest.raises(Conflict):
            await guests.add(session, tree.staff_hy, hid, POLICE)


async def test_a_hearing_left_open_long_past_its_end_expires_its_links(
    db: Database, tree: Tree
) -> None:
    hid = await hy_hearing(db, tree)
    _guest_id, token = await invite(db, tree, hid)
    async with db.transaction() as session:
        row = await session.get(HearingRow, hid)
        assert row is not None
        row.starts_at = now() - LINK_GRACE - timedelta(hours=3)
        row.ends_at = now() - LINK_GRACE - timedelta(hours=1)
    with pytest.raises(Unauthorized, match="expired"):
        await DatabaseLiveGateway(db, "secret").authenticate(token)


async def test_revoking_replacing_and_removing_a_link(db: Database, tree: Tree) -> None:
    hid = await hy_hearing(db, tree)
    guest_id, first = await invite(db, tree, hid)
    gateway = DatabaseLiveGateway(db, "secret")
    async with db.transaction() as session:
        guest, hearing = await guests.revoke(session, tree.staff_hy, hid, guest_id)
        assert guests.view(guest, hearing)["link_state"] == "revoked"
    with pytest.raises(Unauthorized) as caught:
        await gateway.authenticate(first)
    assert caught.value.message == guests.REVOKED

    # A new link invites the guest again; the revoked one stays dead (mistyped or replaced).
    async with db.transaction() as session:
        link, hearing = await guests.issue_link(session, tree.staff_hy, hid, guest_id)
        assert guests.view(link.guest, hearing)["link_state"] == "active"
    assert (await gateway.authenticate(link.token)).hearing_id == hid
    with pytest.raises(Unauthorized) as caught:
        await gateway.authenticate(first)
    assert caught.value.message == guests.INVALID

    async with db.transaction() as session:
        await guests.remove(session, tree.staff_hy, hid, guest_id)
        listed, _ = await guests.list_(session, tree.staff_hy, hid)
        assert listed == []
    with pytest.raises(Unauthorized) as caught:
        await gateway.authenticate(link.token)
    assert caught.value.message == guests.INVALID


@pytest.mark.parametrize(
    "forged",
    [
        "g.",
        "g.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "g.' OR 1=1 --",
        "g." + "x" * 5000,
    ],
)
async def test_security_forged_guest_tokens_are_refused_and_nothing_is_written(
    db: Database, tree: Tree, forged: str
) -> None:
    hid = await hy_hearing(db, tree)
    _guest_id, token = await invite(db, tree, hid)
    before = await counts(db)
    gateway = DatabaseLiveGateway(db, "secret")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, tampered):
        with pytest.raises(Unauthorized) as caught:
            await gateway.authenticate(bad)
        assert caught.value.message == guests.INVALID
    outcomes = await gateway.authenticate_many([forged, tampered, token])
    assert isinstance(outcomes[forged], Unauthorized)
    assert isinstance(outcomes[tampered], Unauthorized)
    assert not isinstance(outcomes[token], Unauthorized)
    assert await counts(db) == before


async def test_security_only_the_host_side_staff_manage_a_hearings_guests(
    db: Database, tree: Tree
) -> None:
    hid = await hy_hearing(db, tree)
    guest_id, _token = await invite(db, tree, hid)
    before = await counts(db)
    async with db.transaction() as session:
        # Out of scope: Bắc Giang neither sees the hearing nor its guests.
        with pytest.raises(NotFound):
            await guests.list_(session, tree.staff_bg, hid)
        with pytest.raises(NotFound):
            await guests.add(session, tree.staff_bg, hid, POLICE)
        with pytest.raises(NotFound):
            await guests.issue_link(session, tree.staff_bg, hid, guest_id)
        with pytest.raises(NotFound):
            await guests.revoke(session, tree.staff_bg, hid, guest_id)
        # In scope but a role that does not edit hearings.
        with pytest.raises(Forbidden):
            await guests.add(session, tree.leader_hy, hid, POLICE)
        # A guest of another hearing is not found through this one.
        other = await hy_hearing(db, tree)
        with pytest.raises(NotFound):
            await guests.revoke(session, tree.staff_hy, other, guest_id)
        # Reading the list is for whoever sees the hearing.
        listed, _ = await guests.list_(session, tree.operator_hy, hid)
        assert [g.id for g in listed] == [guest_id]
    after = await counts(db)
    assert after[1] == before[1]

"""Issue 7, item 1 at the live gateway: a kiosk joins by itself only hearings the scope rule
allows, and only while its office is one of the hearing's sites (or the host, or above it).

Reproduced before the fix: Bắc Giang's kiosk joined a Hưng Yên hearing's waiting room because
the gateway only checked that the office was listed; a join token went on admitting its office
after the office was taken off the hearing, because join tokens were not checked at all.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.domain import recurrence
from hub.domain.errors import NotFound
from hub.domain.hearings import HearingDraft, HearingKind
from hub.services import hearings
from hub.services.access import Actor
from hub.services.live import DatabaseLiveGateway, Principal
from hub.storage.db import Database
from hub.storage.tables import HearingSiteRow
from tests.hub.client import VN
from tests.hub.storage.conftest import Tree

START = datetime(2027, 3, 2, 8, 0, tzinfo=VN)


def signed_in(actor: Actor) -> Principal:
    """What the gateway makes of a sign-in token (the kiosk's own staff session)."""
    return Principal(
        actor.user_id,
        actor.username,
        actor.display_name,
        str(actor.role),
        actor.office_id,
        actor.office_name,
        office_path=actor.office_path,
    )


def join_token(actor: Actor, office_id: int, office_path: str, hearing_id: int) -> Principal:
    """What the gateway makes of a join token issued by `actor` for one office's seat."""
    return Principal(
        actor.user_id,
        actor.username,
        actor.display_name,
        str(actor.role),
        office_id,
        "",
        hearing_id=hearing_id,
        office_path=office_path,
    )


async def hy_hearing(db: Database, tree: Tree, sites: tuple[str, ...] = ("HY.VANLAM",)) -> int:
    async with db.transaction() as session:
        rows = await hearings.create(
            session,
            tree.staff_hy,
            HearingDraft(
                title="Tiếp công dân đột xuất tại Văn Lâm",
                kind=HearingKind.ADHOC,
                host_office_id=tree.office["HY"].id,
                site_office_ids=tuple(tree.office[s].id for s in sites),
                starts_at=START,
                ends_at=START + timedelta(hours=2),
            ),
        )
        return rows[0].id


async def test_security_a_kiosk_outside_the_host_subtree_cannot_join_an_old_invitation(
    db: Database, tree: Tree
) -> None:
    hid = await hy_hearing(db, tree)
    # An invitation written before sites were scoped: Bắc Giang listed on Hưng Yên's hearing.
    async with db.transaction() as session:
        session.add(HearingSiteRow(hearing_id=hid, office_id=tree.office["BG"].id))
    gateway = DatabaseLiveGateway(db, "secret")
    with pytest.raises(NotFound):
        await gateway.admit(signed_in(tree.staff_bg), hid)
    bg = tree.office["BG"]
    with pytest.raises(NotFound):
        await gateway.admit(join_token(tree.staff_bg, bg.id, bg.path, hid), hid)
    # The kiosk's own query (its office's hearings) does not offer it, nor does a plain read.
    async with db.transaction() as session:
        listed, total = await hearings.list_(session, tree.staff_bg, office_id=bg.id)
        assert hid not in [r.id for r in listed] and total == 0
        with pytest.raises(NotFound):
            await hearings.get(session, tree.staff_bg, hid)
    # Hưng Yên's own site still joins; the host sees only its lawful sites.
    access = await gateway.admit(signed_in(tree.staff_hy), hid)
    assert set(access.site_offices) == {tree.office["HY"].id, tree.office["HY.VANLAM"].id}


async def test_security_a_join_token_stops_working_when_its_office_is_taken_off_the_hearing(
    db: Database, tree: Tree
) -> None:
    hid = await hy_hearing(db, tree)
    vanlam = tree.office["HY.VANLAM"]
    token = join_token(tree.staff_hy, vanlam.id, vanlam.path, hid)
    gateway = DatabaseLiveGateway(db, "secret")
    assert (await gateway.admit(token, hid)).hearing_id == hid
    async with db.transaction() as session:
        await hearings.update(session, tree.staff_hy, hid, {"site_office_ids": []})
    with pytest.raises(NotFound):
        await gateway.admit(token, hid)


async def test_join_tokens_for_the_host_and_offices_above_it_still_join(
    db: Database, tree: Tree
) -> None:
    hid = await hy_hearing(db, tree)
    gateway = DatabaseLiveGateway(db, "secret")
    hy, tw = tree.office["HY"], tree.office["TW"]
    assert (await gateway.admit(join_token(tree.staff_hy, hy.id, hy.path, hid), hid)).host_side
    observer = await gateway.admit(join_token(tree.admin, tw.id, tw.path, hid), hid)
    assert observer.host_side


async def test_security_a_series_is_expanded_off_the_event_loop(
    db: Database, tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Expansion is bounded, but it is CPU work: it must not run on a loop carrying media.
    threads: list[threading.Thread] = []
    expand = recurrence.expand

    def recording(*args: Any) -> list[datetime]:
        threads.append(threading.current_thread())
        return expand(*args)

    monkeypatch.setattr(recurrence, "expand", recording)
    async with db.transaction() as session:
        rows = await hearings.create(
            session,
            tree.staff_hy,
            HearingDraft(
                title="Tiếp công dân định kỳ hằng tuần",
                kind=HearingKind.PERIODIC,
                host_office_id=tree.office["HY"].id,
                site_office_ids=(tree.office["HY.VANLAM"].id,),
                starts_at=START,
                ends_at=START + timedelta(hours=2),
                recurrence="FREQ=WEEKLY;COUNT=3",
            ),
        )
    assert len(rows) == 3
    assert threads and threads[0] is not threading.current_thread()

"""The periodic report's figures on both back ends equal the counts made by hand from a known
seed (tests/hub/reports_seed.py): a province's subtree, another province, the central office."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hub.domain.errors import NotFound, ValidationFailed
from hub.domain.reports import Period
from hub.services import reports
from hub.storage.db import Database
from tests.hub import reports_seed
from tests.hub.client import VN
from tests.hub.reports_seed import EXPECTED_TOP_Q3, Actors, Offices
from tests.hub.storage.conftest import Tree

# After the quarter, whose end is then the overdue figures' moment; P3 was filed since (on
# 5 October), and is still overdue as of the quarter's end.
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=VN)


async def _seeded(db: Database, tree: Tree) -> Offices:
    offices = Offices(
        top=tree.office["HY"].id,
        child=tree.office["HY.VANLAM"].id,
        leaf=tree.office["HY.VANLAM.LACHONG"].id,
        outside=tree.office["BG"].id,
        above=tree.office["TW"].id,
    )
    await reports_seed.seed(db, offices, Actors(tree.staff_hy, tree.staff_bg, tree.admin))
    return offices


async def _report(db: Database, actor: Any, office: int | None, period: str) -> dict[str, Any]:
    async with db.transaction() as session:
        return await reports.report(session, actor, office, Period.parse(period), NOW)


async def test_a_province_quarter_equals_the_counts_made_by_hand(db: Database, tree: Tree) -> None:
    o = await _seeded(db, tree)
    got = await _report(db, tree.staff_hy, o.top, reports_seed.PERIOD)
    for section, expected in EXPECTED_TOP_Q3.items():
        assert got[section] == expected, section
    assert (got["office_id"], got["period"], got["period_kind"]) == (o.top, "2026-Q3", "quarter")
    assert (got["first_day"], got["last_day"]) == ("2026-07-01", "2026-09-30")
    # The actor's own office when none is named.
    assert (await _report(db, tree.leader_hy, None, "2026-Q3"))["petitions"] == got["petitions"]


async def test_a_month_and_a_year_count_their_own_days(db: Database, tree: Tree) -> None:
    o = await _seeded(db, tree)
    july = await _report(db, tree.staff_hy, o.top, "2026-07")
    # P4 (1 July), P1 (5 July), P8 (20 July).
    assert july["petitions"]["by_type"] == {
        "complaint": 1, "denunciation": 0, "recommendation": 0, "feedback": 1, "mixed": 1,
    }  # fmt: skip
    assert july["hearings"]["held"] == 1  # H1
    # At midnight after 31 July only P5's deadline (15 July) had passed; P1's is 4 August.
    assert july["overdue"]["total"] == 1
    assert july["overdue"]["by_type"]["complaint"] == 1
    # Due from 1 to 7 August and open at that midnight: P1 (4 August, accepted only); not
    # P10 (10 August), nor P5 (already overdue).
    assert (july["due_week"]["first_day"], july["due_week"]["last_day"]) == (
        "2026-08-01",
        "2026-08-07",
    )
    assert july["due_week"]["total"] == 1 and july["due_week"]["by_type"]["complaint"] == 1
    # A petition that reached its outcome before the moment no longer counts: August's week
    # (1 to 7 September) holds no deadline, and P2 (12 September) was resolved on 1 September.
    august = await _report(db, tree.staff_hy, o.top, "2026-08")
    assert august["due_week"]["total"] == 0
    year = await _report(db, tree.staff_hy, o.top, "2026")
    # The quarter's seven, P5 (June) and P6 (October).
    assert year["petitions"]["received"] == 9
    # The year is not over: overdue as of now (20 October): P1, P5, P6 (deadline 10 October),
    # P9; P3 was filed on 5 October.
    assert year["overdue"]["as_of"] == "2026-10-20T09:00:00+07:00"
    assert year["overdue"]["by_type"] == {
        "complaint": 4, "denunciation": 0, "recommendation": 0, "feedback": 0, "mixed": 0,
    }  # fmt: skip
    # H1, H2, H3 and H5 (1 October).
    assert year["hearings"]["held"] == 4


async def test_the_central_office_counts_every_province(db: Database, tree: Tree) -> None:
    o = await _seeded(db, tree)
    got = await _report(db, tree.admin, o.above, "2026-Q3")
    # TOP's 3, OUTSIDE's H6 (in person), ABOVE's H7 (online).
    assert got["hearings"]["held"] == 5
    assert (got["hearings"]["online"], got["hearings"]["in_person"]) == (2, 3)
    assert got["hearings"]["by_kind"]["periodic"]["held"] == 3
    # H7 adds ABOVE and TOP, H6 adds OUTSIDE.
    assert got["hearings"]["sites_connected"] == 7
    # TOP's 7 and P7.
    assert got["petitions"]["received"] == 8
    assert got["petitions"]["by_type"]["complaint"] == 3
    # TOP's 4 and P7.
    assert got["overdue"]["total"] == 5
    assert got["connection_incidents"]["total"] == 4
    # P7 in person at OUTSIDE: a fifth regular visit, a new case.
    assert got["reception"]["regular"] == {
        "visits": 5, "people": 16, "cases_new": 3, "cases_repeated": 1,
    }  # fmt: skip


async def test_an_office_outside_the_scope_is_not_found(db: Database, tree: Tree) -> None:
    o = await _seeded(db, tree)
    with pytest.raises(NotFound):
        await _report(db, tree.staff_bg, o.top, "2026-Q3")
    with pytest.raises(NotFound):
        await _report(db, tree.staff_hy, o.above, "2026-Q3")
    with pytest.raises(NotFound):
        await _report(db, tree.staff_hy, 999_999, "2026-Q3")


async def test_a_period_not_begun_is_refused(db: Database, tree: Tree) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await _report(db, tree.staff_hy, None, "2026-11")
    assert "period" in caught.value.fields

"""Crowd delegations in the domain: the crowd rule, repeat visits, vượt cấp, the province, and
the home office suggested from addresses (worked out by hand on a small tree)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.domain.delegations import (
    DelegationDraft,
    DelegationStatus,
    EarlierVisit,
    PlaceOffice,
    check_transition,
    matter_key,
    place_name,
    province_path,
    skipped_level,
    suggest_home,
    visit_number,
)
from hub.domain.errors import Conflict, ValidationFailed

DAY = date(2027, 3, 2)
# /1/ central, /1/2/ Hưng Yên, /1/2/3/ Văn Lâm, /1/2/4/ Phố Hiến, /1/5/ Bắc Giang,
# /1/5/6/ Tân Sơn (Bắc Giang), /1/2/3/7/ Tân Sơn (a namesake in Văn Lâm).
OFFICES = [
    PlaceOffice(1, "Trụ sở Tiếp công dân Trung ương (Hà Nội)", "/1/", "central"),
    PlaceOffice(2, "Ban Tiếp công dân tỉnh Hưng Yên", "/1/2/", "province"),
    PlaceOffice(3, "Ban Tiếp công dân huyện Văn Lâm", "/1/2/3/", "district"),
    PlaceOffice(4, "Phường Phố Hiến", "/1/2/4/", "commune"),
    PlaceOffice(5, "Ban Tiếp công dân tỉnh Bắc Giang", "/1/5/", "province"),
    PlaceOffice(6, "Xã Tân Sơn", "/1/5/6/", "commune"),
    PlaceOffice(7, "Xã Tân Sơn", "/1/2/3/7/", "commune"),
]


def draft(**changes: object) -> DelegationDraft:
    values: dict[str, object] = {
        "receiving_office_id": 1,
        "home_office_id": 2,
        "received_on": DAY,
        "people_count": 12,
        "matter": "Thu hồi đất cụm công nghiệp",
    }
    values.update(changes)
    return DelegationDraft(**values)  # type: ignore[arg-type]


def test_a_delegation_follows_the_crowd_rule() -> None:
    assert draft(representatives=("A", "B", "C", "D", "E")).people_count == 12
    with pytest.raises(ValidationFailed) as few:
        draft(people_count=4)
    assert "people_count" in few.value.fields
    with pytest.raises(ValidationFailed) as many:
        draft(people_count=10, representatives=("A", "B", "C"))
    assert many.value.fields["representatives"] == "10 people choose at most 2 representatives"
    with pytest.raises(ValidationFailed) as empty:
        draft(matter="  ", petition_ids=(1, 1))
    assert set(empty.value.fields) == {"matter", "petition_ids"}


def test_status_moves_forward_only() -> None:
    check_transition(DelegationStatus.OPEN, DelegationStatus.HANDLING)
    check_transition(DelegationStatus.HANDLING, DelegationStatus.CLOSED)
    with pytest.raises(Conflict):
        check_transition(DelegationStatus.CLOSED, DelegationStatus.OPEN)
    with pytest.raises(Conflict):
        check_transition(DelegationStatus.HANDLING, DelegationStatus.OPEN)


def test_repeat_visits_count_the_same_matter_or_petitions_within_90_days() -> None:
    key = matter_key("Thu hồi đất, cụm công nghiệp!")
    assert key == matter_key("thu hoi dat cum cong nghiep") == "thu hoi dat cum cong nghiep"
    earlier = [
        EarlierVisit(DAY - timedelta(days=91), key, frozenset(), 4),  # just outside the window
        EarlierVisit(DAY - timedelta(days=90), key, frozenset(), 1),  # on its edge
        EarlierVisit(DAY - timedelta(days=10), "o nhiem moi truong", frozenset({7}), 1),
        EarlierVisit(DAY - timedelta(days=5), "o nhiem moi truong", frozenset(), 2),
        EarlierVisit(DAY + timedelta(days=1), key, frozenset(), 9),  # later: not counted
    ]
    assert visit_number(DAY, key, (), earlier) == 2
    # The same petition as visit 1 of another wording: the chain goes on from there.
    assert visit_number(DAY, "thu hoi dat lan nua", (7,), earlier) == 2
    assert visit_number(DAY, key, (7,), earlier) == 2
    assert visit_number(DAY, "viec khac", (), earlier) == 1
    assert visit_number(DAY, "o nhiem moi truong", (), earlier) == 3
    assert visit_number(DAY, "viec khac", (), []) == 1


def test_skipping_a_level_is_being_received_above_the_home_office() -> None:
    assert skipped_level("/1/", "/1/2/")  # Hưng Yên's crowd at the central office
    assert skipped_level("/1/2/", "/1/2/4/")  # Phố Hiến's crowd at the province
    assert not skipped_level("/1/2/", "/1/2/")  # at home
    assert not skipped_level("/1/5/", "/1/2/")  # Bắc Giang is not above Hưng Yên
    assert province_path("/1/2/3/7/") == "/1/2/"
    assert province_path("/1/") == "/1/"


def test_place_names_come_from_office_names() -> None:
    assert place_name("Ban Tiếp công dân tỉnh Hưng Yên") == "hung yen"
    assert place_name("Ban Tiếp công dân thành phố Hải Phòng") == "hai phong"
    assert place_name("Phường Phố Hiến") == "pho hien"
    assert place_name("Trụ sở Tiếp công dân Trung ương (Hà Nội)") == "trung uong"


def test_the_home_office_is_where_most_addresses_lie() -> None:
    both = suggest_home(
        ["Thôn Đình Dù, huyện Văn Lâm, tỉnh Hưng Yên", "Số 5 phường Phố Hiến, Hưng Yên"], OFFICES
    )
    # Văn Lâm and Phố Hiến one each: only Hưng Yên holds more than half.
    assert both.office_id == 2
    assert [(c.office_id, c.addresses) for c in both.candidates] == [(2, 2), (3, 1), (4, 1)]
    assert (both.matched, both.addresses) == (2, 2)

    district = suggest_home(["xã Lạc Hồng, huyện Văn Lâm", "Văn Lâm, Hưng Yên", "Hà Nội"], OFFICES)
    assert district.office_id == 3  # the deepest office holding both addresses that matched
    assert (district.matched, district.addresses) == (2, 3)


def test_a_namesake_commune_goes_with_the_province_the_address_names() -> None:
    in_bg = suggest_home(["Xã Tân Sơn, tỉnh Bắc Giang"], OFFICES)
    assert in_bg.office_id == 6
    in_hy = suggest_home(["Xã Tân Sơn, huyện Văn Lâm"], OFFICES)
    assert in_hy.office_id == 7
    assert suggest_home(["Hà Nội", ""], OFFICES).office_id is None

"""The minutes' domain: drafting from a session log, the rules of their content, versions and
sign-off, and the Vietnamese administrative layout's words (ND 30/2020)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.minutes import (
    HearingFacts,
    LogEntry,
    PetitionFacts,
    check_editable,
    check_version,
    draft,
    from_json,
    numbered,
    place_name,
    symbol_for,
    to_json,
)
from hub.domain.minutes_layout import MOTTO, MOTTO_STATE, TITLE, layout, vn_date_words

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VN)


FACTS = HearingFacts(
    title="Tiếp công dân định kỳ tháng 12",
    host_name="Ban Tiếp công dân tỉnh Hưng Yên",
    host_code="HY",
    parent_name="Trụ sở Tiếp công dân Trung ương (Hà Nội)",
    location="Hội trường tầng 2",
    chair_name="Chủ tịch UBND tỉnh Hưng Yên",
    starts_at=at(8),
    ends_at=at(11),
    started_at=at(8, 2),
    ended_at=at(10, 30),
    invited_sites=((3, "Ban Tiếp công dân huyện Văn Lâm"), (4, "Phường Phố Hiến")),
)


def petition(
    pid: int, name: str, start: datetime | None, end: datetime | None, **kw: str
) -> PetitionFacts:
    return PetitionFacts(
        petition_id=pid,
        case_code=f"HY-2026-{pid:06d}",
        petitioner=name,
        type=kw.get("type", "complaint"),
        subject_field="Đất đai",
        content="Khiếu nại việc thu hồi đất.",
        status=kw.get("status", "received"),
        competent_body=kw.get("competent_body", ""),
        heard_from=start,
        heard_to=end,
    )


def test_the_draft_lists_each_petition_heard_in_order_with_its_times() -> None:
    log = [
        LogEntry("started", at(8, 2), "Chủ tịch UBND tỉnh Hưng Yên"),
        LogEntry(
            "participant_joined", at(8, 3), "Cán bộ Văn Lâm", 3, "Ban Tiếp công dân huyện Văn Lâm"
        ),
        # Petition 2's link lost its times: the log's petition_heard entry still has them.
        LogEntry(
            "petition_heard",
            at(9),
            "Cán bộ",
            petition_id=2,
            detail={"heard_from": at(9, 5).isoformat(), "heard_to": at(9, 30).isoformat()},
        ),
        LogEntry("note", at(9, 40), "Cán bộ", detail={"text": "Công dân xin nộp thêm tài liệu."}),
        LogEntry("ended", at(10, 30), "Chủ tịch UBND tỉnh Hưng Yên"),
    ]
    heard = [
        petition(
            2, "Trần Văn Đức", None, None, status="transferred", competent_body="UBND huyện Văn Lâm"
        ),
        petition(1, "Nguyễn Thị Hoa", at(8, 15), at(8, 40), status="accepted"),
    ]
    content = draft(FACTS, log, heard, recorder="Cán bộ tiếp công dân tỉnh Hưng Yên")
    assert [(p.petitioner, p.heard_from, p.heard_to) for p in content.petitions] == [
        ("Nguyễn Thị Hoa", at(8, 15), at(8, 40)),
        ("Trần Văn Đức", at(9, 5), at(9, 30)),
    ]
    assert content.petitions[0].handling == "Thụ lý giải quyết theo thẩm quyền"
    assert content.petitions[1].handling == "Chuyển đơn đến UBND huyện Văn Lâm"
    assert content.opened_at == at(8, 2) and content.closed_at == at(10, 30)
    assert content.sites == ("Ban Tiếp công dân tỉnh Hưng Yên", "Ban Tiếp công dân huyện Văn Lâm")
    assert content.absent_sites == ("Phường Phố Hiến",)
    assert content.participants == ("Cán bộ Văn Lâm", "Cán bộ")  # the chair is named apart
    assert content.notes == "Công dân xin nộp thêm tài liệu."
    assert content.number == ".../BB-HY" and content.place_name == "Hưng Yên"
    assert from_json(to_json(content)) == content

    words = layout(content, VN)
    body = [line.text for line in words.body]
    assert "1. Đơn số HY-2026-000001 của Nguyễn Thị Hoa" in body
    assert "Thời gian: từ 08 giờ 15 phút đến 08 giờ 40 phút." in body
    assert "Thời gian: từ 09 giờ 05 phút đến 09 giờ 30 phút." in body
    assert body[-1].startswith("Phiên tiếp công dân kết thúc vào hồi 10 giờ 30 phút cùng ngày.")
    assert [line.text for line in words.header_right] == [
        MOTTO_STATE,
        MOTTO,
        "Hưng Yên, ngày 02 tháng 12 năm 2026",
    ]
    assert words.header_right[1].rule == 1.0 and words.header_right[1].bold
    assert words.title[0].text == TITLE


def test_times_are_written_in_vietnam_whatever_offset_they_came_with() -> None:
    content = draft(FACTS, [], [petition(1, "Nguyễn Thị Hoa", at(8, 15), at(8, 40))], "")
    utc = to_json(content)
    utc["petitions"][0]["heard_from"] = at(8, 15).astimezone(ZoneInfo("UTC")).isoformat()
    body = [line.text for line in layout(from_json(utc), VN).body]
    assert "Thời gian: từ 08 giờ 15 phút đến 08 giờ 40 phút." in body


@pytest.mark.parametrize(
    ("office", "place"),
    [
        ("Trụ sở Tiếp công dân Trung ương (Hà Nội)", "Hà Nội"),
        ("Ban Tiếp công dân tỉnh Hưng Yên", "Hưng Yên"),
        ("Ban Tiếp công dân thành phố Hải Phòng", "Hải Phòng"),
        ("Ban Tiếp công dân huyện Văn Lâm", "Văn Lâm"),
        ("Xã Tân Sơn", "Tân Sơn"),
        ("Phường Phố Hiến", "Phố Hiến"),
    ],
)
def test_the_place_of_the_date_line_comes_from_the_office_name(office: str, place: str) -> None:
    assert place_name(office) == place


def test_the_date_line_pads_days_under_10_and_months_1_and_2() -> None:
    assert vn_date_words(datetime(2026, 12, 2), "Hà Nội") == "Hà Nội, ngày 02 tháng 12 năm 2026"
    assert vn_date_words(datetime(2027, 1, 15), "Hà Nội") == "Hà Nội, ngày 15 tháng 01 năm 2027"
    assert vn_date_words(datetime(2027, 3, 5), "Hưng Yên") == "Hưng Yên, ngày 05 tháng 3 năm 2027"


def test_the_number_is_filled_in_at_sign_off() -> None:
    assert symbol_for("HY.VANLAM") == ".../BB-VANLAM"
    assert numbered(".../BB-HY", 12) == "12/BB-HY"
    assert numbered("07/BB-HY", 12) == "07/BB-HY"  # staff wrote one in: kept


def test_content_rules_name_the_field() -> None:
    data = to_json(draft(FACTS, [], [petition(1, "Nguyễn Thị Hoa", at(9), at(9, 30))], ""))
    data["petitions"][0]["heard_to"] = (at(9) - timedelta(minutes=1)).isoformat()
    with pytest.raises(ValidationFailed) as caught:
        from_json(data)
    assert "petitions.0.heard_to" in caught.value.fields
    data = to_json(draft(FACTS, [], [], ""))
    data["closed_at"] = at(7).isoformat()
    data["chair"] = " "
    with pytest.raises(ValidationFailed) as caught:
        from_json(data)
    assert {"closed_at", "chair"} <= set(caught.value.fields)


def test_signed_minutes_and_stale_versions_are_conflicts_that_say_why() -> None:
    check_editable("draft", None, None)
    with pytest.raises(Conflict, match="signed off by Chủ tịch UBND tỉnh Hưng Yên at 10:45"):
        check_editable("signed", "Chủ tịch UBND tỉnh Hưng Yên", "10:45 02/12/2026")
    check_version(3, 3, None, None)
    with pytest.raises(Conflict, match=r"by Cán bộ at 09:00.*version 2, the latest is 3") as caught:
        check_version(3, 2, "Cán bộ", "09:00 02/12/2026")
    assert "version" in caught.value.fields

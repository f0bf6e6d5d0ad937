"""The minutes laid out as a Vietnamese administrative document (Nghị định 30/2020/NĐ-CP,
Phụ lục I): the blocks and lines both the DOCX and the PDF writers draw, so the two say the same
words in the same places.

Top left the issuing body (its parent body above it, upper case; the body itself bold, a short
rule under it) and the number and symbol; top right the national motto (the motto's second line
bold with a rule under it) and the place and date in italics; then the title, the body in
paragraphs with a first-line indent, and the signature blocks."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, tzinfo

from hub.domain.minutes import MinutesContent

MOTTO_STATE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TITLE = "BIÊN BẢN"
_NO_TIME = "... giờ ... phút"


class Align(enum.StrEnum):
    """How a line sits in its column."""

    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"
    JUSTIFY = "justify"


@dataclass(frozen=True)
class Line:
    """One paragraph of the document, with its typography (sizes in points, as ND 30 gives
    them: 12-14 pt for the blocks, 13-14 pt for the body)."""

    text: str
    size: float = 13
    bold: bool = False
    italic: bool = False
    align: Align = Align.JUSTIFY
    # The national motto and the issuing body each carry a rule under them (ND 30: a solid
    # line as long as the text for the motto, a third to half of it for the body).
    rule: float = 0.0
    indent: bool = False
    space_before: float = 0.0


@dataclass(frozen=True)
class Layout:
    """The whole document: the two header columns, the title, the body, the two signatures."""

    header_left: tuple[Line, ...]
    header_right: tuple[Line, ...]
    title: tuple[Line, ...]
    body: tuple[Line, ...]
    sign_left: tuple[Line, ...]
    sign_right: tuple[Line, ...]
    signed_note: str


def vn_date_words(moment: datetime, place: str) -> str:
    """'Hà Nội, ngày 02 tháng 12 năm 2026': day under 10 and months 1 and 2 take a leading zero
    (ND 30, Phụ lục I, mục 5)."""
    month = f"{moment.month:02d}" if moment.month < 3 else str(moment.month)
    return f"{place}, ngày {moment.day:02d} tháng {month} năm {moment.year}"


def vn_clock(moment: datetime | None) -> str:
    """'08 giờ 15 phút'."""
    if moment is None:
        return _NO_TIME
    return f"{moment.hour:02d} giờ {moment.minute:02d} phút"


def _day(moment: datetime) -> str:
    month = f"{moment.month:02d}" if moment.month < 3 else str(moment.month)
    return f"ngày {moment.day:02d} tháng {month} năm {moment.year}"


def layout(
    content: MinutesContent,
    tz: tzinfo,
    *,
    signed_by: str | None = None,
    signed_at: datetime | None = None,
) -> Layout:
    """The document for the content, every time read in `tz` (the offices' own time);
    `signed_by` and `signed_at` add the sign-off note."""
    opened = content.opened_at.astimezone(tz)
    closed = content.closed_at.astimezone(tz) if content.closed_at else None
    left: list[Line] = []
    if content.parent_body:
        left.append(Line(content.parent_body, size=12, align=Align.CENTER))
    left.append(Line(content.issuing_body, size=12, bold=True, align=Align.CENTER, rule=0.4))
    left.append(Line(f"Số: {content.number}", size=13, align=Align.CENTER, space_before=6))
    right = (
        Line(MOTTO_STATE, size=12, bold=True, align=Align.CENTER),
        Line(MOTTO, size=13, bold=True, align=Align.CENTER, rule=1.0),
        Line(
            vn_date_words(opened, content.place_name),
            size=13,
            italic=True,
            align=Align.CENTER,
            space_before=6,
        ),
    )
    title = (
        Line(TITLE, size=14, bold=True, align=Align.CENTER, space_before=18),
        Line(content.title, size=14, bold=True, align=Align.CENTER),
    )
    body: list[Line] = []

    def para(text: str, **kw: object) -> None:
        body.append(Line(text, indent=True, **kw))  # type: ignore[arg-type]

    def heading(text: str) -> None:
        body.append(Line(text, bold=True, indent=True, space_before=6))

    where = f", tại {content.location}" if content.location else ""
    para(
        f"Vào hồi {vn_clock(opened)}, {_day(opened)}{where}, {content.host_office} "
        "tổ chức phiên tiếp công dân trực tuyến, kết nối các điểm cầu dưới đây.",
        space_before=12,
    )
    heading("I. THÀNH PHẦN")
    para(f"1. Chủ trì: {content.chair}.")
    para("2. Tham dự:" if content.participants else "2. Tham dự: không ghi nhận.")
    for person in content.participants:
        para(f"- {person};")
    para("3. Các điểm cầu kết nối:")
    for site in content.sites:
        para(f"- {site};")
    if content.absent_sites:
        para("Điểm cầu được mời nhưng không kết nối: " + ", ".join(content.absent_sites) + ".")
    if content.recorder:
        para(f"4. Người ghi biên bản: {content.recorder}.")
    heading("II. NỘI DUNG")
    if not content.petitions:
        para("Không có đơn nào được xem xét tại phiên tiếp.")
    for i, p in enumerate(content.petitions, 1):
        body.append(Line(f"{i}. Đơn số {p.case_code} của {p.petitioner}", bold=True, indent=True))
        start = p.heard_from.astimezone(tz) if p.heard_from else None
        end = p.heard_to.astimezone(tz) if p.heard_to else None
        para(f"Thời gian: từ {vn_clock(start)} đến {vn_clock(end)}.")
        if p.summary:
            para(f"Nội dung: {p.summary}")
        if p.notes:
            para(f"Ý kiến tại phiên tiếp: {p.notes}")
        para(f"Hướng xử lý: {p.handling}.")
    if content.notes:
        heading("III. GHI CHÚ")
        for text in content.notes.splitlines():
            if text.strip():
                para(text.strip())
    if content.conclusion:
        heading("IV. KẾT LUẬN" if content.notes else "III. KẾT LUẬN")
        for text in content.conclusion.splitlines():
            if text.strip():
                para(text.strip())
    if closed is not None:
        same_day = closed.date() == opened.date()
        when = "cùng ngày" if same_day else _day(closed)
        ending = f"Phiên tiếp công dân kết thúc vào hồi {vn_clock(closed)} {when}."
    else:
        ending = "Phiên tiếp công dân chưa kết thúc tại thời điểm lập biên bản."
    para(
        f"{ending} Biên bản đã được đọc lại cho những người tham dự cùng nghe và thống nhất.",
        space_before=6,
    )
    sign_left = (
        Line("NGƯỜI GHI BIÊN BẢN", size=13, bold=True, align=Align.CENTER, space_before=12),
        Line("(Ký, ghi rõ họ tên)", size=13, italic=True, align=Align.CENTER),
        Line(content.recorder or " ", size=13, bold=True, align=Align.CENTER, space_before=48),
    )
    sign_right = (
        Line("NGƯỜI CHỦ TRÌ", size=13, bold=True, align=Align.CENTER, space_before=12),
        Line("(Ký, ghi rõ họ tên)", size=13, italic=True, align=Align.CENTER),
        Line(content.chair, size=13, bold=True, align=Align.CENTER, space_before=48),
    )
    note = ""
    if signed_by and signed_at is not None:
        signed_at = signed_at.astimezone(tz)
        note = (
            f"Đã ký duyệt: {signed_by}, lúc {signed_at.hour:02d} giờ {signed_at.minute:02d} "
            f"phút {_day(signed_at)}."
        )
    return Layout(
        header_left=tuple(left),
        header_right=right,
        title=title,
        body=tuple(body),
        sign_left=sign_left,
        sign_right=sign_right,
        signed_note=note,
    )

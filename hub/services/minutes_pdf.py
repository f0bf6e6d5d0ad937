"""The minutes as a PDF (fpdf2), laid out like the DOCX: A4, ND 30's margins, in Liberation
Serif, Times New Roman's metric twin with every Vietnamese letter, embedded as a subset (a CID
font with a ToUnicode map, so the text copies and searches with its diacritics intact).

Why fpdf2 rather than reportlab: it is pure Python (nothing to compile for the server's Python),
embeds TrueType fonts as Identity-H CID fonts with their ToUnicode map by default, and its
text regions justify paragraphs with a first-line indent, which is all an administrative
document needs; reportlab's flowables would be a larger dependency for the same page. CPU work:
run it through hub.services.documents, off the event loop."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align as FpdfAlign

from hub.domain.errors import DomainError
from hub.domain.minutes_layout import Align, Layout, Line

# Debian's fonts-liberation2 (the Makefile's system-deps install it).
FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
FONT_FILES = {
    "": "LiberationSerif-Regular.ttf",
    "B": "LiberationSerif-Bold.ttf",
    "I": "LiberationSerif-Italic.ttf",
    "BI": "LiberationSerif-BoldItalic.ttf",
}
FAMILY = "LiberationSerif"
_ALIGN = {
    Align.LEFT: FpdfAlign.L,
    Align.CENTER: FpdfAlign.C,
    Align.RIGHT: FpdfAlign.R,
    Align.JUSTIFY: FpdfAlign.J,
}
_PT = 25.4 / 72  # millimetres per point
LEFT, RIGHT, TOP, BOTTOM = 30.0, 15.0, 20.0, 20.0
# The header's left column starts 10 mm into the left margin, so that an issuing body's
# name fits on one or two lines; the motto's column takes the rest.
HEADER_LEFT_X, HEADER_LEFT_WIDTH = 20.0, 82.0


class FontMissing(DomainError):
    """Liberation Serif is not installed where Debian puts it: the server lacks a package."""

    status = 503
    code = "unavailable"


def _fonts(pdf: FPDF, font_dir: Path) -> None:
    for style, name in FONT_FILES.items():
        path = font_dir / name
        if not path.is_file():
            raise FontMissing(
                f"the PDF cannot be made: {path} is missing (install Debian's fonts-liberation2)"
            )
        pdf.add_font(FAMILY, style, str(path))


def _style(line: Line) -> str:
    return ("B" if line.bold else "") + ("I" if line.italic else "")


def _line_height(line: Line) -> float:
    return line.size * _PT * 1.25


def _column(pdf: FPDF, lines: tuple[Line, ...], x: float, y: float, width: float) -> float:
    """Lines centred (or as each says) in a column; returns the y below the last one."""
    for line in lines:
        y += line.space_before * _PT
        pdf.set_font(FAMILY, _style(line), line.size)
        pdf.set_xy(x, y)
        pdf.multi_cell(width, _line_height(line), line.text, align=_ALIGN[line.align])
        y = pdf.get_y()
        if line.rule > 0:
            text_width = min(width, pdf.get_string_width(line.text))
            length = text_width * line.rule
            start = x + (width - length) / 2
            pdf.set_line_width(0.3)
            pdf.line(start, y + 0.8, start + length, y + 0.8)
            y += 1.6
    return y


def render_pdf(doc_layout: Layout, font_dir: Path = FONT_DIR) -> bytes:
    """The PDF file's bytes."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.set_lang("vi-VN")
    title = " ".join(line.text for line in doc_layout.title)
    pdf.set_title(title)
    pdf.set_creator("tcd-hub")
    _fonts(pdf, font_dir)
    pdf.add_page()
    usable = pdf.w - LEFT - RIGHT
    left_end = _column(pdf, doc_layout.header_left, HEADER_LEFT_X, TOP, HEADER_LEFT_WIDTH)
    right_x = HEADER_LEFT_X + HEADER_LEFT_WIDTH
    right_end = _column(pdf, doc_layout.header_right, right_x, TOP, pdf.w - RIGHT - right_x)
    y = max(left_end, right_end)
    y = _column(pdf, doc_layout.title, LEFT, y, usable)
    pdf.set_xy(LEFT, y)
    with pdf.text_columns(text_align="J", line_height=1.25) as region:
        for line in doc_layout.body:
            pdf.set_font(FAMILY, _style(line), line.size)
            with region.paragraph(
                text_align=_ALIGN[line.align],
                top_margin=line.space_before * _PT,
                bottom_margin=4 * _PT,
                first_line_indent=12.7 if line.indent else 0,
            ) as paragraph:
                paragraph.write(line.text)
    # The signature blocks stay together on one page.
    needed = sum(_line_height(line) + line.space_before * _PT for line in doc_layout.sign_right)
    if pdf.get_y() + needed > pdf.h - BOTTOM:
        pdf.add_page()
    y = pdf.get_y()
    half = usable / 2
    end = max(
        _column(pdf, doc_layout.sign_left, LEFT, y, half),
        _column(pdf, doc_layout.sign_right, LEFT + half, y, half),
    )
    if doc_layout.signed_note:
        note = Line(doc_layout.signed_note, size=11, italic=True, align=Align.LEFT)
        _column(pdf, (note,), LEFT, end + 6, usable)
    return bytes(pdf.output())

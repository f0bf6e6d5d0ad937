"""The minutes as a Word document (python-docx): A4, ND 30's margins, Times New Roman throughout,
the header in a borderless two-column table, the body justified with a first-line indent, the
signature blocks side by side. CPU work: run it through hub.services.documents, off the loop."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_UNDERLINE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from hub.domain.minutes_layout import Align, Layout, Line

FONT = "Times New Roman"
_ALIGN = {
    Align.LEFT: WD_ALIGN_PARAGRAPH.LEFT,
    Align.CENTER: WD_ALIGN_PARAGRAPH.CENTER,
    Align.RIGHT: WD_ALIGN_PARAGRAPH.RIGHT,
    Align.JUSTIFY: WD_ALIGN_PARAGRAPH.JUSTIFY,
}


def _font_everywhere(doc: DocxDocument) -> None:
    """Times New Roman for every script Word distinguishes: Vietnamese letters with stacked
    diacritics would otherwise fall back to the theme's font for the 'complex' or East Asian
    slots on some installs."""
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(13)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), FONT)


def _write(paragraph: Paragraph, line: Line, *, indent: bool = True) -> None:
    paragraph.alignment = _ALIGN[line.align]
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(line.space_before)
    fmt.space_after = Pt(3 if line.align is Align.CENTER else 6)
    if line.indent and indent:
        fmt.first_line_indent = Mm(12.7)
    run = paragraph.add_run(line.text)
    run.font.name = FONT
    run.font.size = Pt(line.size)
    run.font.bold = line.bold
    run.font.italic = line.italic
    if line.rule >= 1.0:
        # The motto's rule is as long as its text: the text underlined.
        run.font.underline = WD_UNDERLINE.SINGLE


# What follows w:pBdr in CT_PPr (ECMA-376 Part 1, 17.3.1.26).
_AFTER_BORDER = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


def _short_rule(paragraph: Paragraph, column_mm: float, share: float) -> None:
    """A solid rule centred in its column, `share` of the column long: an empty paragraph
    indented from both sides with a bottom border (a real line, not underlined spaces)."""
    side = column_mm * (1 - share) / 2
    fmt = paragraph.paragraph_format
    fmt.left_indent, fmt.right_indent = Mm(side), Mm(side)
    fmt.space_before, fmt.space_after = Pt(0), Pt(2)
    fmt.line_spacing = Pt(2)
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (
        ("w:val", "single"),
        ("w:sz", "6"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        bottom.set(qn(name), value)
    border.append(bottom)
    # OOXML fixes the order of a paragraph's properties (Word refuses a file that breaks it).
    paragraph._p.get_or_add_pPr().insert_element_before(border, *_AFTER_BORDER)


def _column(cell: _Cell, lines: tuple[Line, ...], cell_width_mm: float) -> None:
    first = True
    for line in lines:
        paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        _write(paragraph, line)
        if 0 < line.rule < 1.0:
            _short_rule(cell.add_paragraph(), cell_width_mm, line.rule)


def render_docx(doc_layout: Layout) -> bytes:
    """The .docx file's bytes."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    # ND 30, Phụ lục I: top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    _font_everywhere(doc)
    doc.core_properties.title = " ".join(line.text for line in doc_layout.title)
    doc.core_properties.language = "vi-VN"

    header = doc.add_table(rows=1, cols=2)
    header.alignment = WD_TABLE_ALIGNMENT.CENTER
    header.autofit = False
    left, right = header.rows[0].cells
    left.width, right.width = Mm(70), Mm(95)
    _column(left, doc_layout.header_left, 70)
    _column(right, doc_layout.header_right, 95)

    for line in doc_layout.title:
        _write(doc.add_paragraph(), line)
    for line in doc_layout.body:
        _write(doc.add_paragraph(), line)

    signatures = doc.add_table(rows=1, cols=2)
    signatures.autofit = False
    sign_left, sign_right = signatures.rows[0].cells
    sign_left.width, sign_right.width = Mm(80), Mm(85)
    _column(sign_left, doc_layout.sign_left, 80)
    _column(sign_right, doc_layout.sign_right, 85)
    if doc_layout.signed_note:
        _write(
            doc.add_paragraph(),
            Line(doc_layout.signed_note, size=11, italic=True, align=Align.LEFT, space_before=12),
        )
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

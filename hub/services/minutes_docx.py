"""The minutes as a Word document (python-docx): A4, ND 30's margins, Times New Roman throughout,
the header in a borderless two-column table, the body justified with a first-line indent, the
signature blocks side by side. CPU work: run it through hub.services.documents, off the loop."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_UNDERLINE
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
# The rule under the issuing body: underlined em spaces, about a third of its text's width.
_EM_SPACE = "\u2003"


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


def _column(cell: _Cell, lines: tuple[Line, ...]) -> None:
    first = True
    for line in lines:
        paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        _write(paragraph, line)
        if 0 < line.rule < 1.0:
            rule = cell.add_paragraph()
            rule.alignment = WD_ALIGN_PARAGRAPH.CENTER
            rule.paragraph_format.space_after = Pt(0)
            width = max(4, int(len(line.text) * line.rule * 0.5))
            run = rule.add_run(_EM_SPACE * width)
            run.font.name = FONT
            run.font.size = Pt(6)
            run.font.underline = WD_UNDERLINE.SINGLE


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
    _column(left, doc_layout.header_left)
    _column(right, doc_layout.header_right)

    for line in doc_layout.title:
        _write(doc.add_paragraph(), line)
    for line in doc_layout.body:
        _write(doc.add_paragraph(), line)

    signatures = doc.add_table(rows=1, cols=2)
    signatures.autofit = False
    sign_left, sign_right = signatures.rows[0].cells
    sign_left.width, sign_right.width = Mm(80), Mm(85)
    _column(sign_left, doc_layout.sign_left)
    _column(sign_right, doc_layout.sign_right)
    if doc_layout.signed_note:
        _write(
            doc.add_paragraph(),
            Line(doc_layout.signed_note, size=11, italic=True, align=Align.LEFT, space_before=12),
        )
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

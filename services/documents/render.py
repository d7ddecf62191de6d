"""A document's content rendered as PDF (WeasyPrint) and Word (python-docx), deterministically.

Nothing here reads a clock or a random source: the same content gives the same bytes, in
any process, on a machine with the same fonts (Debian's `fonts-noto-cjk`: Noto Serif CJK
SC, embedded as subsets, so a reader needs no font of its own). The layout follows the
district's uniform format: the issuer and the title centred at the top, the number on the
right, body text indented two characters, the seal block at the bottom right, page
numbers as — 1 —.
"""

import html
import io
import logging
import shutil
import subprocess
import zipfile
from datetime import datetime

from docx import Document as WordDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

# WeasyPrint logs each step of each render at INFO: not news in this service's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

SERIF = "Noto Serif CJK SC"
# The fixed moment written wherever a format wants one (zip entries, Word's core properties).
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

CSS = f"""
@page {{
  size: A4;
  margin: 25mm 26mm 25mm 28mm;
  @bottom-center {{ content: "— " counter(page) " —"; font-family: "{SERIF}"; font-size: 11pt; }}
}}
html {{ font-family: "{SERIF}", serif; font-size: 12.5pt; line-height: 1.55; color: #000; }}
body {{ margin: 0; }}
.issuer {{ text-align: center; font-size: 18pt; font-weight: bold; letter-spacing: 0.05em; margin: 0; }}
.title {{ text-align: center; font-size: 22pt; font-weight: bold; letter-spacing: 0.3em; margin: 2mm 0 4mm 0; }}
.number {{ text-align: right; margin: 0 0 3mm 0; }}
.number .case {{ float: left; }}
p {{ margin: 0 0 1.5mm 0; text-align: justify; }}
p.indent {{ text-indent: 2em; }}
p.right {{ text-align: right; }}
h2 {{ font-size: 12.5pt; font-weight: bold; margin: 2mm 0 1mm 0; }}
table {{ width: 100%; border-collapse: collapse; margin: 1mm 0 3mm 0; }}
td, th {{ border: 0.6pt solid #000; padding: 1mm 2mm; vertical-align: top; font-size: 11pt; line-height: 1.45; }}
tr {{ break-inside: avoid; }}
th {{ font-weight: bold; text-align: center; }}
table.fields td.label {{ width: 30%; white-space: nowrap; }}
td.figure {{ text-align: right; }}
.closing {{ break-inside: avoid; }}
table.signatures {{ break-inside: avoid; margin: 4mm 0 0 0; border-collapse: separate; border-spacing: 0 6mm; }}
table.signatures td {{ border: none; padding: 0; font-size: 12.5pt; vertical-align: bottom; white-space: nowrap; }}
table.signatures td.line {{ border-bottom: 0.6pt solid #000; width: 40%; }}
table.signatures td.date {{ text-align: right; width: 18%; }}
.seal {{ margin: 5mm 0 0 auto; width: 72%; text-align: center; break-inside: avoid; }}
.seal p {{ text-align: center; margin: 0; }}
.note {{ font-size: 10.5pt; line-height: 1.5; }}
.page-break {{ page-break-before: always; }}
"""


def font_problem():
    """None when fontconfig finds the documents' font, else what an operator must fix.

    Without it the Chinese text would fall back to whatever font is there, or be drawn as
    empty boxes: `/ready` says so rather than let a clerk print such a page.
    """
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return "fc-match not found: cannot check the fonts (Debian: fontconfig)"
    try:
        found = subprocess.run(
            [fc_match, "-f", "%{family}", SERIF], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"fc-match failed: {type(exc).__name__}"
    if SERIF not in found.split(","):
        return f"{SERIF} not installed (Debian: fonts-noto-cjk); fontconfig offers {found or 'nothing'}"
    return None


def to_html(content):
    """The content as an HTML page for WeasyPrint (also what a browser preview would show)."""
    e = html.escape
    head = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{e(content['title'])} {e(content['number'])}</title><style>{CSS}</style></head><body>"
    )
    parts = [head, _heading_html(content)]
    blocks = content["blocks"]
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block["type"] == "signatures" and following and following["type"] == "seal":
            # The signature lines and the seal stay on one page.
            parts.append('<div class="closing">')
            parts.append(_block_html(block, content))
        elif block["type"] == "seal" and index and blocks[index - 1]["type"] == "signatures":
            parts.append(_block_html(block, content) + "</div>")
        else:
            parts.append(_block_html(block, content))
    parts.append("</body></html>")
    return "".join(parts)


def _heading_html(content):
    e = html.escape
    return (
        f'<p class="issuer">{e(content["issuer"])}</p>'
        f'<p class="title">{e(content["title"])}</p>'
        f'<p class="number"><span class="case">案件编号：{e(content["case_number"] or "")}</span>'
        f"{e(content['number'])}</p>"
    )


def _text_html(text):
    return html.escape(text or "").replace("\n", "<br>")


def _block_html(block, content):
    kind = block["type"]
    if kind == "p":
        css = "indent" if block.get("indent") else ("right" if block.get("align") == "right" else "")
        return f'<p class="{css}">{_text_html(block["text"])}</p>'
    if kind == "h":
        return f"<h2>{_text_html(block['text'])}</h2>"
    if kind == "fields":
        rows = "".join(
            f'<tr><td class="label">{_text_html(label)}</td><td>{_text_html(value)}</td></tr>'
            for label, value in block["rows"]
        )
        return f'<table class="fields">{rows}</table>'
    if kind == "table":
        widths = block.get("widths") or []
        cols = "".join(f'<col style="width:{w}%">' for w in widths)
        header = ""
        if block.get("header"):
            header = "<tr>" + "".join(f"<th>{_text_html(h)}</th>" for h in block["header"]) + "</tr>"
        rows = "".join(
            "<tr>" + "".join(_cell_html(cell, i, block) for i, cell in enumerate(row)) + "</tr>"
            for row in block["rows"]
        )
        return f"<table><colgroup>{cols}</colgroup>{header}{rows}</table>"
    if kind == "signatures":
        rows = "".join(
            f'<tr><td>{_text_html(label)}：</td><td class="line"></td><td class="date">{_text_html(date)}</td></tr>'
            for label, date in block["rows"]
        )
        return f'<table class="signatures">{rows}</table>'
    if kind == "seal":
        return f'<div class="seal"><p>{_text_html(block["issuer"])}（印章）</p><p>{_text_html(block["date"])}</p></div>'
    if kind == "note":
        return f'<p class="note">{_text_html(block["text"])}</p>'
    if kind == "page_break":
        return f'<div class="page-break"></div>{_heading_html(content)}'
    raise ValueError(f"unknown block type {kind!r}")


def _cell_html(cell, index, block):
    figure = block.get("header") and index == len(block["header"]) - 1 and "金额" in block["header"][-1]
    css = ' class="figure"' if figure else ""
    return f"<td{css}>{_text_html(cell)}</td>"


def render_pdf(content):
    """The PDF bytes of a document's content: the same content gives the same bytes."""
    from weasyprint import HTML  # imported here: loading pango takes a moment, and only this needs it

    return HTML(string=to_html(content)).write_pdf(pdf_identifier=content["number"].encode("utf-8"))


# --- Word ---------------------------------------------------------------------------------


def render_docx(content):
    """The .docx bytes of a document's content, for a clerk to correct before printing."""
    document = WordDocument()
    _setup_word(document, content)
    _word_heading(document, content)
    for block in content["blocks"]:
        _word_block(document, block, content)
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


def _setup_word(document, content):
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(25), Mm(25)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    style = document.styles["Normal"]
    style.font.name = SERIF
    style.font.size = Pt(13.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), SERIF)
    style.paragraph_format.space_after = Pt(2)
    style.paragraph_format.line_spacing = 1.4
    properties = document.core_properties
    properties.title = f"{content['title']} {content['number']}"
    properties.author = content["issuer"]
    properties.last_modified_by = content["issuer"]
    properties.comments = ""
    properties.revision = 1
    properties.created = properties.modified = datetime(2000, 1, 1)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number_field(footer)


def _page_number_field(paragraph):
    paragraph.add_run("— ")
    run = paragraph.add_run()
    for tag, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if tag:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), tag)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    paragraph.add_run(" —")


def _word_paragraph(document, text, size=None, bold=False, align=None, indent=False):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text or "")
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if align:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(27)
    return paragraph


def _word_heading(document, content):
    _word_paragraph(document, content["issuer"], size=18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _word_paragraph(document, content["title"], size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _word_paragraph(document, f"案件编号：{content['case_number'] or ''}", align=WD_ALIGN_PARAGRAPH.LEFT)
    _word_paragraph(document, content["number"], align=WD_ALIGN_PARAGRAPH.RIGHT)


def _word_table(document, header, rows, widths=None):
    table = document.add_table(rows=0, cols=len(rows[0]) if rows else len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cells, bold in ([(header, True)] if header else []) + [(row, False) for row in rows]:
        row = table.add_row()
        for index, text in enumerate(cells):
            cell = row.cells[index]
            cell.paragraphs[0].add_run(text or "").bold = bold
            cell.paragraphs[0].runs[0].font.size = Pt(12)
            if widths:
                cell.width = Mm(156 * widths[index] / 100)
    document.add_paragraph()
    return table


def _word_block(document, block, content):
    kind = block["type"]
    if kind == "p":
        align = WD_ALIGN_PARAGRAPH.RIGHT if block.get("align") == "right" else None
        _word_paragraph(document, block["text"], indent=block.get("indent"), align=align)
    elif kind == "h":
        _word_paragraph(document, block["text"], bold=True)
    elif kind == "fields":
        _word_table(document, None, block["rows"], [30, 70])
    elif kind == "table":
        _word_table(document, block.get("header"), block["rows"], block.get("widths"))
    elif kind == "signatures":
        for label, date in block["rows"]:
            _word_paragraph(document, f"{label}：＿＿＿＿＿＿＿＿＿＿　　{date}")
    elif kind == "seal":
        for text in (block["issuer"] + "（印章）", block["date"]):
            _word_paragraph(document, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
    elif kind == "note":
        _word_paragraph(document, block["text"], size=10.5)
    elif kind == "page_break":
        document.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
        _word_heading(document, content)
    else:
        raise ValueError(f"unknown block type {kind!r}")


def _fixed_zip_times(data):
    """The same archive with every entry dated FIXED_ZIP_TIME: zipfile stamps the current time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return buffer.getvalue()

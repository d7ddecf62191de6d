"""Every kind of document rendered for a realistic case, read back with poppler-utils.

What a clerk prints must carry the case's facts exactly (the case number, the names, the ID
number, the amounts in figures and in capitals) and the legal notices the kind needs; its
Chinese must be drawn with real glyphs of an embedded CJK font; and the same document must
render to the same bytes, in this process and in another one.
"""

import hashlib
import json
import re
import subprocess
import sys
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from fontTools.ttLib import TTCollection, TTFont

from services.documents.compose import Issue, compose
from services.documents.domain import CaseFile, document_number, issuer_name
from services.documents.render import SERIF, render_docx, render_pdf
from tests import documents_case as case
from tests.support import ROOT

ZONE = ZoneInfo("Asia/Shanghai")
CENTER = "华光街街道办事处"
COMMISSION = "乌鲁木齐市水磨沟区劳动人事争议仲裁委员会"
LAW = "《中华人民共和国劳动争议调解仲裁法》"

# kind → (the case's events, what its text must say beyond the case's identity)
KINDS = {
    "acceptance_notice": (
        case.AGREED_CASE,
        ["受理通知书", "第十四条", "十五日", "第二十七条", "一年", "2026年3月17日"],
    ),
    "rejection_notice": (
        case.REFUSED_CASE,
        ["不予受理通知书", "被申请人明确拒绝调解", COMMISSION, "直接", "第二十七条"],
    ),
    "agreement": (
        case.AGREED_CASE,
        [
            "调解协议书",
            "12,000.50",
            case.AGREEMENT_CAPITALS,
            "2026年3月20日",
            "履行方式",
            "十五日内",
            "仲裁审查",
            "第七十四条",
            "第十四条",
            "第十六条",
            "支付令",
            "调解员（签名）",
            "申请人（签名）",
            "被申请人（盖章）",
            "李秀兰",
            "新调证字2024第0815号",
            "二〇二六年三月十日",
            "10,500.00",
            "1,500.50",
        ],
    ),
    "termination_notice": (
        case.FAILED_CASE,
        ["调解终止告知书", "双方对加班费数额分歧较大", "申请仲裁", COMMISSION, "第二十七条", "一年", "重新计算"],
    ),
    "session_record": (
        case.AGREED_CASE,
        ["调解笔录", "第一次调解", "第二次调解", "2026年3月5日 10:00", "被申请人认可欠薪事实", "李秀兰", "记录人"],
    ),
    "service_receipt": (
        case.AGREED_CASE,
        ["送达回证", "调解协议书（华光街劳调协字〔2026〕第4号）", "受送达人", "送达方式"],
    ),
}


def content_of(kind, issued_on=date(2026, 3, 10), sequence=5):
    events, _ = KINDS[kind]
    case_file = CaseFile.fold(case.CASE_ID, case.CENTER_ID, case.facts(events))
    case_file.check_allows(kind)
    served = None
    if kind == "service_receipt":
        served = {"kind": "agreement", "number": document_number(CENTER, "agreement", 2026, 4)}
    issue = Issue(
        issuer_name(CENTER), document_number(CENTER, kind, 2026, sequence), issued_on, COMMISSION, ZONE, served
    )
    return compose(kind, case_file, issue)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Each kind's PDF, written to a file, rendered once for the module."""
    folder = tmp_path_factory.mktemp("documents")
    paths = {}
    for kind in KINDS:
        path = folder / f"{kind}.pdf"
        path.write_bytes(render_pdf(content_of(kind)))
        paths[kind] = path
    return paths


def pdftotext(path):
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"[ \t]+", " ", text)


def squeezed(text):
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_prints_the_case_and_the_notices_it_needs(rendered, kind):
    text = pdftotext(rendered[kind])
    flat = squeezed(text)
    identity = [
        case.CASE_NUMBER,
        case.APPLICANT["name"],
        case.RESPONDENT["name"],
        issuer_name(CENTER),
        document_number(CENTER, kind, 2026, 5),
    ]
    if kind != "service_receipt":
        identity.append(case.APPLICANT["id_number"])
    for expected in identity + KINDS[kind][1]:
        assert squeezed(expected) in flat, f"{kind}: {expected!r} missing"
    if kind in ("acceptance_notice", "rejection_notice", "agreement", "termination_notice"):
        assert LAW in flat, kind
    if kind != "session_record":
        assert "二〇二六年三月十日" in flat, kind


def test_the_agreement_names_both_parties_with_their_identification(rendered):
    flat = squeezed(pdftotext(rendered["agreement"]))
    for expected in (
        case.APPLICANT["id_number"],
        case.RESPONDENT["credit_code"],
        case.RESPONDENT["legal_representative"],
        case.APPLICANT["address"],
        "居民身份证号码",
        "统一社会信用代码",
    ):
        assert squeezed(expected) in flat, expected


def test_every_font_is_an_embedded_subset_of_noto_cjk(rendered):
    for kind, path in rendered.items():
        lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
        fonts = [line.split() for line in lines[2:] if line.strip()]
        assert fonts, kind
        for row in fonts:
            name, embedded, subset = row[0], row[-5], row[-4]
            assert "Noto-Serif-CJK-SC" in name, f"{kind}: {name}"
            assert embedded == "yes" and subset == "yes", f"{kind}: {row}"


def _font_characters():
    """Every character the regular and bold Noto Serif CJK SC faces have a glyph for."""
    covered = None
    for style in ("", ":bold"):
        path = subprocess.run(
            ["fc-match", "-f", "%{file}", f"{SERIF}{style}"], capture_output=True, text=True, check=True
        ).stdout
        for font in TTCollection(path).fonts:
            if font["name"].getDebugName(1).startswith(SERIF):
                characters = set(font.getBestCmap())
                covered = characters if covered is None else covered & characters
                break
    return covered


def test_every_character_printed_has_a_glyph_in_the_font(rendered):
    """A character missing from the font would be drawn as an empty box (.notdef)."""
    covered = _font_characters()
    assert covered, f"{SERIF} not found by fontconfig (Debian: fonts-noto-cjk)"
    for kind in KINDS:
        text = json.dumps(content_of(kind), ensure_ascii=False)
        missing = {c for c in text if not c.isspace() and ord(c) not in covered}
        assert not missing, f"{kind}: no glyph for {sorted(missing)}"


def test_a_page_as_png_is_drawn_in_ink_where_the_text_is(rendered, tmp_path):
    """pdftoppm draws the first page: real glyphs leave ink in the text area, not a blank page."""
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-f", "1", "-l", "1", str(rendered["agreement"]), str(tmp_path / "page")],
        check=True,
    )
    [page] = tmp_path.glob("page*.pgm")
    data = page.read_bytes()
    header, pixels = data.split(b"\n255\n", 1)
    dark = sum(1 for value in pixels if value < 128)
    assert 0.02 < dark / len(pixels) < 0.3, dark / len(pixels)


def test_the_same_document_renders_to_the_same_bytes_here_and_in_another_process():
    content = content_of("agreement")
    first, second = render_pdf(content), render_pdf(content)
    assert first == second
    script = (
        "import hashlib, sys; from tests.unit.test_documents_rendering import content_of;"
        " from services.documents.render import render_pdf;"
        " sys.stdout.write(hashlib.sha256(render_pdf(content_of('agreement'))).hexdigest())"
    )
    others = {
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert others == {hashlib.sha256(first).hexdigest()}


def test_the_word_file_is_the_same_document_and_the_same_bytes_again():
    import io

    from docx import Document

    content = content_of("agreement")
    first = render_docx(content)
    assert render_docx(content) == first
    document = Document(io.BytesIO(first))
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    for expected in (
        case.CASE_NUMBER,
        case.APPLICANT["name"],
        case.APPLICANT["id_number"],
        "12,000.50",
        case.AGREEMENT_CAPITALS,
        "第七十四条",
        "二〇二六年三月十日",
    ):
        assert expected in text, expected
    assert document.styles["Normal"].font.name == SERIF


def test_a_uyghur_name_is_drawn_with_an_embedded_font_that_has_its_letters(tmp_path):
    """Names in the Arabic script (Uyghur) are drawn by DejaVu Sans (fonts-dejavu-core), embedded too."""
    name = "ئايگۈل مەمەت"
    events = [
        (source, event_type, version, at, {**data, "applicant": {**case.APPLICANT, "name": name}})
        if "applicant" in data
        else (source, event_type, version, at, data)
        for source, event_type, version, at, data in case.AGREED_CASE
    ]
    case_file = CaseFile.fold(case.CASE_ID, case.CENTER_ID, case.facts(events))
    issue = Issue(
        issuer_name(CENTER), document_number(CENTER, "agreement", 2026, 5), date(2026, 3, 10), COMMISSION, ZONE
    )
    path = tmp_path / "uyghur.pdf"
    path.write_bytes(render_pdf(compose("agreement", case_file, issue)))
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    fonts = {row.split()[0].split("+")[-1]: row.split()[-5] for row in lines[2:] if row.strip()}
    assert "DejaVu-Sans" in fonts and set(fonts.values()) == {"yes"}, fonts
    path_of = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Sans"], capture_output=True, text=True).stdout
    covered = set(TTFont(path_of).getBestCmap())
    assert all(ord(c) in covered for c in name if not c.isspace())


def test_readiness_names_a_font_fontconfig_does_not_have(monkeypatch):
    from services.documents import render

    assert render.font_problem() is None
    monkeypatch.setattr(render, "SERIF", "Noto Serif CJK Nowhere")
    assert "fonts-noto-cjk" in render.font_problem()


def test_finding5_the_termination_notice_of_a_respondents_refusal_without_a_mediator_says_so(tmp_path):
    source, event_type, version, occurred_at, data = case.FAILED
    refused = (
        source,
        event_type,
        3,
        occurred_at,
        {**data, "reason": "被申请人明确表示不同意调解", "reason_code": "respondent_refused", "mediator_id": None},
    )
    events = [case.RECEIVED, case.ACCEPTED, case.OPENED, refused]  # no mediator was ever assigned
    case_file = CaseFile.fold(case.CASE_ID, case.CENTER_ID, case.facts(events))
    case_file.check_allows("termination_notice")
    issue = Issue(
        issuer_name(CENTER), document_number(CENTER, "termination_notice", 2026, 6), date(2026, 3, 13), COMMISSION, ZONE
    )
    path = tmp_path / "refused.pdf"
    path.write_bytes(render_pdf(compose("termination_notice", case_file, issue)))
    flat = squeezed(pdftotext(path))
    assert "被申请人不同意调解（被申请人明确表示不同意调解），本中心于2026年3月12日终止调解" in flat
    assert "经调解" not in flat and "当事人不愿调解、调解不成的" in flat

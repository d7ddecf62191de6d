"""The pieces every kind of document is built of: the law's titles, dates as written, the
dispute's category, the parties, the table of claims and the issuer's seal."""

from decimal import Decimal

from .chinese import amount_in_figures, chinese_date, figures_date
from .domain import CATEGORY_NAMES, ID_TYPE_NAMES, local_date

LAW = "《中华人民共和国劳动争议调解仲裁法》"
RULES = "《劳动人事争议仲裁办案规则》"
BLANK = "＿＿＿＿＿＿＿＿"


def day_written(case_file_value, issue):
    day = local_date(case_file_value, issue.zone)
    return figures_date(day) if day else "＿＿年＿＿月＿＿日"


def dispute_category(case_file):
    return CATEGORY_NAMES.get(case_file.application.get("category"), "劳动") + "争议"


def applicant_rows(case_file, full=True):
    applicant = case_file.applicant
    rows = [
        ["申请人", applicant.get("name") or ""],
        [ID_TYPE_NAMES.get(applicant.get("id_type"), "身份证件") + "号码", applicant.get("id_number") or ""],
    ]
    for key, label in (("phone", "联系电话"), ("address", "住址"), ("job", "工作岗位")) if full else ():
        if applicant.get(key):
            rows.append([label, applicant[key]])
    return rows


def respondent_rows(case_file, full=True):
    respondent = case_file.respondent
    rows = [["被申请人", respondent.get("name") or ""]]
    if respondent.get("credit_code"):
        rows.append(["统一社会信用代码", respondent["credit_code"]])
    for key, label in (
        (("legal_representative", "法定代表人"), ("address", "住所"), ("contact", "联系电话")) if full else ()
    ):
        if respondent.get(key):
            rows.append([label, respondent[key]])
    return rows


def parties(case_file, full=True):
    """The parties with their identification; a notice names them, an agreement describes them."""
    return {"type": "fields", "rows": applicant_rows(case_file, full) + respondent_rows(case_file, full)}


def claims_table(case_file):
    claims = case_file.application.get("claims") or []
    rows = [
        [str(i), claim.get("item", ""), amount_in_figures(claim.get("amount", "0"))]
        for i, claim in enumerate(claims, 1)
    ]
    total = case_file.application.get("claimed_total")
    if total is None:
        total = sum((_decimal(c.get("amount", "0")) for c in claims), _decimal("0"))
    rows.append(["", "合计", amount_in_figures(total)])
    return {"type": "table", "header": ["序号", "请求事项", "金额（元）"], "rows": rows, "widths": [12, 58, 30]}


def _decimal(value):
    return Decimal(str(value))


def seal(issue, day=None):
    return {"type": "seal", "issuer": issue.issuer, "date": chinese_date(day or issue.issued_on)}

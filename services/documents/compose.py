"""What each kind of document says: the case file turned into a document's content (pure).

A document's content is plain data (title, issuer, number and a list of blocks), stored
when the document is issued and rendered from there to PDF and Word: a document fetched
again is the one issued, even after the case moved on.

Blocks: `p` (a paragraph; `indent` for body text), `h` (a heading), `fields` (label and
value rows: the parties), `table` (header and rows), `signatures` (lines to sign on),
`seal` (the issuer, its seal and the date), `note` (small print), `page_break`.
"""

import dataclasses
from datetime import date, datetime
from decimal import Decimal

from .chinese import amount_in_capitals, amount_in_figures, chinese_date, figures_date
from .domain import CATEGORY_NAMES, ID_TYPE_NAMES, KINDS, local_date

LAW = "《中华人民共和国劳动争议调解仲裁法》"
RULES = "《劳动人事争议仲裁办案规则》"
BLANK = "＿＿＿＿＿＿＿＿"


@dataclasses.dataclass(frozen=True)
class Issue:
    """The facts of the issuing itself: who issues, under which number, on which day."""

    issuer: str
    number: str
    issued_on: date
    commission: str
    zone: object
    served: dict | None = None  # for a service receipt: {kind, number} of the document served


def compose(kind, case_file, issue):
    blocks = _COMPOSERS[kind](case_file, issue)
    return {
        "kind": kind,
        "title": KINDS[kind][0],
        "issuer": issue.issuer,
        "number": issue.number,
        "case_number": case_file.case_number,
        "blocks": blocks,
    }


# --- pieces every kind uses ----------------------------------------------------------------


def _day(case_file_value, issue):
    day = local_date(case_file_value, issue.zone)
    return figures_date(day) if day else "＿＿年＿＿月＿＿日"


def _category(case_file):
    return CATEGORY_NAMES.get(case_file.application.get("category"), "劳动") + "争议"


def _applicant_rows(case_file, full=True):
    applicant = case_file.applicant
    rows = [
        ["申请人", applicant.get("name") or ""],
        [ID_TYPE_NAMES.get(applicant.get("id_type"), "身份证件") + "号码", applicant.get("id_number") or ""],
    ]
    for key, label in (("phone", "联系电话"), ("address", "住址"), ("job", "工作岗位")) if full else ():
        if applicant.get(key):
            rows.append([label, applicant[key]])
    return rows


def _respondent_rows(case_file, full=True):
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


def _parties(case_file, full=True):
    """The parties with their identification; a notice names them, an agreement describes them."""
    return {"type": "fields", "rows": _applicant_rows(case_file, full) + _respondent_rows(case_file, full)}


def _claims_table(case_file):
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


def _seal(issue, day=None):
    return {"type": "seal", "issuer": issue.issuer, "date": chinese_date(day or issue.issued_on)}


# --- the kinds ----------------------------------------------------------------------------


def _acceptance_notice(case_file, issue):
    applicant = case_file.applicant.get("name", "")
    deadline = _day(case_file.mediation_deadline, issue)
    return [
        {"type": "p", "text": f"{applicant}："},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"你于{_day(case_file.received_at, issue)}提出的与{case_file.respondent.get('name', '')}之间的"
                f"{_category(case_file)}调解申请，经审查，符合受理条件，本中心决定于"
                f"{_day(case_file.accepted_at, issue)}予以受理。现将有关事项告知如下："
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": ("一、本中心将指派持证调解员主持调解，调解遵循双方当事人自愿、合法的原则。"),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"二、依据{LAW}第十四条第三款，自本中心收到调解申请之日起十五日内未达成调解协议的，"
                f"当事人可以依法申请仲裁；经双方当事人同意，可以延长调解期限。本案调解期限至{deadline}。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"三、依据{LAW}第二十七条，劳动争议申请仲裁的时效期间为一年；当事人向本中心申请调解的，"
                "仲裁时效中断，从中断时起，仲裁时效期间重新计算。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                "四、当事人应当如实陈述案情，提供与争议有关的证据材料，按时参加调解；"
                "调解过程中，当事人可以随时要求终止调解，依法申请仲裁。"
            ),
        },
        {"type": "h", "text": "当事人"},
        _parties(case_file, full=False),
        {"type": "h", "text": "申请调解的请求"},
        _claims_table(case_file),
        _seal(issue),
    ]


def _rejection_notice(case_file, issue):
    applicant = case_file.applicant.get("name", "")
    reason = (case_file.not_accepted or {}).get("reason") or "不符合受理条件"
    return [
        {"type": "p", "text": f"{applicant}："},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"你于{_day(case_file.received_at, issue)}提出的与{case_file.respondent.get('name', '')}之间的"
                f"{_category(case_file)}调解申请，经审查，因{reason.rstrip('。')}，本中心决定不予受理。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"依据{LAW}第五条，发生劳动争议，当事人不愿调解、调解不成的，可以向劳动争议仲裁委员会申请仲裁。"
                f"你可以自收到本通知书之日起，依法直接向{issue.commission}申请仲裁。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"依据{LAW}第二十七条，劳动争议申请仲裁的时效期间为一年，从当事人知道或者应当知道"
                "其权利被侵害之日起计算；请在时效期间内依法申请仲裁。"
            ),
        },
        {"type": "h", "text": "当事人"},
        _parties(case_file, full=False),
        _seal(issue),
    ]


def _agreement(case_file, issue):
    agreement = case_file.agreement or {}
    amount = agreement.get("amount") or "0.00"
    due = _day(agreement.get("performance_due"), issue)
    mediator = case_file.mediator or {}
    signed_on = local_date(agreement.get("signed_at"), issue.zone) or issue.issued_on
    mediator_line = mediator.get("name") or ""
    if mediator.get("certificate_no"):
        mediator_line += f"（调解员证书编号：{mediator['certificate_no']}）"
    return [
        _parties(case_file),
        {"type": "fields", "rows": [["调解员", mediator_line]]},
        {"type": "h", "text": "争议事项"},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"申请人与被申请人因{_category(case_file)}，于{_day(case_file.received_at, issue)}向本中心申请调解，"
                f"本中心于{_day(case_file.accepted_at, issue)}受理。申请人的请求如下："
            ),
        },
        _claims_table(case_file),
        {"type": "h", "text": "协议内容"},
        {"type": "p", "indent": True, "text": "经本中心主持调解，双方当事人自愿达成如下协议："},
        {"type": "p", "indent": True, "text": f"一、{(agreement.get('terms') or '').strip()}"},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"二、被申请人于{due}前向申请人一次性支付人民币{amount_in_figures(amount)}元"
                f"（大写：人民币{amount_in_capitals(amount)}）。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"三、履行期限：{due}前履行完毕；履行方式：被申请人按本协议约定一次性足额支付，"
                "申请人收到款项后出具收条。"
            ),
        },
        {"type": "p", "indent": True, "text": "四、本协议履行完毕后，双方就本案争议再无其他纠纷。"},
        {"type": "h", "text": "告知事项"},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"一、依据{LAW}第十四条第二款，本协议书由双方当事人签名或者盖章，经调解员签名并加盖本中心印章后生效，"
                "对双方当事人具有约束力，当事人应当履行。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"二、依据{RULES}第七十四条，双方当事人可以自本协议生效之日起十五日内，"
                f"共同向{issue.commission}提出仲裁审查申请。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"三、依据{LAW}第十五条，达成调解协议后，一方当事人在协议约定期限内不履行调解协议的，"
                "另一方当事人可以依法申请仲裁。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"四、依据{LAW}第十六条，因支付拖欠劳动报酬、工伤医疗费、经济补偿或者赔偿金事项达成调解协议，"
                "用人单位在协议约定期限内不履行的，劳动者可以持调解协议书依法向人民法院申请支付令。"
            ),
        },
        {"type": "p", "indent": True, "text": "本协议书一式三份，双方当事人各执一份，本中心存档一份。"},
        {
            "type": "signatures",
            "rows": [
                ["申请人（签名）", "年　月　日"],
                ["被申请人（盖章）", "年　月　日"],
                ["法定代表人或委托代理人（签名）", "年　月　日"],
                ["调解员（签名）", "年　月　日"],
            ],
        },
        _seal(issue, signed_on),
    ]


def _termination_notice(case_file, issue):
    names = f"{case_file.applicant.get('name', '')}、{case_file.respondent.get('name', '')}"
    if case_file.failure:
        failure = case_file.failure
        ended = f"本中心于{_day(failure.get('failed_at'), issue)}终止调解"
        if failure.get("reason_code") == "respondent_refused":  # no mediation took place
            why = f"被申请人不同意调解（{(failure.get('reason') or '拒绝调解').rstrip('。')}），{ended}"
        else:
            why = f"经调解，双方当事人未能达成调解协议（{(failure.get('reason') or '调解不成').rstrip('。')}），{ended}"
        ended_on = failure.get("failed_at")
    else:
        deadline = (case_file.expiry or {}).get("deadline") or case_file.mediation_deadline
        why = (
            f"自本中心收到调解申请之日起至调解期限届满（{_day(deadline, issue)}），双方当事人未能达成调解协议，调解终止"
        )
        ended_on = deadline
    if case_file.failure:
        basis = (
            f"一、依据{LAW}第五条，发生劳动争议，当事人不愿调解、调解不成的，可以向劳动争议仲裁委员会申请仲裁。"
            f"当事人可以向{issue.commission}申请仲裁。"
        )
    else:
        basis = (
            f"一、依据{LAW}第十四条第三款，自劳动争议调解组织收到调解申请之日起十五日内未达成调解协议的，"
            f"当事人可以依法申请仲裁。当事人可以向{issue.commission}申请仲裁。"
        )
    blocks = [
        {"type": "p", "text": f"{names}："},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"你们之间的{_category(case_file)}，本中心于{_day(case_file.accepted_at, issue)}受理。{why}。"
                "现将有关事项告知如下："
            ),
        },
        {"type": "p", "indent": True, "text": basis},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"二、依据{LAW}第二十七条，劳动争议申请仲裁的时效期间为一年。因申请调解而中断的仲裁时效，"
                f"自调解终止之日（{_day(ended_on, issue)}）起重新计算，请在一年内依法申请仲裁。"
            ),
        },
    ]
    docketed = [r for r in case_file.referrals.values() if r.get("arbitration_case_no")]
    if docketed:
        blocks.append(
            {
                "type": "p",
                "indent": True,
                "text": (f"三、本中心已将本案移送{issue.commission}，仲裁案号：{docketed[0]['arbitration_case_no']}。"),
            }
        )
    blocks += [{"type": "h", "text": "当事人"}, _parties(case_file, full=False), _seal(issue)]
    return blocks


ORDINALS = "一二三四五六七八九十"


def _session_record(case_file, issue):
    mediator = (case_file.mediator or {}).get("name") or ""
    blocks = [
        {
            "type": "fields",
            "rows": [
                ["案由", _category(case_file)],
                *_applicant_rows(case_file),
                *_respondent_rows(case_file),
                ["调解员", mediator],
                ["记录人", ""],
            ],
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"调解员告知：本次调解依据{LAW}进行，遵循双方当事人自愿、合法的原则。当事人有权陈述意见、提供证据，"
                "有权申请调解员回避；调解过程中可以随时要求终止调解，依法申请仲裁。"
            ),
        },
    ]
    for index, session in enumerate(case_file.sessions):
        held = session.get("held_at")
        when = _day(held, issue)
        if held and len(str(held)) > 10:
            when += datetime.fromisoformat(str(held)).astimezone(issue.zone).strftime(" %H:%M")
        ordinal = ORDINALS[index] if index < len(ORDINALS) else str(index + 1)
        blocks.append({"type": "h", "text": f"第{ordinal}次调解　{when}"})
        blocks.append({"type": "p", "indent": True, "text": (session.get("summary") or "").strip()})
    blocks += [
        {"type": "p", "indent": True, "text": "以上笔录已交当事人阅看（向当事人宣读），当事人确认无误。"},
        {
            "type": "signatures",
            "rows": [
                ["申请人（签名）", "年　月　日"],
                ["被申请人（签名或盖章）", "年　月　日"],
                ["调解员（签名）", "年　月　日"],
                ["记录人（签名）", "年　月　日"],
            ],
        },
    ]
    return blocks


def _service_receipt(case_file, issue):
    served = issue.served or {}
    served_name = f"{KINDS[served['kind']][0]}（{served['number']}）" if served else ""
    recipients = [
        (case_file.applicant.get("name", ""), case_file.applicant.get("address") or ""),
        (case_file.respondent.get("name", ""), case_file.respondent.get("address") or ""),
    ]
    if served.get("kind") == "rejection_notice":
        recipients = recipients[:1]
    blocks = []
    for index, (name, address) in enumerate(recipients):
        if index:
            blocks.append({"type": "page_break", "title": KINDS["service_receipt"][0]})
        blocks += [
            {
                "type": "table",
                "header": None,
                "widths": [30, 70],
                "rows": [
                    ["案由", _category(case_file)],
                    ["送达文书名称及文号", served_name],
                    ["受送达人", name],
                    ["送达地址", address],
                    ["送达方式", "直接送达　□　邮寄送达　□　电子送达　□"],
                    ["受送达人签名或盖章", "\n\n\n　　　　　　　　　　　　年　月　日"],
                    ["代收人及代收理由", ""],
                    ["送达人", ""],
                    ["备注", ""],
                ],
            },
            {
                "type": "note",
                "text": (
                    "受送达人拒绝签收的，送达人应当在本回证上注明拒收事由和日期，由送达人、见证人签名，"
                    "将文书留在受送达人住所，视为送达。"
                ),
            },
            _seal(issue),
        ]
    return blocks


_COMPOSERS = {
    "acceptance_notice": _acceptance_notice,
    "rejection_notice": _rejection_notice,
    "agreement": _agreement,
    "termination_notice": _termination_notice,
    "session_record": _session_record,
    "service_receipt": _service_receipt,
}

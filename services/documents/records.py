"""The forms filled in by hand: 调解笔录 (one heading per session held) and 送达回证 (one page
per party a document is served on)."""

from datetime import datetime

from .domain import KINDS
from .pieces import LAW, applicant_rows, day_written, dispute_category, respondent_rows, seal

ORDINALS = "一二三四五六七八九十"


def session_record(case_file, issue):
    mediator = (case_file.mediator or {}).get("name") or ""
    blocks = [
        {
            "type": "fields",
            "rows": [
                ["案由", dispute_category(case_file)],
                *applicant_rows(case_file),
                *respondent_rows(case_file),
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
        when = day_written(held, issue)
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


def service_receipt(case_file, issue):
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
                    ["案由", dispute_category(case_file)],
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
            seal(issue),
        ]
    return blocks

"""调解协议书: the agreement the parties sign, with what they agreed, when it is paid, and what
they may do (arbitral review, arbitration, a payment order) if it is not performed."""

from .chinese import amount_in_capitals, amount_in_figures
from .domain import local_date
from .pieces import LAW, RULES, claims_table, day_written, dispute_category, parties, seal


def agreement(case_file, issue):
    agreement = case_file.agreement or {}
    amount = agreement.get("amount") or "0.00"
    due = day_written(agreement.get("performance_due"), issue)
    mediator = case_file.mediator or {}
    signed_on = local_date(agreement.get("signed_at"), issue.zone) or issue.issued_on
    mediator_line = mediator.get("name") or ""
    if mediator.get("certificate_no"):
        mediator_line += f"（调解员证书编号：{mediator['certificate_no']}）"
    return [
        parties(case_file),
        {"type": "fields", "rows": [["调解员", mediator_line]]},
        {"type": "h", "text": "争议事项"},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"申请人与被申请人因{dispute_category(case_file)}，于{day_written(case_file.received_at, issue)}向本中心申请调解，"
                f"本中心于{day_written(case_file.accepted_at, issue)}受理。申请人的请求如下："
            ),
        },
        claims_table(case_file),
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
        seal(issue, signed_on),
    ]

"""The console's Chinese words for the API's codes, and its validation messages in Chinese.

The services speak English codes and messages (CONTRACTS §2); a person reads Chinese
only. A message the console does not know becomes a plain Chinese request to check the
field, never the English text.
"""

import re
from datetime import datetime, timedelta

CATEGORIES = {
    "wages": "劳动报酬",
    "social_insurance": "社会保险和福利",
    "labor_protection": "劳动保护",
    "training": "职业培训",
    "contract_termination": "劳动合同变更、解除和终止",
    "employment_relationship": "确认劳动关系",
    "work_injury": "工伤医疗费",
    "compensation": "经济补偿和赔偿金",
    "other": "其他",
}
CHANNELS = {"walk_in": "来访", "phone": "电话", "online": "网上", "letter": "来信"}
SOURCES = {
    "self": "当事人申请",
    "arbitration_recommendation": "仲裁院调解建议书",
    "court_entrusted": "法院委托",
    "labor_inspection": "劳动监察转来",
    "petition": "信访转来",
}
ID_TYPES = {"resident_id": "居民身份证", "passport": "护照", "other": "其他证件"}

# Where a case stands: intake's statuses first, then mediation's (CONTRACTS §2).
STATUSES = {
    "received": "待受理",
    "accepted": "已受理",
    "not_accepted": "不予受理",
    "withdrawn": "已撤回",
    "mediating": "调解中",
    "agreement": "已达成协议（待履行）",
    "under_review": "仲裁审查中",
    "confirmed": "已确认（调解书）",
    "performed": "已履行",
    "defaulted": "未履行",
    "failed": "调解不成",
    "expired": "调解期满未结",
}
INTAKE_STATUSES = ("received", "accepted", "not_accepted", "withdrawn")
REFERRAL_STATUSES = {
    "pending": "已移送，待答复",
    "docketed": "仲裁院已立案",
    "declined": "仲裁院不予立案",
    "confirmed": "仲裁院已确认",
    "refused": "仲裁院不予确认",
}
COMPLAINT_STATUSES = {"open": "待答复", "answered": "已答复"}
REFERRAL_TYPES = {"referral": "移送仲裁", "review_request": "申请仲裁审查"}

EVENTS = {
    "ApplicationReceived": "登记申请",
    "CaseAccepted": "受理",
    "CaseNotAccepted": "不予受理",
    "ApplicationWithdrawn": "撤回申请",
    "PersonalDataErased": "个人信息已删除",
    "MediationOpened": "开始调解",
    "MediatorAssigned": "指派调解员",
    "SessionHeld": "记录调解",
    "MediationExtended": "延长调解期限",
    "AgreementReached": "达成调解协议",
    "MediationFailed": "调解不成",
    "MediationExpired": "调解期满",
    "MediationWithdrawn": "撤回调解",
    "WithdrawalRefused": "撤回申请未生效",
    "ReviewRequested": "申请仲裁审查",
    "ReviewOutcomeRecorded": "仲裁审查结果",
    "AgreementPerformed": "协议已履行",
    "AgreementDefaulted": "协议未履行",
    "SurveyRecorded": "满意度调查",
    "DocumentIssued": "出具文书",
    "ComplaintFiled": "登记投诉",
    "ComplaintAnswered": "答复投诉",
}

# A case still `mediating` after its deadline: mediation waits TIAOJIE_EXPIRY_GRACE_HOURS for staff
# to key in a step that happened by the deadline, then records the expiry itself.
PAST_DEADLINE = "已过调解期限，待补录或将自动终结"

# How a mediation ended, in a sentence's words ("调解已于 … 达成调解协议而结束").
MEDIATION_ENDINGS = {"agreement": "达成调解协议", "failed": "调解不成", "expired": "调解期满", "withdrawn": "撤回调解"}

DOCUMENT_KINDS = {
    "acceptance_notice": "受理通知书",
    "rejection_notice": "不予受理通知书",
    "agreement": "调解协议书",
    "termination_notice": "调解终止告知书",
    "session_record": "调解笔录",
    "service_receipt": "送达回证",
}

# Why a mediation failed (the failure's `reason_code`).
FAILURE_REASONS = {
    "respondent_refused": "被申请人拒绝调解",
    "no_agreement": "双方未能达成协议",
    "party_absent": "当事人未到场",
    "other": "其他原因",
}

# What the parties may do once an agreement is not performed (the default's guidance).
DEFAULT_GUIDANCE = {
    "court_enforcement": "调解书已确认：对方不履行的，可向人民法院申请强制执行（不再移送仲裁）",
    "arbitration": "协议未履行：已移送劳动人事争议仲裁，当事人可依法申请仲裁",
}
PAYMENT_ORDER = "本协议涉及劳动报酬、工伤医疗费或经济补偿、赔偿金：劳动者可依法向人民法院申请支付令"

ROLES = {"staff": "登记员/调解员", "head": "中心负责人", "district": "区级", "admin": "系统管理员"}
# Through which route a look at a case's personal data was taken (CONTRACTS §9).
LOOK_ROUTES = {
    "GET /api/v1/cases/{case_id}": "案件详情",
    "GET /api/v1/cases/{case_id}/history": "办理经过",
    "GET /api/v1/cases": "案件查询结果",
    "tiaojie privacy export": "个人信息导出（运维命令）",
    "mediation GET /api/v1/cases/{case_id}": "调解详情",
    "mediation GET /api/v1/cases/{case_id}/history": "调解经过",
    "mediation GET /api/v1/complaints/{complaint_id}": "投诉详情",
    "mediation GET /api/v1/complaints": "投诉列表",
    "arbitration_link GET /api/v1/referrals": "移送仲裁记录",
    "arbitration_link GET /api/v1/referrals/{referral_id}": "移送仲裁详情",
    "GET /api/v1/documents/{document_id}.pdf": "下载文书（PDF）",
    "GET /api/v1/documents/{document_id}.docx": "下载文书（Word）",
}

MACHINE_ROLES = {"center": "中心令牌", "district": "区级令牌", "admin": "管理令牌"}

FIELDS = {
    "center_id": "调解中心",
    "channel": "申请方式",
    "source": "案件来源",
    "category": "争议类别",
    "applicant.name": "申请人姓名",
    "applicant.id_type": "证件类型",
    "applicant.id_number": "证件号码",
    "applicant.phone": "联系电话",
    "applicant.address": "住址",
    "respondent.name": "被申请单位名称",
    "respondent.credit_code": "统一社会信用代码",
    "respondent.address": "单位地址",
    "respondent.legal_representative": "法定代表人",
    "workers_involved": "涉及人数",
    "description": "争议事实和理由",
    "received_at": "收到申请的时间",
    "claims": "请求事项",
    "decision": "决定",
    "reason": "理由",
    "reason_code": "调解不成的类型",
    "mediator_id": "调解员",
    "held_at": "调解时间",
    "summary": "调解情况",
    "days": "延长天数",
    "parties_consent": "双方同意",
    "terms": "协议内容",
    "amount": "协议金额",
    "performance_due": "履行期限",
    "performed": "履行情况",
    "score": "满意度",
    "comment": "意见",
    "text": "投诉内容",
    "answer": "答复",
    "occurred_at": "发生时间",
    "name": "姓名",
    "certificate_no": "调解员证书编号",
    "certificate_expires": "证书有效期至",
    "case_id": "案件",
    "login": "登录名",
    "role": "角色",
    "password": "密码",
    "old_password": "原密码",
    "new_password": "新密码",
    "new_password_again": "再次输入新密码",
    "case_number": "案件编号",
}

# English validation messages of the services, as patterns, and what a person reads instead.
_MESSAGES = [
    (r"Missing data for required field", "此项必须填写"),
    (r"Must not be blank|Field may not be null|Shorter than minimum length 1\b", "此项必须填写"),
    (r"Longer than maximum length (\d+)", "内容过长，最多 {0} 个字"),
    (r"resident id number", "身份证号码不正确：应为 18 位，且最后一位校验码正确"),
    (r"unified social credit code", "统一社会信用代码不正确：应为 18 位，且最后一位校验码正确"),
    (r"Not a phone number", "电话号码只能包含数字、空格和 + - ( )"),
    (
        r"decimal string such as|non-negative amount|non-negative decimal",
        "金额应为不小于 0 的数字，最多两位小数，如 12000.00",
    ),
    (r"Not a valid integer|Not a valid number", "请填写整数"),
    (r"Not a valid date\b", "请填写日期，如 2026-03-02"),
    (r"Not a valid datetime|Not a valid aware datetime", "请填写日期和时间"),
    (r"Not a valid boolean", "请选择是或否"),
    (r"Not a valid UUID", "请从列表中选择"),
    (r"Must be one of", "请从列表中选择"),
    (r"Unknown center", "没有这个调解中心"),
    (r"Must not be in the future|in the future", "不能晚于现在"),
    (r"greater than or equal to (\d+) and less than or equal to (\d+)", "应在 {0} 到 {1} 之间"),
    (r"greater than or equal to (\d+)", "不能小于 {0}"),
    (r"needs the reason", "不予受理须写明理由（书面通知当事人）"),
    (r"both parties' recorded consent", "延期须经双方当事人同意并记录在案"),
    (r"must not be before the day the agreement is signed", "履行期限不能早于协议签订之日"),
    (r"no mediator with this id", "名册中没有这位调解员"),
    (
        r"the assigned mediator cannot act on (\d{4}-\d{2}-\d{2})",
        "指派的调解员在 {0} 没有有效的调解员证书：请改派持证调解员，或先为其续期证书",
    ),
    (r"certificate", "这位调解员的证书已过期或不属于本中心，不能指派"),
    (r"another center", "该案件属于其他中心"),
    (r"Required with a certificate number", "填写证书编号时须同时填写有效期"),
    (r"Required with a certificate expiry", "填写有效期时须同时填写证书编号"),
    (r"same moment as held_at", "应与调解时间一致（不填即为调解时间）"),
    (r"before the step before it|before .*previous|earlier than", "不能早于本案上一步的发生时间"),
    (r"more than (\d+) days back", "只能补录 {0} 天以内发生的事项"),
    (r"days back|too far in the past", "补录时间超出允许的范围"),
]


# Why a step is not allowed in the case's state, where the service says more than the state.
_CONFLICTS = [
    (
        r"a failure needs an assigned mediator",
        "尚未指派调解员：请先指派调解员；只有被申请人拒绝调解时，才可不指派调解员记录调解不成。",
    ),
    (r"an agreement needs an assigned mediator", "尚未指派调解员：调解协议须由持证调解员主持达成，请先指派调解员。"),
    (r"a session needs an assigned mediator", "尚未指派调解员：调解须由持证调解员主持，请先指派调解员，再记录调解。"),
    (
        r"default cannot be recorded while the arbitration review",
        "协议正在仲裁审查中：审查结果出来以前不能记录未履行。",
    ),
]


def conflict(text):
    """The Chinese explanation of a service's 409, or None where the state says it all."""
    for pattern, chinese in _CONFLICTS:
        if re.search(pattern, text or "", re.IGNORECASE):
            return chinese
    return None


def message(text):
    """A service's validation message in Chinese."""
    for pattern, chinese in _MESSAGES:
        found = re.search(pattern, text, re.IGNORECASE)
        if found:
            return chinese.format(*found.groups())
    return "填写有误，请核对"


def field_errors(errors):
    """`{"claims.0.amount": ["..."]}` → the same keys with each message in Chinese, once."""
    chinese = {}
    for field, messages in (errors or {}).items():
        seen = []
        for text in messages if isinstance(messages, list) else [messages]:
            translated = message(str(text))
            if translated not in seen:
                seen.append(translated)
        chinese[field] = seen
    return chinese


# mediation's 409s about time (DOMAIN.md "Time rules"): a step dated after the deadline,
# a case whose expiry was recorded after the grace for late entries, a late performance
_LATE_STEPS = [
    (r"deadline passed at (\S+) ", "调解期限已于 {0} 届满：只能补录期限届满前发生的事项，请核对发生时间"),
    (r"expired at (\S+) and the grace", "本案调解期限已于 {0} 届满，补录期限也已过去，不能再办理"),
    (r"counts as defaulted from (\S+)", "协议自 {0} 起视为未履行，不能记录此后的履行"),
]


def late_step(text, zone):
    """A mediation refusal about when a step happened, in Chinese with the moment in the
    district (a period's end at 00:00 reads as 24:00 of its last day); None for another."""
    for pattern, chinese in _LATE_STEPS:
        found = re.search(pattern, text or "")
        if found:
            return chinese.format(_moment(found.group(1), zone))
    return None


def _moment(text, zone):
    try:
        at = datetime.fromisoformat(text).astimezone(zone)
    except ValueError:
        return text
    if (at.hour, at.minute, at.second) == (0, 0, 0):
        return f"{(at - timedelta(days=1)).date().isoformat()} 24:00"
    return at.strftime("%Y-%m-%d %H:%M")


def field_name(path):
    """The label of a field path, for the error summary (`claims.1.amount` → 请求事项第 2 项 金额)."""
    claim = re.match(r"claims\.(\d+)\.(item|amount)$", path)
    if claim:
        return f"请求事项第 {int(claim.group(1)) + 1} 项{'内容' if claim.group(2) == 'item' else '金额'}"
    return FIELDS.get(path, "填写内容")


def status(code):
    return STATUSES.get(code, code or "—")


def listed_status(case):
    """A line of the case list: intake's status, and how the mediation ended once it has (intake's
    `mediation_outcome`), e.g. 已受理 · 调解不成. A withdrawal in mediation reads 已撤回 alone."""
    ending = MEDIATION_ENDINGS.get(case.get("mediation_outcome"))
    if ending and case.get("status") == "accepted":
        return f"{status('accepted')} · {ending}"
    return status(case.get("status"))

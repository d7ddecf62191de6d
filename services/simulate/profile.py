"""The simulated district's habits, as data in one place: how many cases each center
receives, how often each settles, and the mix of categories, channels, amounts and outcomes.

The two demonstration centers (华光街, 龙盛街) settle well above the 60% line; a few
centers sit below it, so the leadership view has something to show.
"""

import dataclasses
from decimal import Decimal


@dataclasses.dataclass(frozen=True)
class CenterProfile:
    monthly_cases: float  # applications received in an ordinary month
    agreement_rate: float  # share of mediations that end in a signed agreement
    mediators: int  # mediators on the roster (the first is full-time)


CENTER_PROFILES = {
    "weihuliang": CenterProfile(9, 0.66, 3),
    "qifang": CenterProfile(7, 0.63, 2),
    "xinminlu": CenterProfile(8, 0.68, 3),
    "liudaowan": CenterProfile(10, 0.64, 3),
    "badaowan": CenterProfile(8, 0.61, 2),
    "nanhunanlu": CenterProfile(11, 0.70, 3),
    "nanhubeilu": CenterProfile(9, 0.65, 3),
    "qidaowan": CenterProfile(7, 0.47, 2),
    "yushugou": CenterProfile(5, 0.52, 2),
    "shirenzigou": CenterProfile(4, 0.55, 2),
    "huaguangjie": CenterProfile(12, 0.78, 4),
    "longshengjie": CenterProfile(11, 0.74, 4),
    "shuitashan": CenterProfile(8, 0.62, 3),
    "zhenanjie": CenterProfile(6, 0.57, 2),
}
# Another district's centers (TIAOJIE_CENTERS_FILE) get this until they are profiled.
DEFAULT_CENTER_PROFILE = CenterProfile(8, 0.62, 2)


def center_profile(center_id):
    return CENTER_PROFILES.get(center_id, DEFAULT_CENTER_PROFILE)


# (value, weight) pairs. Wages dominate labour disputes; then terminations and compensation.
CATEGORIES = (
    ("wages", 42),
    ("contract_termination", 14),
    ("compensation", 12),
    ("social_insurance", 9),
    ("work_injury", 7),
    ("employment_relationship", 6),
    ("labor_protection", 4),
    ("training", 2),
    ("other", 4),
)
CHANNELS = (("walk_in", 55), ("online", 22), ("phone", 15), ("letter", 8))
SOURCES = (("self", 86), ("labor_inspection", 6), ("court_entrusted", 4), ("petition", 4))

# Claim lines per category, and the range (CNY) of one worker's claim.
CLAIM_ITEMS = {
    "wages": (("拖欠工资", 2000, 45000), ("加班费", 500, 12000)),
    "contract_termination": (("经济补偿金", 3000, 60000), ("未签劳动合同二倍工资", 3000, 40000)),
    "compensation": (("违法解除赔偿金", 6000, 90000),),
    "social_insurance": (("社会保险补缴", 1500, 30000), ("医疗费报销", 500, 15000)),
    "work_injury": (("工伤医疗费", 5000, 120000), ("一次性伤残补助金", 10000, 150000)),
    "employment_relationship": (("确认劳动关系期间工资", 1000, 20000), ("未签劳动合同二倍工资", 2000, 30000)),
    "labor_protection": (("高温津贴", 300, 3000), ("劳动防护用品费用", 200, 2000)),
    "training": (("培训费返还", 1000, 20000),),
    "other": (("其他费用", 500, 10000),),
}
DESCRIPTIONS = {
    "wages": "申请人称被申请人拖欠工资，多次催要未果。",
    "contract_termination": "申请人称被申请人单方解除劳动合同，要求支付经济补偿。",
    "compensation": "申请人称被申请人违法解除劳动合同，要求支付赔偿金。",
    "social_insurance": "申请人称被申请人未依法缴纳社会保险。",
    "work_injury": "申请人在工作中受伤，要求被申请人承担工伤待遇。",
    "employment_relationship": "申请人要求确认与被申请人存在劳动关系。",
    "labor_protection": "申请人称被申请人未提供劳动保护。",
    "training": "双方就培训服务期及培训费用发生争议。",
    "other": "双方就劳动权益发生争议。",
}

COLLECTIVE_SHARE = 0.06  # cases with 10 or more workers (Art. 7)
COLLECTIVE_WORKERS = (10, 60)
SMALL_GROUP_SHARE = 0.10  # 2 to 9 workers on one application
NOT_ACCEPTED_SHARE = 0.07  # out of scope, or the respondent refuses mediation
NOT_ACCEPTED_REASONS = (
    "被申请人拒绝调解",
    "不属于劳动争议受理范围",
    "已超过仲裁时效",
    "已向仲裁委申请仲裁",
)
WITHDRAWN_BEFORE_ACCEPTANCE_SHARE = 0.02

# How the mediations that do not end in agreement end instead (weights).
NON_AGREEMENT_OUTCOMES = (("failed", 60), ("expired", 22), ("withdrawn", 18))
# A failure's reason as staff write it, and its kind (the failure's `reason_code`).
FAILURE_REASONS = (
    ("双方分歧较大，无法达成一致", "no_agreement"),
    ("被申请人未到场", "party_absent"),
    ("被申请人拒绝调解方案", "no_agreement"),
    ("申请人坚持全部请求", "no_agreement"),
)
WITHDRAWAL_REASONS = ("双方自行和解", "申请人撤回申请", "申请人已另行起诉")

EXTENSION_SHARE = 0.08  # extended by both parties' consent before settling
EXTENSION_DAYS = (5, 15)
AGREEMENT_SHARE_OF_CLAIM = (0.55, 0.95)
PERFORMANCE_DAYS = (7, 45)  # the agreement's performance deadline after signing
REVIEW_REQUEST_SHARE = 0.18  # joint application for arbitration review (调解协议仲裁审查确认)
PERFORMED_SHARE = 0.86  # of agreements: performed; the rest default
DEFAULT_REPORTED_SHARE = 0.6  # of defaults: reported by staff; the rest run out the grace period
SURVEY_SHARE = 0.55
SURVEY_SCORES = ((5, 46), (4, 31), (3, 13), (2, 6), (1, 4))
COMPLAINT_SHARE = 0.015
COMPLAINT_TEXTS = ("调解员态度不好", "等待时间过长", "对调解结果不满意", "未及时告知申请仲裁的权利")
COMPLAINT_ANSWERED_SHARE = 0.85  # the rest still wait for the head's answer (待答复)
COMPLAINT_ANSWER_DAYS = (0.5, 12.0)  # after the filing
COMPLAINT_ANSWERS = (
    "已约谈调解员，责令改进服务态度，并向投诉人致歉。",
    "已调整接待安排，缩短等候时间，并向投诉人说明。",
    "已向投诉人说明调解协议的内容和依据。",
    "已向投诉人补充告知申请仲裁的权利和期限。",
)

CONSULTATIONS_PER_CASE = 1.8
CONSULTATION_CHANNELS = (("walk_in", 50), ("phone", 35), ("online", 15))
CONSULTATION_TOPICS = ("工资支付", "劳动合同", "社会保险", "工伤认定", "经济补偿", "加班费", "休息休假", "其他")

# Mediators: certificates run one to four years; a few run out within the next weeks.
CERTIFICATE_YEARS = (1, 4)
EXPIRING_CERTIFICATE_SHARE = 0.12
EXPIRING_WITHIN_DAYS = (10, 60)

# Working days: applications come in between 9:00 and 18:00 district time, fewer at weekends.
WORKING_HOURS = (9, 18)
WEEKEND_WEIGHT = 0.25

# Days after receipt when each step happens (mediation must end within 15 days).
ACCEPTANCE_DAYS = (0, 2)
FIRST_SESSION_DAYS = (1, 5)
SESSION_COUNT = ((1, 55), (2, 33), (3, 12))
CLOSURE_DAYS = (3, 13.5)  # before the 15th day, so a back-filled day never overshoots the deadline


def money(value):
    return Decimal(value).quantize(Decimal("0.01"))

"""A realistic case for the documents' tests: its events as intake, mediation and the link publish them."""

CASE_ID = "5b0f1d2e-8c7a-4f4e-9a51-2d3c4b5a6f70"
CENTER_ID = "huaguangjie"
CASE_NUMBER = "HGJ-2026-00017"
APPLICANT = {
    "name": "阿依古丽·买买提",
    "id_type": "resident_id",
    "id_number": "650105199003150012",
    "phone": "13999123456",
    "address": "乌鲁木齐市水磨沟区南湖北路街道锦绣园小区5号楼2单元301室",
    "job": "仓库管理员",
}
RESPONDENT = {
    "name": "新疆天山恒达物流有限公司",
    "credit_code": "91650105MA7XK2P4QR",
    "legal_representative": "王建国",
    "address": "乌鲁木齐市水磨沟区七道湾路188号",
    "contact": "0991-4661234",
}
CLAIMS = [
    {"item": "2025年10月至12月工资", "amount": "10500.00"},
    {"item": "加班费", "amount": "1500.50"},
]
APPLICATION = {
    "case_id": CASE_ID,
    "case_number": CASE_NUMBER,
    "center_id": CENTER_ID,
    "channel": "walk_in",
    "source": "self",
    "category": "wages",
    "applicant": APPLICANT,
    "respondent": RESPONDENT,
    "claims": CLAIMS,
    "claimed_total": "12000.50",
    "workers_involved": 1,
    "collective": False,
    "description": "申请人称被申请人拖欠工资。",
    "received_at": "2026-03-02T10:00:00+08:00",
    "mediation_deadline": "2026-03-17T23:59:59+08:00",
}
AGREEMENT_AMOUNT = "12000.50"
AGREEMENT_CAPITALS = "壹万贰仟元伍角"

# (source, event_type, stream_version, occurred_at, data)
RECEIVED = ("intake", "ApplicationReceived", 1, "2026-03-02T10:00:00+08:00", APPLICATION)
ACCEPTED = (
    "intake",
    "CaseAccepted",
    2,
    "2026-03-03T09:30:00+08:00",
    {**APPLICATION, "accepted_at": "2026-03-03T09:30:00+08:00"},
)
NOT_ACCEPTED = (
    "intake",
    "CaseNotAccepted",
    2,
    "2026-03-03T09:30:00+08:00",
    {**APPLICATION, "reason": "被申请人明确拒绝调解", "decided_at": "2026-03-03T09:30:00+08:00"},
)
OPENED = (
    "mediation",
    "MediationOpened",
    1,
    "2026-03-03T09:30:01+08:00",
    {
        "case_id": CASE_ID,
        "case_number": CASE_NUMBER,
        "center_id": CENTER_ID,
        "received_at": APPLICATION["received_at"],
        "accepted_at": "2026-03-03T09:30:00+08:00",
        "deadline": APPLICATION["mediation_deadline"],
        "category": "wages",
        "workers_involved": 1,
        "collective": False,
        "claimed_total": "12000.50",
    },
)
ASSIGNED = (
    "mediation",
    "MediatorAssigned",
    2,
    "2026-03-03T11:00:00+08:00",
    {
        "case_id": CASE_ID,
        "center_id": CENTER_ID,
        "mediator_id": "0c9a2f64-1b7e-4d3a-8f55-9e2d1c0b7a61",
        "mediator_name": "李秀兰",
        "certificate_no": "新调证字2024第0815号",
        "assigned_at": "2026-03-03T11:00:00+08:00",
    },
)
SESSION_1 = (
    "mediation",
    "SessionHeld",
    3,
    "2026-03-05T10:00:00+08:00",
    {
        "case_id": CASE_ID,
        "center_id": CENTER_ID,
        "held_at": "2026-03-05T10:00:00+08:00",
        "summary": "申请人陈述被申请人拖欠2025年10月至12月工资及加班费；被申请人认可欠薪事实，对加班费有异议。",
    },
)
SESSION_2 = (
    "mediation",
    "SessionHeld",
    4,
    "2026-03-09T15:30:00+08:00",
    {
        "case_id": CASE_ID,
        "center_id": CENTER_ID,
        "held_at": "2026-03-09T15:30:00+08:00",
        "summary": "经调解员释法说理，被申请人同意支付工资及加班费共计12000.50元。",
    },
)
AGREED = (
    "mediation",
    "AgreementReached",
    5,
    "2026-03-10T16:00:00+08:00",
    {
        "case_id": CASE_ID,
        "center_id": CENTER_ID,
        "terms": "被申请人支付申请人2025年10月至12月工资10500.00元及加班费1500.50元，申请人放弃其他请求。",
        "amount": AGREEMENT_AMOUNT,
        "performance_due": "2026-03-20",
        "signed_at": "2026-03-10T16:00:00+08:00",
        "deadline": APPLICATION["mediation_deadline"],
        "on_time": True,
        "mediator_id": "0c9a2f64-1b7e-4d3a-8f55-9e2d1c0b7a61",
        "certificate_no": "新调证字2024第0815号",
        "mediator_name": "李秀兰",
        "sessions": 2,
    },
)
FAILED = (
    "mediation",
    "MediationFailed",
    5,
    "2026-03-12T17:00:00+08:00",
    {
        "case_id": CASE_ID,
        "center_id": CENTER_ID,
        "reason": "双方对加班费数额分歧较大",
        "failed_at": "2026-03-12T17:00:00+08:00",
        "deadline": APPLICATION["mediation_deadline"],
        "on_time": True,
    },
)
EXPIRED = (
    "mediation",
    "MediationExpired",
    5,
    "2026-03-17T23:59:59+08:00",
    {
        "case_id": CASE_ID,
        "center_id": CENTER_ID,
        "deadline": APPLICATION["mediation_deadline"],
        "expired_at": APPLICATION["mediation_deadline"],
    },
)

AGREED_CASE = [RECEIVED, ACCEPTED, OPENED, ASSIGNED, SESSION_1, SESSION_2, AGREED]
FAILED_CASE = [RECEIVED, ACCEPTED, OPENED, ASSIGNED, SESSION_1, FAILED]
REFUSED_CASE = [RECEIVED, NOT_ACCEPTED]


def facts(events):
    """The events as the case file keeps them."""
    from datetime import datetime

    from services.documents.domain import CaseFact

    return [
        CaseFact(
            source,
            event_type,
            f"00000000-0000-4000-8000-{index:012d}",
            version,
            datetime.fromisoformat(occurred_at),
            data,
        )
        for index, (source, event_type, version, occurred_at, data) in enumerate(events)
    ]

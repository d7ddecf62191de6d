"""The case file (案卷) and the documents (文书) a center may issue from it: pure, no I/O.

The case file is a fold of every event the documents service consumed about one case,
from intake, mediation and arbitration_link. The fold sees the whole set of a case's
events in one canonical order (when each happened, then the source's stream order), so
the file is the same whatever order the events arrived in.
"""

import dataclasses
from datetime import date, datetime

from services.common.errors import NotFound, StateConflict
from services.events import CASE_SOURCES, PUBLISHED_EVENTS

# The kinds of CONTRACTS §8, with their titles and the character of their number (字号).
KINDS = {
    "acceptance_notice": ("受理通知书", "受"),
    "rejection_notice": ("不予受理通知书", "不受"),
    "agreement": ("调解协议书", "协"),
    "termination_notice": ("调解终止告知书", "终"),
    "session_record": ("调解笔录", "录"),
    "service_receipt": ("送达回证", "送"),
}

CATEGORY_NAMES = {
    "wages": "劳动报酬",
    "social_insurance": "社会保险",
    "labor_protection": "劳动保护",
    "training": "职业培训",
    "contract_termination": "劳动合同变更、解除和终止",
    "employment_relationship": "确认劳动关系",
    "work_injury": "工伤医疗费",
    "compensation": "经济补偿和赔偿金",
    "other": "其他劳动",
}

ID_TYPE_NAMES = {"resident_id": "居民身份证", "passport": "护照", "other": "其他证件"}

STATUS_NAMES = {
    "received": "已收到申请",
    "not_accepted": "不予受理",
    "withdrawn": "已撤回",
    "mediating": "调解中",
    "agreement": "已达成协议",
    "under_review": "仲裁审查中",
    "confirmed": "仲裁已确认",
    "performed": "已履行",
    "defaulted": "未履行",
    "failed": "调解不成",
    "expired": "调解期满",
}

_SOURCE_RANK = {"intake": 0, "mediation": 1, "arbitration_link": 2}


class UnknownCase(NotFound):
    """No application of this case has reached the documents service."""

    def __init__(self, case_id):
        super().__init__("no such case")
        self.case_id = case_id


class KindNotAllowed(StateConflict):
    """The case's state does not allow this kind of document (yet, or any more)."""

    def __init__(self, kind, state, message):
        super().__init__(message, state=state, kind=kind)
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class CaseFact:
    """One consumed event, as the case file keeps it."""

    source: str
    event_type: str
    event_id: str
    stream_version: int
    occurred_at: datetime
    data: dict

    def order(self):
        return (self.occurred_at, _SOURCE_RANK.get(self.source, 9), self.stream_version, self.event_id)


@dataclasses.dataclass
class CaseFile:
    """Everything the documents need to know about one case."""

    case_id: str
    center_id: str
    case_number: str | None = None
    application: dict = dataclasses.field(default_factory=dict)
    received_at: str | None = None
    accepted_at: str | None = None
    mediation_deadline: str | None = None
    not_accepted: dict | None = None
    withdrawal: dict | None = None
    mediator: dict | None = None
    sessions: list = dataclasses.field(default_factory=list)
    extensions: list = dataclasses.field(default_factory=list)
    agreement: dict | None = None
    failure: dict | None = None
    expiry: dict | None = None
    review_requested: dict | None = None
    review_outcome: dict | None = None
    performed: dict | None = None
    defaulted: dict | None = None
    referrals: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def fold(cls, case_id, center_id, facts):
        case_file = cls(case_id=case_id, center_id=center_id)
        for fact in sorted(facts, key=CaseFact.order):
            apply = _FOLD.get(fact.event_type)
            if apply is not None:
                apply(case_file, fact.data)
        case_file.sessions.sort(key=lambda s: (s.get("held_at") or "", s.get("summary") or ""))
        return case_file

    @property
    def exists(self):
        """Known once intake's application arrived: every document names its parties."""
        return self.case_number is not None and bool(self.application.get("applicant"))

    @property
    def applicant(self):
        return self.application.get("applicant") or {}

    @property
    def respondent(self):
        return self.application.get("respondent") or {}

    @property
    def status(self):
        """The case's state, from the facts present (not from the order they came in)."""
        if self.agreement:
            if self.performed:
                return "performed"
            if self.defaulted:
                return "defaulted"
            if self.review_outcome:
                return "confirmed" if self.review_outcome.get("decision") == "confirmed" else "agreement"
            return "under_review" if self.review_requested else "agreement"
        if self.failure:
            return "failed"
        if self.expiry:
            return "expired"
        if self.withdrawal:
            return "withdrawn"
        if self.not_accepted:
            return "not_accepted"
        if self.accepted_at:
            return "mediating"
        return "received"

    def check_allows(self, kind):
        """Raises `KindNotAllowed` unless the case's state allows issuing this kind now."""
        status = self.status
        refusal = {
            "acceptance_notice": None if self.accepted_at else "the case has not been accepted",
            "rejection_notice": None if self.not_accepted else "the case was not refused",
            "agreement": None if self.agreement else "no agreement has been reached",
            "termination_notice": (
                None
                if (self.failure or self.expiry) and not self.agreement
                else "the mediation has not failed or expired"
            ),
            "session_record": None if self.sessions else "no mediation session has been held",
            "service_receipt": None,
        }[kind]
        if refusal:
            raise KindNotAllowed(kind, status, f"{KINDS[kind][0]} cannot be issued: {refusal}")


def _received(case_file, data):
    case_file.case_number = data.get("case_number") or case_file.case_number
    case_file.received_at = data.get("received_at") or case_file.received_at
    case_file.mediation_deadline = case_file.mediation_deadline or data.get("mediation_deadline")
    # The application's facts: the first complete copy wins, later copies fill gaps only.
    for key in (
        "channel",
        "source",
        "category",
        "applicant",
        "respondent",
        "claims",
        "claimed_total",
        "workers_involved",
        "collective",
        "description",
    ):
        if key in data and key not in case_file.application:
            case_file.application[key] = data[key]


def _accepted(case_file, data):
    _received(case_file, data)
    case_file.accepted_at = data.get("accepted_at") or case_file.accepted_at


def _not_accepted(case_file, data):
    _received(case_file, data)
    case_file.not_accepted = {"reason": data.get("reason"), "decided_at": data.get("decided_at")}


def _withdrawn(case_file, data):
    case_file.withdrawal = case_file.withdrawal or {
        "reason": data.get("reason"),
        "withdrawn_at": data.get("withdrawn_at"),
    }


def _opened(case_file, data):
    case_file.case_number = case_file.case_number or data.get("case_number")
    case_file.accepted_at = case_file.accepted_at or data.get("accepted_at")
    case_file.received_at = case_file.received_at or data.get("received_at")
    case_file.mediation_deadline = data.get("deadline") or case_file.mediation_deadline


def _assigned(case_file, data):
    case_file.mediator = {
        "mediator_id": data.get("mediator_id"),
        "name": data.get("mediator_name"),
        "certificate_no": data.get("certificate_no"),
        "assigned_at": data.get("assigned_at"),
    }


def _session(case_file, data):
    case_file.sessions.append({"held_at": data.get("held_at"), "summary": data.get("summary")})


def _extended(case_file, data):
    case_file.extensions.append({"days": data.get("days"), "deadline": data.get("deadline")})
    case_file.mediation_deadline = data.get("deadline") or case_file.mediation_deadline


def _agreement(case_file, data):
    case_file.agreement = {
        key: data.get(key) for key in ("terms", "amount", "performance_due", "signed_at", "mediator_name")
    }
    if not case_file.mediator and data.get("mediator_name"):
        case_file.mediator = {"name": data["mediator_name"], "certificate_no": data.get("certificate_no")}
    elif case_file.mediator and data.get("certificate_no"):
        # the certificate the mediator held on the day of signing (renewed since the assignment)
        case_file.mediator = {**case_file.mediator, "certificate_no": data["certificate_no"]}


def _failed(case_file, data):
    # `mediator_id` may be null (a respondent's refusal recorded before any assignment).
    case_file.failure = {
        "reason": data.get("reason"),
        "reason_code": data.get("reason_code"),
        "failed_at": data.get("failed_at"),
    }


def _expired(case_file, data):
    case_file.expiry = {"deadline": data.get("deadline"), "expired_at": data.get("expired_at")}


def _setter(attribute, *keys):
    def apply(case_file, data):
        setattr(case_file, attribute, {key: data.get(key) for key in keys})

    return apply


def _referral(case_file, data):
    referral = case_file.referrals.setdefault(data.get("referral_id"), {})
    for key in ("type", "reason", "arbitration_case_no", "docketed_at", "declined_at"):
        if data.get(key) is not None:
            referral[key] = data[key]


def _review_decided(case_file, data):
    _referral(case_file, data)
    if not case_file.review_outcome:
        case_file.review_outcome = {key: data.get(key) for key in ("decision", "document_no", "decided_at", "reason")}


# The events the case file is folded from, per publishing service: those the fold reads.
_FOLD = {
    "ApplicationReceived": _received,
    "CaseAccepted": _accepted,
    "CaseNotAccepted": _not_accepted,
    "ApplicationWithdrawn": _withdrawn,
    "MediationOpened": _opened,
    "MediatorAssigned": _assigned,
    "SessionHeld": _session,
    "MediationExtended": _extended,
    "AgreementReached": _agreement,
    "MediationFailed": _failed,
    "MediationExpired": _expired,
    "MediationWithdrawn": _withdrawn,
    "ReviewRequested": _setter("review_requested", "requested_at"),
    "ReviewOutcomeRecorded": _setter("review_outcome", "decision", "document_no", "decided_at", "reason"),
    "AgreementPerformed": _setter("performed", "performed_at"),
    "AgreementDefaulted": _setter("defaulted", "defaulted_at", "performance_due"),
    "ReferralOpened": _referral,
    "ReferralDocketed": _referral,
    "ReferralDeclined": _referral,
    "ReviewDecided": _review_decided,
}


CONSUMED_EVENTS = {source: tuple(t for t in PUBLISHED_EVENTS[source] if t in _FOLD) for source in CASE_SOURCES}


def issuer_name(center_name):
    """The center's full name as the issuer of its documents."""
    return f"{center_name}劳动人事争议调解中心"


def short_name(center_name):
    """华光街街道办事处 → 华光街; 苇湖梁片区管委会 → 苇湖梁: the head of a document number."""
    for suffix in ("街道办事处", "片区管委会", "管委会"):
        if center_name.endswith(suffix) and len(center_name) > len(suffix):
            return center_name[: -len(suffix)]
    return center_name


def document_number(center_name, kind, year, sequence):
    """华光街劳调协字〔2026〕第5号: the center, the kind, the year, the running number."""
    return f"{short_name(center_name)}劳调{KINDS[kind][1]}字〔{year}〕第{sequence}号"


def local_date(value, zone):
    """The district's calendar day of an RFC 3339 timestamp (or a date string)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(zone).date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).astimezone(zone).date()

"""What each event says about a case, a referral or a center: the projection's pure half.

`facts_of(event)` turns one event into facts about one row of the read model. Every fact
is merged into its row with a commutative, idempotent rule (the earliest of two
timestamps, the latest deadline, ...; see `readmodel.py`), so the read model is the same
whatever order the events arrive in and however often. A case's outcome and stage are
not stored by events at all: the read model derives them from the facts.
"""
import dataclasses
from datetime import date, datetime, time, timedelta

# Every event type the metrics service consumes, by publishing service (docs/EVENTS.md).
CONSUMED_EVENTS = {
    "intake": (
        "ConsultationRecorded",
        "ApplicationReceived",
        "CaseAccepted",
        "CaseNotAccepted",
        "ApplicationWithdrawn",
    ),
    "mediation": (
        "MediatorRegistered",
        "MediatorCertificateRenewed",
        "MediatorCertificateExpired",
        "MediationOpened",
        "MediatorAssigned",
        "SessionHeld",
        "MediationExtended",
        "AgreementReached",
        "MediationFailed",
        "MediationExpired",
        "MediationWithdrawn",
        "ReviewRequested",
        "ReviewOutcomeRecorded",
        "AgreementPerformed",
        "AgreementDefaulted",
        "SurveyRecorded",
        "ComplaintFiled",
    ),
    "arbitration_link": (
        "ReferralOpened",
        "ReferralSent",
        "ReferralDocketed",
        "ReferralDeclined",
        "ReviewDecided",
        "RecommendationReceived",
    ),
}
CONSUMED_TYPES = frozenset(t for types in CONSUMED_EVENTS.values() for t in types)

CASE, REFERRAL, CENTER_FACT = "case", "referral", "center_fact"


@dataclasses.dataclass(frozen=True)
class Fact:
    """Columns of one read-model row (`target` names the table) that an event sets."""

    target: str
    key: str
    columns: dict


def facts_of(event, zone):
    """The facts one event contributes (an empty list for events that change no indicator)."""
    project = _PROJECTIONS.get(event.event_type)
    if project is None:
        return []
    return [fact for fact in project(event, event.data, _Reader(event, zone)) if fact.key]


class _Reader:
    """Reads event data fields, falling back to the envelope's `occurred_at` for times."""

    def __init__(self, event, zone):
        self.event = event
        self.zone = zone

    def case_id(self):
        return self.event.case_id or self.event.data.get("case_id")

    def center_id(self):
        return self.event.center_id or self.event.data.get("center_id")

    def at(self, key):
        occurred_at = self.event.occurred_at  # text where only the database reads it again (replay)
        return self.event.data.get(key) or (occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat())

    def deadline(self, key):
        """A deadline as an instant: a bare date lasts until the end of that day, locally."""
        value = self.event.data.get(key)
        if not value:
            return None
        if isinstance(value, str) and len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=self.zone).isoformat()
        return value


def _case(read, **columns):
    columns["center_id"] = read.center_id()
    return Fact(CASE, read.case_id(), {k: v for k, v in columns.items() if v is not None})


def _case_profile(data):
    """What intake knows of a case, carried again by the later events."""
    return {
        "category": data.get("category"),
        "workers_involved": data.get("workers_involved"),
        "collective": data.get("collective"),
        "claimed_total": data.get("claimed_total"),
    }


def _center_fact(kind, fact_id, read, at, score=None):
    key = f"{kind}:{fact_id}" if fact_id else None
    columns = {"kind": kind, "center_id": read.center_id(), "at": at, "score": score}
    return Fact(CENTER_FACT, key, {k: v for k, v in columns.items() if v is not None})


def _referral(read, **columns):
    columns.update(case_id=read.case_id(), center_id=read.center_id())
    return Fact(REFERRAL, read.event.data.get("referral_id"), {k: v for k, v in columns.items() if v is not None})


def _application_received(event, data, read):
    yield _case(
        read,
        source=data.get("source"),
        channel=data.get("channel"),
        received_at=read.at("received_at"),
        deadline=read.deadline("mediation_deadline"),
        **_case_profile(data),
    )


def _case_accepted(event, data, read):
    yield _case(
        read,
        source=data.get("source"),
        received_at=data.get("received_at"),
        accepted_at=read.at("accepted_at"),
        deadline=read.deadline("mediation_deadline"),
        **_case_profile(data),
    )


def _mediation_opened(event, data, read):
    yield _case(
        read,
        received_at=data.get("received_at"),
        accepted_at=read.at("accepted_at"),
        deadline=read.deadline("deadline"),
        **_case_profile(data),
    )


def _agreement_reached(event, data, read):
    yield _case(
        read,
        agreement_at=read.at("signed_at"),
        agreed_amount=data.get("amount"),
        closure_on_time=data.get("on_time"),
        deadline=read.deadline("deadline"),
    )


def _mediation_failed(event, data, read):
    yield _case(read, failed_at=read.at("failed_at"), closure_on_time=data.get("on_time"),
                deadline=read.deadline("deadline"))


def _mediation_expired(event, data, read):
    yield _case(read, expired_at=read.at("expired_at"), closure_on_time=False, deadline=read.deadline("deadline"))


def _review_outcome(event, data, read):
    yield _case(read, review_decided_at=read.at("decided_at"), review_decision=data.get("decision"))


def _referral_opened(event, data, read):
    yield _referral(read, kind=data.get("type"), reason=data.get("reason"), opened_at=read.at("opened_at"))


def _referral_sent(event, data, read):
    sent_at = read.at("sent_at")
    yield _referral(read, kind=data.get("type"), first_sent_at=sent_at, last_sent_at=sent_at,
                    sends=data.get("send_number"))


def _review_decided(event, data, read):
    decided_at = read.at("decided_at")
    yield _referral(read, kind="review_request", decided_at=decided_at, decision=data.get("decision"))
    if read.case_id():
        yield _case(read, review_decided_at=decided_at, review_decision=data.get("decision"))


def _simple_case_fact(column, key):
    def project(event, data, read):
        yield _case(read, **{column: read.at(key)})

    return project


_PROJECTIONS = {
    "ConsultationRecorded": lambda e, d, r: [_center_fact("consultation", d.get("consultation_id"), r,
                                                          r.at("recorded_at"))],
    "ApplicationReceived": _application_received,
    "CaseAccepted": _case_accepted,
    "CaseNotAccepted": _simple_case_fact("not_accepted_at", "decided_at"),
    "ApplicationWithdrawn": _simple_case_fact("intake_withdrawn_at", "withdrawn_at"),
    "MediationOpened": _mediation_opened,
    "MediationExtended": lambda e, d, r: [_case(r, deadline=r.deadline("deadline"))],
    "AgreementReached": _agreement_reached,
    "MediationFailed": _mediation_failed,
    "MediationExpired": _mediation_expired,
    "MediationWithdrawn": _simple_case_fact("mediation_withdrawn_at", "withdrawn_at"),
    "ReviewRequested": _simple_case_fact("review_requested_at", "requested_at"),
    "ReviewOutcomeRecorded": _review_outcome,
    "AgreementPerformed": _simple_case_fact("performed_at", "performed_at"),
    "AgreementDefaulted": _simple_case_fact("defaulted_at", "defaulted_at"),
    "SurveyRecorded": lambda e, d, r: [_center_fact("survey", e.event_id, r, r.at("recorded_at"), d.get("score"))],
    "ComplaintFiled": lambda e, d, r: [_center_fact("complaint", d.get("complaint_id"), r, r.at("filed_at"))],
    "ReferralOpened": _referral_opened,
    "ReferralSent": _referral_sent,
    "ReferralDocketed": lambda e, d, r: [_referral(r, docketed_at=r.at("docketed_at"))],
    "ReferralDeclined": lambda e, d, r: [_referral(r, declined_at=r.at("declined_at"))],
    "ReviewDecided": _review_decided,
    "RecommendationReceived": lambda e, d, r: [_center_fact("recommendation", d.get("recommendation_id"), r,
                                                            r.at("issued_at"))],
}

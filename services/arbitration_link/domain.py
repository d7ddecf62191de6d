"""The link's domain: case files folded from other services' events, referrals, recommendations.

Pure: no I/O and no clock; the service layer passes the time in.

- A `CaseFile` is this service's own copy of what intake and mediation said about a
  case (event-carried state), so a referral never waits on another service being up.
- A `Referral` (stream `referral-<referral_id>`) is one message to the arbitration
  institute: a `referral` (转仲裁) or a `review_request` (调解协议仲裁审查确认). It is
  opened when the deciding event arrives, sent once its case file holds everything the
  message must carry, resent with backoff until the institute answers, and answered once.
- A `Recommendation` (stream `recommendation-<recommendation_id>`) is a mediation
  recommendation letter (调解建议书) from the institute; intake opens a case for it.
"""

import dataclasses
import uuid
from datetime import datetime, timedelta

from services.common.aggregate import Aggregate
from services.events import (
    MEDIATION_NON_CASE_EVENTS,
    PUBLISHED_EVENTS,
    AgreementDefaulted,
    AgreementReached,
    ApplicationReceived,
    ApplicationWithdrawn,
    CaseAccepted,
    CaseNotAccepted,
    MediationExpired,
    MediationFailed,
    MediatorAssigned,
    RecommendationReceived,
    ReferralDeclined,
    ReferralDocketed,
    ReferralOpened,
    ReferralSent,
    ReviewDecided,
    ReviewRequested,
    SessionHeld,
)

REFERRAL = "referral"
REVIEW_REQUEST = "review_request"
MESSAGE_SCHEMA_VERSION = 1

# The event that sends a case to arbitration, and what it sends: (type, reason).
TRIGGERS = {
    CaseNotAccepted.name: (REFERRAL, "not_accepted"),
    MediationFailed.name: (REFERRAL, "mediation_failed"),
    MediationExpired.name: (REFERRAL, "mediation_expired"),
    AgreementDefaulted.name: (REFERRAL, "agreement_defaulted"),
    ReviewRequested.name: (REVIEW_REQUEST, None),
}

# The events a case file is folded from, by the service that publishes them.
INTAKE_CASE_EVENTS = (ApplicationReceived.name, CaseAccepted.name, CaseNotAccepted.name, ApplicationWithdrawn.name)
MEDIATION_CASE_EVENTS = tuple(t for t in PUBLISHED_EVENTS["mediation"] if t not in MEDIATION_NON_CASE_EVENTS)

# The application fields a referral carries, as intake's ApplicationReceived names them.
APPLICATION_FIELDS = (
    "case_number",
    "channel",
    "source",
    "category",
    "applicant",
    "respondent",
    "claims",
    "claimed_total",
    "workers_involved",
    "collective",
    "received_at",
)

INCOMPLETE_MEDIATION = "earlier mediation events"

_REFERRAL_IDS = uuid.UUID("6d1c4f0e-3b7a-5a43-9f0e-7a1b2c3d4e5f")


def referral_id_for(case_id, referral_type, reason):
    """One referral per case, type and reason: a redelivered or repeated trigger finds it."""
    return str(uuid.uuid5(_REFERRAL_IDS, f"{case_id}:{referral_type}:{reason or ''}"))


def parse_time(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class ReplyRefused(Exception):
    """A reply that is well-formed but cannot apply: unknown referral, wrong kind, contradiction."""


# --- case files ---------------------------------------------------------------------


class CaseFile:
    """What this service knows of one case, as a JSON document folded from events."""

    def __init__(self, case_id, document=None):
        self.case_id = case_id
        self.document = document or {"case_id": case_id, "seen": {}, "closings": {}}

    @property
    def center_id(self):
        return self.document.get("center_id")

    @property
    def application(self):
        return self.document.get("application")

    def apply(self, event):
        """Folds one event (an `Event` of intake's or mediation's case streams) into the file.

        Events may arrive in any order: each fact is kept by the version of the event that
        brought it, so an older event arriving late never overwrites a newer one.
        """
        doc = self.document
        seen = doc["seen"].setdefault(event.stream_id, [])
        if event.stream_version in seen:
            return
        seen.append(event.stream_version)
        seen.sort()
        doc.setdefault("center_id", event.center_id)
        data = event.data
        kind = event.event_type
        if kind == ApplicationReceived.name:
            doc["application"] = {k: data[k] for k in APPLICATION_FIELDS if k in data}
            if data.get("recommendation_id"):
                doc["application"]["recommendation_id"] = data["recommendation_id"]
        elif kind == MediatorAssigned.name:
            self._keep_latest(
                "mediator",
                event,
                {
                    "mediator_id": data["mediator_id"],
                    "name": data.get("mediator_name"),
                    "certificate_no": data.get("certificate_no"),
                },
            )
        elif kind == SessionHeld.name:
            doc.setdefault("sessions", []).append(
                {"held_at": data["held_at"], "summary": data.get("summary", ""), "version": event.stream_version}
            )
        elif kind == AgreementReached.name:
            self._keep_latest("agreement", event, _agreement(data))
        elif kind == ReviewRequested.name:
            agreement = data.get("agreement") or doc.get("agreement") or {}
            doc["review"] = {"requested_at": data["requested_at"], "agreement": _agreement(agreement)}
        if "case_number" in data:
            doc.setdefault("case_number", data["case_number"])
        closing = _closing(kind, data, doc)
        if closing is not None:
            doc["closings"][kind] = closing

    def _keep_latest(self, key, event, value):
        current = self.document.get(key)
        if current is None or current["version"] <= event.stream_version:
            self.document[key] = {**value, "version": event.stream_version}

    def has_seen_all_before(self, stream_id, stream_version):
        seen = set(self.document["seen"].get(stream_id, ()))
        return all(v in seen for v in range(1, stream_version))

    def missing_for(self, trigger):
        """What the file still lacks to carry a referral decided by `trigger`; empty when complete."""
        missing = []
        if self.application is None:
            missing.append("application")
        if trigger["event_type"] not in self.document["closings"]:
            missing.append(trigger["event_type"])
        if trigger["event_type"] in MEDIATION_CASE_EVENTS and not self.has_seen_all_before(
            trigger["stream_id"], trigger["stream_version"]
        ):
            missing.append(INCOMPLETE_MEDIATION)
        return missing

    def can_carry(self, trigger, grace_over):
        """True when the file holds what a referral decided by `trigger` must carry.

        Once the grace period is over it no longer waits for earlier mediation events
        still in transit (or of a type this service does not follow); the parties and the
        closing itself are never optional.
        """
        missing = self.missing_for(trigger)
        return not missing or (grace_over and missing == [INCOMPLETE_MEDIATION])

    def mediation_record(self, trigger_event_type):
        """The mediation record of CONTRACTS §4: None for a case that was never mediated."""
        if trigger_event_type == CaseNotAccepted.name:
            return None
        closing = self.document["closings"][trigger_event_type]
        mediator = self.document.get("mediator")
        sessions = sorted(self.document.get("sessions", []), key=lambda s: (s["held_at"], s["version"]))
        return {
            "mediator": None if mediator is None else {k: v for k, v in mediator.items() if k != "version"},
            "sessions": [{"held_at": s["held_at"], "summary": s["summary"]} for s in sessions],
            "summary": closing["summary"],
            "closed_at": closing["closed_at"],
        }

    def review_agreement(self):
        return self.document["review"]["agreement"]


def _agreement(data):
    return {k: data.get(k) for k in ("terms", "amount", "performance_due", "signed_at")}


def _closing(kind, data, doc):
    """How the event closes the case for arbitration: the record's summary and closing time."""
    if kind == CaseNotAccepted.name:
        return {"summary": data.get("reason", ""), "closed_at": data["decided_at"]}
    if kind == MediationFailed.name:
        return {"summary": data.get("reason", ""), "closed_at": data["failed_at"]}
    if kind == MediationExpired.name:
        return {
            "summary": f"no agreement by the mediation deadline {data['deadline']}",
            "closed_at": data["expired_at"],
        }
    if kind == AgreementDefaulted.name:
        terms = (doc.get("agreement") or {}).get("terms")
        summary = f"agreement not performed by {data['performance_due']}"
        return {"summary": f"{summary}: {terms}" if terms else summary, "closed_at": data["defaulted_at"]}
    if kind == ReviewRequested.name:
        agreement = data.get("agreement") or {}
        return {"summary": agreement.get("terms", ""), "closed_at": agreement.get("signed_at") or data["requested_at"]}
    return None


def referral_message(referral, case_file, sent_at):
    """The body of CONTRACTS §4 for this referral, from its case file."""
    application = case_file.application
    body = {
        "schema_version": MESSAGE_SCHEMA_VERSION,
        "referral_id": referral.referral_id,
        "case_id": referral.case_id,
        "case_number": application.get("case_number") or case_file.document.get("case_number"),
        "center_id": referral.center_id,
    }
    if referral.type == REFERRAL:
        body["reason"] = referral.reason
    body.update(
        applicant=application["applicant"],
        respondent=application["respondent"],
        category=application["category"],
        claims=application["claims"],
        workers_involved=application["workers_involved"],
        received_at=application["received_at"],
        mediation=case_file.mediation_record(referral.trigger["event_type"]),
    )
    if referral.type == REVIEW_REQUEST:
        body["agreement"] = case_file.review_agreement()
    body["sent_at"] = sent_at.isoformat()
    return body


# --- referrals ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ResendSchedule:
    """Exponential backoff: the n-th send waits initial × 2^(n-1), at most `max_seconds`."""

    initial_seconds: float = 3600.0
    max_seconds: float = 86400.0

    def next_resend_at(self, send_number, sent_at):
        wait = min(self.initial_seconds * 2 ** (send_number - 1), self.max_seconds)
        return sent_at + timedelta(seconds=wait)


ANSWERS = {
    ReferralDocketed.name: "docketed",
    ReferralDeclined.name: "declined",
}


class Referral(Aggregate):
    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.referral_id = None
        self.case_id = None
        self.center_id = None
        self.type = None
        self.reason = None
        self.trigger = None
        self.opened_at = None
        self.status = None
        self.sends = 0
        self.message = None
        self.last_sent_at = None
        self.next_resend_at = None
        self.answered_by = None
        self.answered_at = None
        self.arbitration_case_no = None
        self.document_no = None

    stream_prefix = "referral"

    @property
    def opened(self):
        return self.status is not None

    @property
    def answered(self):
        return self.answered_by is not None

    @property
    def waiting_to_send(self):
        return self.opened and not self.answered and self.sends == 0

    def is_due(self, now):
        return self.opened and not self.answered and self.sends > 0 and now >= self.next_resend_at

    # -- commands ---------------------------------------------------------------------
    def open(self, case_id, center_id, referral_type, reason, trigger, opened_at):
        if self.opened:
            return False
        referral_id = self.stream_id.removeprefix("referral-")
        data = {
            "referral_id": referral_id,
            "case_id": case_id,
            "center_id": center_id,
            "type": referral_type,
            "opened_at": opened_at.isoformat(),
            "trigger": trigger,
        }
        if reason is not None:
            data["reason"] = reason
        self._record(ReferralOpened, data, opened_at)
        return True

    def send(self, message, now, schedule):
        """The first send: `message` is the full body, kept for every resend."""
        if not self.waiting_to_send:
            return False
        self._record_send(message, now, schedule)
        return True

    def resend_if_due(self, now, schedule):
        """Sends the same message again (same `message_id`) once its resend time has come."""
        if not self.is_due(now):
            return False
        self._record_send(self.message, now, schedule)
        return True

    def _record_send(self, message, now, schedule):
        send_number = self.sends + 1
        self._record(
            ReferralSent,
            {
                "referral_id": self.referral_id,
                "case_id": self.case_id,
                "center_id": self.center_id,
                "type": self.type,
                "send_number": send_number,
                "sent_at": now.isoformat(),
                "next_resend_at": schedule.next_resend_at(send_number, now).isoformat(),
                "message": message,
            },
            now,
        )

    def docket(self, arbitration_case_no, docketed_at):
        return self._answer(
            REFERRAL,
            ReferralDocketed.name,
            {
                "arbitration_case_no": arbitration_case_no,
                "docketed_at": docketed_at,
            },
            docketed_at,
        )

    def decline(self, reason, declined_at):
        return self._answer(
            REFERRAL, ReferralDeclined.name, {"reason": reason, "declined_at": declined_at}, declined_at
        )

    def decide(self, decision, decided_at, document_no=None, reason=None):
        data = {"decision": decision}
        if document_no is not None:
            data["document_no"] = document_no
        if reason is not None:
            data["reason"] = reason
        data["decided_at"] = decided_at
        return self._answer(REVIEW_REQUEST, ReviewDecided.name, data, decided_at)

    def _answer(self, expected_type, event_type, fields, occurred_at):
        """Records the institute's answer once; the same kind again is a duplicate (no effect)."""
        if not self.opened:
            raise ReplyRefused(f"unknown referral {self.stream_id}")
        if self.type != expected_type:
            raise ReplyRefused(f"{event_type} does not answer a {self.type}")
        if self.answered_by == event_type:
            return False
        if self.answered:
            raise ReplyRefused(f"{self.referral_id} was already answered by {self.answered_by}")
        data = {"referral_id": self.referral_id, "case_id": self.case_id, "center_id": self.center_id, **fields}
        self._record(event_type, data, parse_time(occurred_at))
        return True

    def _record(self, event_type, data, occurred_at):
        self.record(event_type, data, occurred_at=occurred_at, case_id=data["case_id"], center_id=data["center_id"])

    # -- the fold ---------------------------------------------------------------------
    def _on_ReferralOpened(self, data):
        self.referral_id = data["referral_id"]
        self.case_id = data["case_id"]
        self.center_id = data["center_id"]
        self.type = data["type"]
        self.reason = data.get("reason")
        self.trigger = data.get("trigger")
        self.opened_at = parse_time(data["opened_at"])
        self.status = "pending"

    def _on_ReferralSent(self, data):
        self.sends = data["send_number"]
        self.message = data.get("message", self.message)
        self.last_sent_at = parse_time(data["sent_at"])
        self.next_resend_at = parse_time(data["next_resend_at"])

    def _on_ReferralDocketed(self, data):
        self._answered(ReferralDocketed.name, data)

    def _on_ReferralDeclined(self, data):
        self._answered(ReferralDeclined.name, data)

    def _on_ReviewDecided(self, data):
        self._answered(ReviewDecided.name, data)

    def _answered(self, event_type, data):
        self.answered_by = event_type
        self.status = ANSWERS.get(event_type) or data["decision"]
        self.answered_at = parse_time(data.get("docketed_at") or data.get("declined_at") or data["decided_at"])
        self.arbitration_case_no = data.get("arbitration_case_no")
        self.document_no = data.get("document_no")


# --- recommendation letters ---------------------------------------------------------


class Recommendation(Aggregate):
    """A recommendation letter received once, however often the institute sends it."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.received = False

    stream_prefix = "recommendation"

    def receive(self, letter):
        if self.received:
            return False
        data = {
            k: letter[k]
            for k in (
                "recommendation_id",
                "center_id",
                "applicant",
                "respondent",
                "category",
                "claims",
                "issued_at",
            )
        }
        self.record(
            RecommendationReceived, data, occurred_at=parse_time(letter["issued_at"]), center_id=letter["center_id"]
        )
        return True

    def _on_RecommendationReceived(self, data):
        self.received = True

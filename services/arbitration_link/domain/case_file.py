"""The case file: this service's own copy of what intake and mediation said about a case."""

from services.events import (
    AgreementDefaulted,
    AgreementReached,
    ApplicationReceived,
    CaseNotAccepted,
    MediationExpired,
    MediationFailed,
    MediatorAssigned,
    ReviewRequested,
    SessionHeld,
)

from .rules import (
    APPLICATION_FIELDS,
    INCOMPLETE_MEDIATION,
    MEDIATION_CASE_EVENTS,
    MESSAGE_SCHEMA_VERSION,
    REFERRAL,
    REVIEW_REQUEST,
)

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

"""The state of a mediation: the fold of its events (one `_on_<EventType>` per event)."""

from services.common.aggregate import Aggregate

from .calendar import day, moment
from .rules import (
    AGREEMENT,
    ARBITRATION,
    CONFIRMED,
    COURT_ENFORCEMENT,
    DEFAULTED,
    EXPIRED,
    FAILED,
    MEDIATING,
    PAYMENT_ORDER_CATEGORIES,
    PERFORMED,
    UNDER_REVIEW,
    WITHDRAWN,
)


class MediationState(Aggregate):
    """What a mediation's events say; `Mediation` adds the commands."""

    stream_prefix = "mediation"

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.case_id = None
        self.case_number = None
        self.center_id = None
        self.status = None
        self.received_at = None
        self.accepted_at = None
        self.deadline = None
        self.category = None
        self.workers_involved = None
        self.collective = None
        self.claimed_total = None
        self.mediator = None
        self.sessions = []
        self.extensions = []
        self.agreement = None
        self.review = None
        self.failure = None
        self.withdrawal = None
        self.expired_at = None
        self.closed_at = None
        self.performance = None
        self.survey = None
        self.refused_withdrawal = None

    @property
    def opened(self):
        return self.status is not None

    def ending(self):
        """How the mediation ended and when, `(agreement|failed|expired|withdrawn, at)`; None while open."""
        if self.agreement is not None:
            return AGREEMENT, self.agreement["signed_at"]
        if self.failure is not None:
            return FAILED, self.failure["failed_at"]
        if self.expired_at is not None:
            return EXPIRED, self.expired_at
        if self.withdrawal is not None:
            return WITHDRAWN, self.withdrawal["withdrawn_at"]
        return None

    # -- the fold -----------------------------------------------------------------------
    def _on_MediationOpened(self, data):
        self.case_id = data["case_id"]
        self.center_id = data["center_id"]
        self.case_number = data.get("case_number")
        self.received_at = moment(data.get("received_at"))
        self.accepted_at = moment(data.get("accepted_at"))
        self.deadline = moment(data["deadline"])
        self.category = data.get("category")
        self.workers_involved = data.get("workers_involved")
        self.collective = data.get("collective")
        self.claimed_total = data.get("claimed_total")
        self.status = MEDIATING

    def _on_MediatorAssigned(self, data):
        self.mediator = {
            "mediator_id": data["mediator_id"],
            "mediator_name": data["mediator_name"],
            "certificate_no": data["certificate_no"],
            "assigned_at": moment(data["assigned_at"]),
        }

    def _on_SessionHeld(self, data):
        self.sessions.append({"held_at": moment(data["held_at"]), "summary": data["summary"]})

    def _on_MediationExtended(self, data):
        self.deadline = moment(data["deadline"])
        self.extensions.append(
            {
                "days": data["days"],
                "previous_deadline": moment(data["previous_deadline"]),
                "deadline": self.deadline,
                "extended_at": moment(data["extended_at"]),
            }
        )

    def _on_AgreementReached(self, data):
        self.status = AGREEMENT
        self.agreement = {
            "terms": data["terms"],
            "amount": data["amount"],
            "performance_due": day(data["performance_due"]),
            "signed_at": moment(data["signed_at"]),
            "on_time": data["on_time"],
        }
        self.closed_at = self.agreement["signed_at"]

    def _on_MediationFailed(self, data):
        self.status = FAILED
        self.failure = {
            "reason": data["reason"],
            "reason_code": data.get("reason_code"),
            "failed_at": moment(data["failed_at"]),
            "on_time": data["on_time"],
        }
        self.closed_at = self.failure["failed_at"]

    def _on_MediationExpired(self, data):
        self.status = EXPIRED
        self.expired_at = moment(data["expired_at"])
        self.closed_at = self.expired_at

    def _on_MediationWithdrawn(self, data):
        self.status = WITHDRAWN
        self.withdrawal = {"reason": data["reason"], "withdrawn_at": moment(data["withdrawn_at"])}
        self.closed_at = self.withdrawal["withdrawn_at"]

    def _on_WithdrawalRefused(self, data):
        self.refused_withdrawal = {
            "reason": data["reason"],
            "withdrawn_at": moment(data["withdrawn_at"]),
            "refused_at": moment(data["refused_at"]),
        }

    def _on_ReviewRequested(self, data):
        self.status = UNDER_REVIEW
        self.review = {
            "requested_at": moment(data["requested_at"]),
            "decision": None,
            "document_no": None,
            "reason": None,
            "decided_at": None,
            "recorded_at": None,
        }

    def _on_ReviewOutcomeRecorded(self, data):
        """Confirmed, the agreement is an arbitration mediation document (调解书): `confirmed`;
        refused, it awaits performance as the parties' signed agreement again. One performed
        while under review stays performed and gains the result."""
        if self.status == UNDER_REVIEW:
            self.status = CONFIRMED if data["decision"] == "confirmed" else AGREEMENT
        self.review.update(
            decision=data["decision"],
            document_no=data.get("document_no"),
            reason=data.get("reason"),
            decided_at=moment(data["decided_at"]),
            recorded_at=moment(data.get("recorded_at")),
        )

    def _on_AgreementPerformed(self, data):
        self.status = PERFORMED
        self.performance = {"performed": True, "at": moment(data["performed_at"]), "reported": True}

    def _on_AgreementDefaulted(self, data):
        self.status = DEFAULTED
        # A default recorded before the guidance was (all of them referred) reads as unconfirmed.
        confirmed = bool(data.get("confirmed", False))
        self.performance = {
            "performed": False,
            "at": moment(data["defaulted_at"]),
            "reported": data["reported"],
            "confirmed": confirmed,
            "document_no": data.get("document_no"),
            "guidance": data.get("guidance") or (COURT_ENFORCEMENT if confirmed else ARBITRATION),
            "payment_order_possible": data.get(
                "payment_order_possible", not confirmed and self.category in PAYMENT_ORDER_CATEGORIES
            ),
        }

    def _on_SurveyRecorded(self, data):
        self.survey = {
            "score": data["score"],
            "comment": data.get("comment"),
            "recorded_at": moment(data["recorded_at"]),
        }

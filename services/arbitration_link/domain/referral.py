"""Referrals to the arbitration institute and its recommendation letters."""

import dataclasses
from datetime import timedelta

from services.common.aggregate import Aggregate
from services.events import (
    RecommendationReceived,
    ReferralDeclined,
    ReferralDocketed,
    ReferralOpened,
    ReferralSent,
    ReviewDecided,
)

from .rules import REFERRAL, REVIEW_REQUEST, ReplyRefused, parse_time

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

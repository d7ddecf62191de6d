"""The mediation of one accepted case, from its opening to its outcome."""

from datetime import timedelta

from services.common.money import money
from services.events import (
    AgreementDefaulted,
    AgreementPerformed,
    AgreementReached,
    MediationExpired,
    MediationExtended,
    MediationFailed,
    MediationOpened,
    MediationWithdrawn,
    MediatorAssigned,
    ReviewOutcomeRecorded,
    ReviewRequested,
    SessionHeld,
    SurveyRecorded,
    WithdrawalRefused,
)

from .calendar import local_date, start_of_day
from .mediation_state import MediationState
from .rules import (
    AGREEMENT,
    ARBITRATION,
    AWAITING_PERFORMANCE,
    CONFIRMED,
    COURT_ENFORCEMENT,
    EXPIRED,
    FAILED,
    MEDIATING,
    PAYMENT_ORDER_CATEGORIES,
    RESPONDENT_REFUSED,
    REVIEW_APPLICATION_DAYS,
    UNDER_REVIEW,
    WITHDRAWN,
    NotAllowed,
    Rejected,
)

# How each ending reads in a refusal's reason.
ENDINGS = {AGREEMENT: "an agreement", FAILED: "a failure", EXPIRED: "its expiry"}


class Mediation(MediationState):
    """The mediation of one accepted case, from its opening to its outcome: its commands."""

    def _record(self, event_type, data, at):
        """Records an event of the case that happened at `at` (the envelope's `occurred_at`)."""
        return self.record(
            event_type,
            {"case_id": self.case_id, "center_id": self.center_id, **data},
            occurred_at=at,
            case_id=self.case_id,
            center_id=self.center_id,
        )

    def _require(self, *statuses, action):
        if self.status not in statuses:
            if self.status == EXPIRED:
                raise NotAllowed(
                    f"cannot {action} this mediation: it expired at {self.expired_at.isoformat()}"
                    " and the grace for entering steps that happened by then has passed",
                    self.status,
                )
            raise NotAllowed(f"cannot {action} a mediation that is {self.status}", self.status)

    def _require_mediating_at(self, at, action):
        """Mediating, and `at` (when the step happened) no later than the deadline.

        Past the deadline the case has expired in law, though the sweep records it only
        after the grace for late entries: a step dated after the deadline is refused
        whether or not the expiry is recorded yet."""
        self._require(MEDIATING, action=action)
        if at > self.deadline:
            raise NotAllowed(
                f"cannot {action} this mediation at {at.isoformat()}: its deadline passed at"
                f" {self.deadline.isoformat()} (only steps that happened by then may still be entered)",
                self.status,
            )

    @property
    def last_step_at(self):
        """When the latest step of the mediation happened: a step keyed in later may not be dated before it.

        The mediation's first step is the case's acceptance. What the clock or another
        body decided (an expiry, an unreported default, the institute's review decision)
        is no step of the center's and bounds none: a late entry on an expired case is
        refused for the expiry (409), not for its date."""
        steps = [
            self.accepted_at or self.received_at,
            self.mediator and self.mediator["assigned_at"],
            *(s["held_at"] for s in self.sessions),
            *(e["extended_at"] for e in self.extensions),
            self.agreement and self.agreement["signed_at"],
            self.review and self.review["requested_at"],
            self.failure and self.failure["failed_at"],
            self.withdrawal and self.withdrawal["withdrawn_at"],
            self.performance and self.performance["reported"] and self.performance["at"],
        ]
        return max((at for at in steps if at), default=None)

    # -- opening and closing by events from intake and by the clock ---------------------
    def open(self, accepted, deadline, now):
        """Opens the mediation of an accepted case; False if it is already open."""
        if self.opened:
            return False
        self.case_id = accepted["case_id"]
        self.center_id = accepted["center_id"]
        self._record(
            MediationOpened,
            {
                "case_number": accepted.get("case_number"),
                "received_at": accepted.get("received_at"),
                "accepted_at": accepted.get("accepted_at"),
                "deadline": deadline.isoformat(),
                "category": accepted.get("category"),
                "source": accepted.get("source"),
                "workers_involved": accepted.get("workers_involved"),
                "collective": accepted.get("collective"),
                "claimed_total": accepted.get("claimed_total"),
                "opened_at": now.isoformat(),
            },
            now,
        )
        return True

    def overdue(self, now, grace=timedelta(0)):
        """The deadline has passed, and with it the `grace` for entering steps that happened by it."""
        return self.status == MEDIATING and now >= self.deadline + grace

    def expire(self, now, grace=timedelta(0)):
        """Records the expiry once the deadline and the grace for late entries have passed;
        False when not due. The case expired at its deadline (`expired_at`); the grace only
        leaves staff time to key in an agreement or failure that happened by then."""
        if not self.overdue(now, grace):
            return False
        self._record(
            MediationExpired,
            {
                "deadline": self.deadline.isoformat(),
                "expired_at": self.deadline.isoformat(),
                "noticed_at": now.isoformat(),
            },
            self.deadline,
        )
        return True

    def withdraw(self, reason, at):
        """The application withdrawn at `at` (when it happened: staff's, or intake's withdrawal)."""
        self._require_mediating_at(at, action="withdraw")
        self._record(
            MediationWithdrawn,
            {"reason": reason, "withdrawn_at": at.isoformat(), "status_before": self.status},
            at,
        )

    def refuse_withdrawal(self, withdrawal, withdrawn_at, now):
        """intake's withdrawal of a case whose mediation already ended: records that it changes
        nothing (DOMAIN.md, "After the agreement"), so intake returns the case to where it was.
        False when there is nothing to refuse: the mediation is open, or withdrawn too.

        A withdrawal dated after the deadline of a mediation whose expiry the sweep has not
        recorded yet (it waits the grace for late entries) is refused too: the case expired
        in law at its deadline."""
        ending = self.ending()
        if ending is None and self.status == MEDIATING and withdrawn_at > self.deadline:
            ending = (EXPIRED, self.deadline)
        if ending is None or ending[0] == WITHDRAWN:
            return False
        ended_with, ended_at = ending
        self._record(
            WithdrawalRefused,
            {
                "reason": f"the mediation had already ended with {ENDINGS[ended_with]} on {ended_at.isoformat()}",
                "ended_with": ended_with,
                "ended_at": ended_at.isoformat(),
                "status": self.status,
                "withdrawal_event_id": withdrawal.get("event_id"),
                "withdrawal_reason": withdrawal.get("reason"),
                "withdrawn_at": withdrawn_at.isoformat(),
                "refused_at": now.isoformat(),
            },
            now,
        )
        return True

    # -- staff commands: each `at` is when the step happened (`occurred_at`, bounded by the caller)
    def assign(self, mediator, today, at):
        """`today`: the district's date of `at`, on which the certificate must be valid."""
        self._require_mediating_at(at, action="assign a mediator to")
        problem = mediator.assignment_problem(self.center_id, today)
        if problem:
            raise Rejected({"mediator_id": [problem]})
        self._record(
            MediatorAssigned,
            {
                "mediator_id": mediator.mediator_id,
                "mediator_name": mediator.name,
                "certificate_no": mediator.certificate_no,
                "certificate_expires": mediator.certificate_expires.isoformat(),
                "full_time": mediator.full_time,
                "assigned_at": at.isoformat(),
            },
            at,
        )

    def require_certified_mediator(self, mediator, day):
        """持证上岗 on the day of each step the mediator takes (a session, the agreement, the
        failure record), not only on the day of assignment: `mediator` is the assigned
        mediator as the roster has them now (renewals included), `day` the district date of
        the step. No check while no mediator is assigned (the step decides whether it needs one).
        """
        if self.mediator is None:
            return
        if mediator is None or not mediator.exists:
            problem = "the mediator is not on the roster"
        else:
            assert mediator.mediator_id == self.mediator["mediator_id"], "not the assigned mediator"
            problem = mediator.certificate_problem(day)
        if problem:
            raise Rejected(
                {
                    "mediator_id": [
                        f"the assigned mediator cannot act on {day.isoformat()}: {problem};"
                        " assign another mediator with a valid certificate or renew the certificate"
                    ]
                }
            )

    def hold_session(self, held_at, summary):
        """A session's `held_at` is when the step happened (its `occurred_at`)."""
        self._require_mediating_at(held_at, action="hold a session of")
        if self.mediator is None:
            raise NotAllowed("a session needs an assigned mediator: assign one first", self.status)
        self._record(SessionHeld, {"held_at": held_at.isoformat(), "summary": summary}, held_at)

    def extend(self, days, parties_consent, at):
        """Art. 14: the 15 days may be extended only with both parties' consent, before they end."""
        self._require_mediating_at(at, action="extend")
        if parties_consent is not True:
            raise Rejected({"parties_consent": ["an extension needs both parties' recorded consent"]})
        deadline = self.deadline + timedelta(days=days)
        self._record(
            MediationExtended,
            {
                "days": days,
                "previous_deadline": self.deadline.isoformat(),
                "deadline": deadline.isoformat(),
                "extended_at": at.isoformat(),
            },
            at,
        )

    def reach_agreement(self, terms, amount, performance_due, at, tz, certificate_no=None):
        """Signed at `at`: on time when by the deadline, however late it is keyed in.

        `certificate_no` is the certificate the mediator holds on the day (a renewal since the
        assignment gives a new number); the assignment's when not given."""
        self._require_mediating_at(at, action="sign an agreement in")
        if self.mediator is None:
            raise NotAllowed("an agreement needs an assigned mediator: assign one first", self.status)
        if performance_due < local_date(at, tz):
            raise Rejected({"performance_due": ["must not be before the day the agreement is signed"]})
        self._record(
            AgreementReached,
            {
                "terms": terms,
                "amount": money(amount),
                "performance_due": performance_due.isoformat(),
                "signed_at": at.isoformat(),
                "deadline": self.deadline.isoformat(),
                "on_time": at <= self.deadline,
                "mediator_id": self.mediator["mediator_id"],
                "mediator_name": self.mediator["mediator_name"],
                "certificate_no": certificate_no or self.mediator["certificate_no"],
                "sessions": len(self.sessions),
            },
            at,
        )

    def fail(self, reason, at, reason_code=None):
        """调解不成. It needs an assigned mediator unless the respondent refused mediation
        (`reason_code: respondent_refused`); `reason_code` None means staff gave none."""
        self._require_mediating_at(at, action="record the failure of")
        if self.mediator is None and reason_code != RESPONDENT_REFUSED:
            raise NotAllowed(
                "a failure needs an assigned mediator unless the respondent refused mediation"
                f" (reason_code: {RESPONDENT_REFUSED}): assign a mediator first",
                self.status,
            )
        self._record(
            MediationFailed,
            {
                "reason": reason,
                "reason_code": reason_code,
                "failed_at": at.isoformat(),
                "deadline": self.deadline.isoformat(),
                "on_time": at <= self.deadline,
                "mediator_id": self.mediator["mediator_id"] if self.mediator else None,
                "sessions": len(self.sessions),
            },
            at,
        )

    def review_window_ends(self, tz):
        """The last day on which the parties may jointly apply for arbitration review."""
        return local_date(self.agreement["signed_at"], tz) + timedelta(days=REVIEW_APPLICATION_DAYS)

    def request_review(self, at, tz):
        """The parties' joint application, made at `at`: within the window on that day."""
        self._require(AGREEMENT, action="request arbitration review of")
        if self.review is not None:
            raise NotAllowed("arbitration review of this agreement was already requested", self.status)
        last_day = self.review_window_ends(tz)
        if local_date(at, tz) > last_day:
            raise NotAllowed(
                f"the {REVIEW_APPLICATION_DAYS} days to apply for arbitration review ended on {last_day.isoformat()}",
                self.status,
            )
        agreement = self.agreement
        self._record(
            ReviewRequested,
            {
                "requested_at": at.isoformat(),
                "agreement": {
                    "terms": agreement["terms"],
                    "amount": agreement["amount"],
                    "performance_due": agreement["performance_due"].isoformat(),
                    "signed_at": agreement["signed_at"].isoformat(),
                },
            },
            at,
        )

    def record_review_outcome(self, decision, document_no, reason, decided_at, now):
        """The institute's decision: the agreement awaits performance again, with the result.

        Confirmed, it is an arbitration mediation document (调解书) and the mediation is
        `confirmed`: a default is then a matter for a people's court (Art. 51). Refused, it
        stands as the parties' signed agreement (`agreement`). An agreement performed while
        under review keeps that status and gains the result. False when no review is pending.
        """
        if self.review is None or self.review["decision"] is not None:
            return False
        self._record(
            ReviewOutcomeRecorded,
            {
                "decision": decision,
                "document_no": document_no,
                "reason": reason,
                "decided_at": decided_at,
                "recorded_at": now.isoformat(),
            },
            now,
        )
        return True

    def report_performance(self, performed, at, grace_days, tz):
        """Staff report performance (at `at`), also while a review is pending (paying need not wait for it).

        A default is not recorded while the review of the agreement is pending (DOMAIN.md,
        "After the agreement"): whether it goes to a court or to arbitration depends on the
        institute's decision. An agreement awaiting performance counts as defaulted from
        `defaults_from`: a performance dated then or later is refused, whether or not the
        sweep has recorded the default yet (it waits the grace for late entries).
        """
        self._require(*AWAITING_PERFORMANCE, UNDER_REVIEW, action="report the performance of")
        if performed:
            defaulted_from = self._defaulted_from(grace_days, tz)
            if self.status in AWAITING_PERFORMANCE and at >= defaulted_from:
                raise NotAllowed(
                    f"cannot report a performance at {at.isoformat()}: the agreement counts as defaulted"
                    f" from {defaulted_from.isoformat()}",
                    self.status,
                )
            self._record(AgreementPerformed, {"performed_at": at.isoformat()}, at)
            return
        if self.status == UNDER_REVIEW:
            raise NotAllowed(
                "a default cannot be recorded while the arbitration review of the agreement is pending:"
                " record it once the institute has decided",
                self.status,
            )
        self._default(at, reported=True)

    def defaults_from(self, grace_days, tz):
        """The moment an unreported agreement counts as defaulted: after the due date and the grace."""
        last_day = self.agreement["performance_due"] + timedelta(days=grace_days)
        return start_of_day(last_day + timedelta(days=1), tz)

    def default_unreported(self, now, grace_days, tz, late_entry_grace=timedelta(0)):
        """Records the default of an agreement nobody reported performed in time; False when not due.

        Never while a review is pending; once the institute decided, not before its decision
        was recorded (the default follows the step before it). It waits `late_entry_grace`
        after `defaults_from`, so a performance made in time can still be keyed in; the
        default is dated as if it had been recorded at once.
        """
        if self.status not in AWAITING_PERFORMANCE:
            return False
        if now < self.defaults_from(grace_days, tz) + late_entry_grace:
            return False
        self._default(self._defaulted_from(grace_days, tz), reported=False)
        return True

    def _defaulted_from(self, grace_days, tz):
        """When an unreported agreement counts as defaulted: `defaults_from`, or the
        institute's decision recorded after it."""
        defaults_from = self.defaults_from(grace_days, tz)
        decided = (self.review or {}).get("recorded_at")
        return max(defaults_from, decided) if decided else defaults_from

    def _default(self, at, reported):
        """The default, with what the parties may do next (DOMAIN.md, "After the agreement")."""
        confirmed = self.status == CONFIRMED
        self._record(
            AgreementDefaulted,
            {
                "performance_due": self.agreement["performance_due"].isoformat(),
                "amount": self.agreement["amount"],
                "defaulted_at": at.isoformat(),
                "reported": reported,
                "category": self.category,
                "confirmed": confirmed,
                "document_no": self.review["document_no"] if confirmed else None,
                "guidance": COURT_ENFORCEMENT if confirmed else ARBITRATION,
                "payment_order_possible": not confirmed and self.category in PAYMENT_ORDER_CATEGORIES,
            },
            at,
        )

    def record_survey(self, score, comment, at):
        """满意度调查: one satisfaction score per closed case; `recorded_at` is when it was taken (`at`)."""
        if self.status == MEDIATING:
            raise NotAllowed("a satisfaction survey is taken once the case is closed", self.status)
        if self.survey is not None:
            raise NotAllowed("this case's satisfaction survey is already recorded", self.status)
        data = {"score": score, "recorded_at": at.isoformat()}
        if comment:
            data["comment"] = comment
        self._record(SurveyRecorded, data, at)

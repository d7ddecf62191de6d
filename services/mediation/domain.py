"""The mediation domain, pure: the mediator roster (调解员名册), the mediation of a case, complaints.

Each aggregate is a fold of its events; a command method checks the rules and records a
past-tense event. Nothing here reads a clock or touches I/O: the caller hands in `now`
(an aware datetime) and the district's time zone `tz`, which turns moments into the
calendar dates the law counts in.

A refused command raises `NotAllowed` (the case's state forbids it, HTTP 409) or
`Rejected` (the request names something unacceptable, HTTP 422, with field messages).
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from services.common.aggregate import Aggregate

# The mediation's status, CONTRACTS §2.
MEDIATING = "mediating"
AGREEMENT = "agreement"  # signed, awaiting performance
UNDER_REVIEW = "under_review"
PERFORMED = "performed"
DEFAULTED = "defaulted"
FAILED = "failed"
EXPIRED = "expired"
WITHDRAWN = "withdrawn"
STATUSES = (MEDIATING, AGREEMENT, UNDER_REVIEW, PERFORMED, DEFAULTED, FAILED, EXPIRED, WITHDRAWN)

MEDIATION_DAYS = 15  # Art. 14: 15 days from the receipt of the application
REVIEW_APPLICATION_DAYS = 15  # joint application for arbitration review, after signing
REVIEW_DECISIONS = ("confirmed", "refused")


class NotAllowed(Exception):
    """The command is not allowed in the aggregate's current state."""

    def __init__(self, message, status):
        super().__init__(message)
        self.message = message
        self.status = status


class Rejected(Exception):
    """The command names something the rules refuse: `{field: [message, ...]}`."""

    def __init__(self, errors):
        super().__init__(str(errors))
        self.errors = errors


# --- calendar ---------------------------------------------------------------------------


def local_date(moment, tz):
    return moment.astimezone(tz).date()


def start_of_day(day, tz):
    return datetime.combine(day, time.min, tzinfo=tz)


def moment(value):
    """A stored RFC 3339 timestamp as an aware datetime (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def day(value):
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def deadline_from(value, received_at, tz):
    """The mediation deadline from intake's `mediation_deadline`.

    A timestamp is taken as it is; a bare date means the end of that day in the district;
    without one the deadline is 15 days after receipt.
    """
    if value:
        if len(value) == 10:
            return start_of_day(date.fromisoformat(value) + timedelta(days=1), tz)
        return datetime.fromisoformat(value)
    return moment(received_at) + timedelta(days=MEDIATION_DAYS)


def certificate_valid_on(certificate_no, certificate_expires, today):
    """A mediator certificate is valid through its expiry date (持证上岗)."""
    return bool(certificate_no) and certificate_expires is not None and today <= certificate_expires


def money(amount):
    return format(Decimal(amount).quantize(Decimal("0.01")), "f")


# --- the roster -------------------------------------------------------------------------


class Mediator(Aggregate):
    """A mediator of a center's roster; works on cases only with a valid certificate (持证上岗)."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.mediator_id = None
        self.center_id = None
        self.name = None
        self.certificate_no = None
        self.certificate_expires = None
        self.certificate_expired = False
        self.full_time = False
        self.registered_at = None

    @staticmethod
    def stream_for(mediator_id):
        return f"mediator-{mediator_id}"

    @property
    def exists(self):
        return self.mediator_id is not None

    def register(self, mediator_id, center_id, name, certificate_no, certificate_expires, full_time, now):
        if self.exists:
            raise NotAllowed("this mediator is already registered", "registered")
        self.record(
            "MediatorRegistered",
            {
                "mediator_id": mediator_id,
                "center_id": center_id,
                "name": name,
                "certificate_no": certificate_no,
                "certificate_expires": certificate_expires.isoformat() if certificate_expires else None,
                "full_time": full_time,
                "registered_at": now.isoformat(),
            },
            occurred_at=now,
            center_id=center_id,
        )

    def renew_certificate(self, certificate_no, certificate_expires, now):
        self.record(
            "MediatorCertificateRenewed",
            {
                "mediator_id": self.mediator_id,
                "center_id": self.center_id,
                "certificate_no": certificate_no,
                "certificate_expires": certificate_expires.isoformat(),
                "renewed_at": now.isoformat(),
            },
            occurred_at=now,
            center_id=self.center_id,
        )

    def certified_on(self, today):
        return certificate_valid_on(self.certificate_no, self.certificate_expires, today)

    def expire_certificate(self, today, now):
        """Records the expiry once the last valid day has passed; False when not (yet) due."""
        if self.certificate_expired or self.certificate_expires is None or today <= self.certificate_expires:
            return False
        self.record(
            "MediatorCertificateExpired",
            {
                "mediator_id": self.mediator_id,
                "center_id": self.center_id,
                "certificate_no": self.certificate_no,
                "expired_on": self.certificate_expires.isoformat(),
                "recorded_at": now.isoformat(),
            },
            occurred_at=now,
            center_id=self.center_id,
        )
        return True

    def assignment_problem(self, center_id, today):
        """Why this mediator may not take a case of `center_id` today, or None."""
        if self.center_id != center_id:
            return f"the mediator belongs to center {self.center_id}, not to the case's center {center_id}"
        if not self.certificate_no or self.certificate_expires is None:
            return "the mediator holds no mediator certificate"
        if today > self.certificate_expires:
            return f"the mediator's certificate {self.certificate_no} expired on {self.certificate_expires.isoformat()}"
        return None

    def apply(self, event_type, data):
        if event_type == "MediatorRegistered":
            self.mediator_id = data["mediator_id"]
            self.center_id = data["center_id"]
            self.name = data["name"]
            self.full_time = data["full_time"]
            self.registered_at = moment(data.get("registered_at"))
            self._certificate(data)
        elif event_type == "MediatorCertificateRenewed":
            self._certificate(data)
        elif event_type == "MediatorCertificateExpired":
            self.certificate_expired = True

    def _certificate(self, data):
        self.certificate_no = data["certificate_no"]
        self.certificate_expires = day(data["certificate_expires"])
        self.certificate_expired = False


# --- the mediation of a case ------------------------------------------------------------


class Mediation(Aggregate):
    """The mediation of one accepted case, from its opening to its outcome."""

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

    @staticmethod
    def stream_for(case_id):
        return f"mediation-{case_id}"

    @property
    def opened(self):
        return self.status is not None

    def _record(self, event_type, data, now):
        return self.record(
            event_type,
            {"case_id": self.case_id, "center_id": self.center_id, **data},
            occurred_at=now,
            case_id=self.case_id,
            center_id=self.center_id,
        )

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise NotAllowed(f"cannot {action} a mediation that is {self.status}", self.status)

    # -- opening and closing by events from intake and by the clock ---------------------
    def open(self, accepted, deadline, now):
        """Opens the mediation of an accepted case; False if it is already open."""
        if self.opened:
            return False
        self.case_id = accepted["case_id"]
        self.center_id = accepted["center_id"]
        self._record(
            "MediationOpened",
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

    def overdue(self, now):
        return self.status == MEDIATING and now >= self.deadline

    def expire(self, now):
        """Records the expiry once the deadline has passed; False when not due."""
        if not self.overdue(now):
            return False
        self._record(
            "MediationExpired",
            {
                "deadline": self.deadline.isoformat(),
                "expired_at": self.deadline.isoformat(),
                "noticed_at": now.isoformat(),
            },
            self.deadline,
        )
        return True

    def withdraw(self, reason, now):
        self._require(MEDIATING, action="withdraw")
        self._record(
            "MediationWithdrawn",
            {"reason": reason, "withdrawn_at": now.isoformat(), "status_before": self.status},
            now,
        )

    # -- staff commands -----------------------------------------------------------------
    def assign(self, mediator, today, now):
        self._require(MEDIATING, action="assign a mediator to")
        problem = mediator.assignment_problem(self.center_id, today)
        if problem:
            raise Rejected({"mediator_id": [problem]})
        self._record(
            "MediatorAssigned",
            {
                "mediator_id": mediator.mediator_id,
                "mediator_name": mediator.name,
                "certificate_no": mediator.certificate_no,
                "certificate_expires": mediator.certificate_expires.isoformat(),
                "full_time": mediator.full_time,
                "assigned_at": now.isoformat(),
            },
            now,
        )

    def hold_session(self, held_at, summary, now):
        self._require(MEDIATING, action="hold a session of")
        self._record("SessionHeld", {"held_at": held_at.isoformat(), "summary": summary}, now)

    def extend(self, days, parties_consent, now):
        """Art. 14: the 15 days may be extended only with both parties' consent."""
        self._require(MEDIATING, action="extend")
        if parties_consent is not True:
            raise Rejected({"parties_consent": ["an extension needs both parties' recorded consent"]})
        deadline = self.deadline + timedelta(days=days)
        self._record(
            "MediationExtended",
            {
                "days": days,
                "previous_deadline": self.deadline.isoformat(),
                "deadline": deadline.isoformat(),
                "extended_at": now.isoformat(),
            },
            now,
        )

    def reach_agreement(self, terms, amount, performance_due, now, tz):
        self._require(MEDIATING, action="sign an agreement in")
        if self.mediator is None:
            raise NotAllowed("an agreement needs an assigned mediator: assign one first", self.status)
        if performance_due < local_date(now, tz):
            raise Rejected({"performance_due": ["must not be before the day the agreement is signed"]})
        self._record(
            "AgreementReached",
            {
                "terms": terms,
                "amount": money(amount),
                "performance_due": performance_due.isoformat(),
                "signed_at": now.isoformat(),
                "deadline": self.deadline.isoformat(),
                "on_time": now <= self.deadline,
                "mediator_id": self.mediator["mediator_id"],
                "mediator_name": self.mediator["mediator_name"],
                "certificate_no": self.mediator["certificate_no"],
                "sessions": len(self.sessions),
            },
            now,
        )

    def fail(self, reason, now):
        self._require(MEDIATING, action="record the failure of")
        self._record(
            "MediationFailed",
            {
                "reason": reason,
                "failed_at": now.isoformat(),
                "deadline": self.deadline.isoformat(),
                "on_time": now <= self.deadline,
                "mediator_id": self.mediator["mediator_id"] if self.mediator else None,
                "sessions": len(self.sessions),
            },
            now,
        )

    def review_window_ends(self, tz):
        """The last day on which the parties may jointly apply for arbitration review."""
        return local_date(self.agreement["signed_at"], tz) + timedelta(days=REVIEW_APPLICATION_DAYS)

    def request_review(self, now, tz):
        self._require(AGREEMENT, action="request arbitration review of")
        if self.review is not None:
            raise NotAllowed("arbitration review of this agreement was already requested", self.status)
        last_day = self.review_window_ends(tz)
        if local_date(now, tz) > last_day:
            raise NotAllowed(
                f"the {REVIEW_APPLICATION_DAYS} days to apply for arbitration review ended on {last_day.isoformat()}",
                self.status,
            )
        agreement = self.agreement
        self._record(
            "ReviewRequested",
            {
                "requested_at": now.isoformat(),
                "agreement": {
                    "terms": agreement["terms"],
                    "amount": agreement["amount"],
                    "performance_due": agreement["performance_due"].isoformat(),
                    "signed_at": agreement["signed_at"].isoformat(),
                },
            },
            now,
        )

    def record_review_outcome(self, decision, document_no, reason, decided_at, now):
        """The institute's decision: the agreement goes back to awaiting performance, with the result.

        Confirmed, it is backed by an arbitration mediation document (调解书); refused, it
        stands as the parties' signed agreement. An agreement performed (or defaulted) while
        under review keeps that status and gains the result. False when no review is pending.
        """
        if self.review is None or self.review["decision"] is not None:
            return False
        self._record(
            "ReviewOutcomeRecorded",
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

    def report_performance(self, performed, now):
        """Staff report performance, also while a review is pending (paying need not wait for it)."""
        self._require(AGREEMENT, UNDER_REVIEW, action="report the performance of")
        if performed:
            self._record("AgreementPerformed", {"performed_at": now.isoformat()}, now)
        else:
            self._default(now, reported=True)

    def defaults_from(self, grace_days, tz):
        """The moment an unreported agreement counts as defaulted: after the due date and the grace."""
        last_day = self.agreement["performance_due"] + timedelta(days=grace_days)
        return start_of_day(last_day + timedelta(days=1), tz)

    def default_unreported(self, now, grace_days, tz):
        """Records the default of an agreement nobody reported performed in time; False when not due."""
        if self.status != AGREEMENT:
            return False
        defaults_from = self.defaults_from(grace_days, tz)
        if now < defaults_from:
            return False
        self._default(defaults_from, reported=False)
        return True

    def _default(self, at, reported):
        self._record(
            "AgreementDefaulted",
            {
                "performance_due": self.agreement["performance_due"].isoformat(),
                "amount": self.agreement["amount"],
                "defaulted_at": at.isoformat(),
                "reported": reported,
            },
            at,
        )

    def record_survey(self, score, comment, now):
        """满意度调查: one satisfaction score per closed case."""
        if self.status == MEDIATING:
            raise NotAllowed("a satisfaction survey is taken once the case is closed", self.status)
        if self.survey is not None:
            raise NotAllowed("this case's satisfaction survey is already recorded", self.status)
        data = {"score": score, "recorded_at": now.isoformat()}
        if comment:
            data["comment"] = comment
        self._record("SurveyRecorded", data, now)

    # -- the fold -----------------------------------------------------------------------
    def apply(self, event_type, data):
        handler = getattr(self, f"_on_{event_type}", None)
        if handler is not None:
            handler(data)

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
        self.failure = {"reason": data["reason"], "failed_at": moment(data["failed_at"]), "on_time": data["on_time"]}
        self.closed_at = self.failure["failed_at"]

    def _on_MediationExpired(self, data):
        self.status = EXPIRED
        self.expired_at = moment(data["expired_at"])
        self.closed_at = self.expired_at

    def _on_MediationWithdrawn(self, data):
        self.status = WITHDRAWN
        self.withdrawal = {"reason": data["reason"], "withdrawn_at": moment(data["withdrawn_at"])}
        self.closed_at = self.withdrawal["withdrawn_at"]

    def _on_ReviewRequested(self, data):
        self.status = UNDER_REVIEW
        self.review = {
            "requested_at": moment(data["requested_at"]),
            "decision": None,
            "document_no": None,
            "reason": None,
            "decided_at": None,
        }

    def _on_ReviewOutcomeRecorded(self, data):
        if self.status == UNDER_REVIEW:
            self.status = AGREEMENT
        self.review.update(
            decision=data["decision"],
            document_no=data.get("document_no"),
            reason=data.get("reason"),
            decided_at=moment(data["decided_at"]),
        )

    def _on_AgreementPerformed(self, data):
        self.status = PERFORMED
        self.performance = {"performed": True, "at": moment(data["performed_at"]), "reported": True}

    def _on_AgreementDefaulted(self, data):
        self.status = DEFAULTED
        self.performance = {"performed": False, "at": moment(data["defaulted_at"]), "reported": data["reported"]}

    def _on_SurveyRecorded(self, data):
        self.survey = {
            "score": data["score"],
            "comment": data.get("comment"),
            "recorded_at": moment(data["recorded_at"]),
        }


# --- complaints -------------------------------------------------------------------------


class Complaint(Aggregate):
    """A complaint (投诉举报) about a center's service, optionally about one case."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.complaint_id = None

    @staticmethod
    def stream_for(complaint_id):
        return f"complaint-{complaint_id}"

    def file(self, complaint_id, center_id, case_id, text, now):
        self.record(
            "ComplaintFiled",
            {
                "complaint_id": complaint_id,
                "center_id": center_id,
                "case_id": case_id,
                "text": text,
                "filed_at": now.isoformat(),
            },
            occurred_at=now,
            case_id=case_id,
            center_id=center_id,
        )

    def apply(self, event_type, data):
        if event_type == "ComplaintFiled":
            self.complaint_id = data["complaint_id"]

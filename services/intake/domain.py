"""The intake domain: consultations (咨询), applications (申请) and the acceptance decision (受理).

Pure: no I/O, no clock, no framework. The service layer hands in validated values and
already-localised datetimes; commands check the rules and record past-tense events.
"""

import dataclasses
from datetime import datetime
from decimal import Decimal

from services.common.aggregate import Aggregate
from services.common.errors import StateConflict
from services.common.money import money
from services.common.privacy import mask_id_number, mask_phone
from services.events import (
    ApplicationReceived,
    ApplicationWithdrawn,
    CaseAccepted,
    CaseNotAccepted,
    MediationOutcomeNoted,
    PersonalDataErased,
    WithdrawalOverruled,
)

CATEGORIES = (
    "wages",
    "social_insurance",
    "labor_protection",
    "training",
    "contract_termination",
    "employment_relationship",
    "work_injury",
    "compensation",
    "other",
)
CHANNELS = ("walk_in", "phone", "online", "letter")
SOURCES = ("self", "arbitration_recommendation", "court_entrusted", "labor_inspection", "petition")
ID_TYPES = ("resident_id", "passport", "other")

RECEIVED, ACCEPTED, NOT_ACCEPTED, WITHDRAWN = "received", "accepted", "not_accepted", "withdrawn"
STATUSES = (RECEIVED, ACCEPTED, NOT_ACCEPTED, WITHDRAWN)

# How a mediation ends (mediation's events; intake notes each once, docs/EVENTS.md).
MEDIATION_ENDINGS = {
    "agreement": ("达成调解协议", "an agreement"),
    "failed": ("调解不成", "a failure"),
    "expired": ("调解期满", "its expiry"),
    "withdrawn": ("撤回调解", "a withdrawal"),
}

COLLECTIVE_THRESHOLD = 10  # Art. 7: ten or more workers with a common claim
DEFAULT_MEDIATION_DAYS = 15  # Art. 14: fifteen days from receipt


class CaseStateError(StateConflict):
    """A command the case's current state does not allow (the API answers 409 with `status`)."""


def format_case_number(center_code, year, sequence):
    """`HGJ-2026-00017`: the center's code, the year of receipt, the running number in that year."""
    return f"{center_code}-{year}-{sequence:05d}"


def mediation_deadline(received_at, calendar, days=DEFAULT_MEDIATION_DAYS):
    """The last day of mediation (Art. 14): `days` counted from the day after receipt,
    rolled over rest days (Civil Code Art. 201, 203); it ends at 24:00 of that day."""
    return calendar.period_end(received_at, days)


def is_collective(workers_involved):
    return workers_involved >= COLLECTIVE_THRESHOLD


@dataclasses.dataclass(frozen=True)
class Claim:
    item: str
    amount: Decimal

    def as_data(self):
        return {"item": self.item, "amount": money(self.amount)}


@dataclasses.dataclass(frozen=True)
class Application:
    """A validated application for mediation, as received by a center."""

    center_id: str
    channel: str
    source: str
    category: str
    applicant: dict
    respondent: dict
    claims: tuple
    workers_involved: int
    description: str
    received_at: datetime
    recommendation_id: str | None = None

    @property
    def claimed_total(self):
        return sum((claim.amount for claim in self.claims), Decimal("0"))

    @property
    def collective(self):
        return is_collective(self.workers_involved)


@dataclasses.dataclass(frozen=True)
class Consultation:
    """A walk-in, phone or online enquiry: counted, but not a case."""

    consultation_id: str
    center_id: str
    channel: str
    topic: str
    recorded_at: datetime

    @staticmethod
    def stream_for(consultation_id):
        return f"consultation-{consultation_id}"

    def recorded_event(self):
        return {
            "consultation_id": self.consultation_id,
            "center_id": self.center_id,
            "channel": self.channel,
            "topic": self.topic,
            "recorded_at": self.recorded_at.isoformat(),
        }


def nothing_to_withdraw(outcome, ended_at):
    """`调解已于 2026-03-05 达成调解协议而结束，没有可撤回的申请 / the mediation ended with an
    agreement on 2026-03-05: nothing is left to withdraw` (the day in the district)."""
    chinese, english = MEDIATION_ENDINGS[outcome]
    day = datetime.fromisoformat(ended_at).date().isoformat()
    return (
        f"调解已于 {day} {chinese}而结束，没有可撤回的申请"
        f" / the mediation ended with {english} on {day}: nothing is left to withdraw"
    )


class Case(Aggregate):
    """A case as intake knows it: received, then accepted or not accepted once, maybe withdrawn.

    Once accepted, its mediation runs in the mediation service; intake notes how it ended
    (`note_mediation_end`, from mediation's events), so a withdrawal after an agreement, a
    failure or an expiry is refused here, a withdrawal taken in mediation shows here, and a
    withdrawal intake took before it heard of the end is overruled (DOMAIN.md, "After the
    agreement": withdrawal ends the case once, for every view of it).
    """

    stream_prefix = "case"

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.status = None
        self.received = {}
        self.decision = None
        self.withdrawal = None
        self.erasure = None
        self.mediation_end = None  # {outcome, ended_at, reason?}: how the mediation ended
        self.end_from_refusal = False  # noted from mediation's refusal of a withdrawal, not its ending
        self.overruled_withdrawal = None

    @property
    def exists(self):
        return self.status is not None

    @property
    def case_id(self):
        return self.received.get("case_id")

    @property
    def case_number(self):
        return self.received.get("case_number")

    @property
    def center_id(self):
        return self.received.get("center_id")

    @property
    def last_step_at(self):
        """When the latest step of the case happened (a later one may not be given as earlier)."""
        steps = [self.received.get("received_at"), self.decision and self.decision["decided_at"]]
        return max((datetime.fromisoformat(at) for at in steps if at), default=None)

    # --- commands -------------------------------------------------------------------

    @classmethod
    def receive(cls, case_id, case_number, application, deadline, deadline_ends_at):
        """`deadline` is the last day of mediation (a date); `deadline_ends_at` its 24:00 in the district."""
        case = cls(cls.stream_for(case_id))
        data = {
            "case_id": case_id,
            "case_number": case_number,
            "center_id": application.center_id,
            "channel": application.channel,
            "source": application.source,
            "category": application.category,
            "applicant": application.applicant,
            "respondent": application.respondent,
            "claims": [claim.as_data() for claim in application.claims],
            "claimed_total": money(application.claimed_total),
            "workers_involved": application.workers_involved,
            "collective": application.collective,
            "description": application.description,
            "received_at": application.received_at.isoformat(),
            "mediation_deadline": deadline.isoformat(),
            "mediation_deadline_ends_at": deadline_ends_at.isoformat(),
        }
        if application.recommendation_id is not None:
            data["recommendation_id"] = application.recommendation_id
        case._record(ApplicationReceived, data, application.received_at)
        return case

    def accept(self, at):
        self._require_undecided("accepted")
        self._record(
            CaseAccepted,
            {**self._identity(), "accepted_at": at.isoformat(), **self._facts_for_downstream()},
            at,
        )

    def reject(self, reason, at):
        """Not accepted (不予受理): out of scope, or the respondent refuses mediation."""
        self._require_undecided("not accepted")
        self._record(
            CaseNotAccepted,
            {**self._identity(), "reason": reason, "decided_at": at.isoformat(), **self._facts_for_downstream()},
            at,
        )

    def withdraw(self, reason, at):
        if self.status not in (RECEIVED, ACCEPTED):
            raise CaseStateError(f"a case that is {self.status} cannot be withdrawn", self.status)
        if self.mediation_end is not None:
            ended = self.mediation_end
            raise CaseStateError(
                nothing_to_withdraw(ended["outcome"], ended["ended_at"]),
                self.status,
                mediation=dict(ended),
            )
        self._record(
            ApplicationWithdrawn,
            {**self._identity(), "reason": reason, "withdrawn_at": at.isoformat(), "status_before": self.status},
            at,
        )

    def note_mediation_end(self, outcome, ended_at, reason, at, refused=False):
        """Mediation's outcome (`outcome` one of MEDIATION_ENDINGS, `ended_at` an aware datetime
        in the district), consumed from its events in any order and any number of times:
        the first ending is noted, the rest change nothing (a mediation ends once). False
        when nothing changed.

        - withdrawn in mediation: the case becomes `withdrawn` here too, unless intake's own
          withdrawal (the cause of mediation's) already made it so;
        - ended otherwise while intake's withdrawal stands: intake took it before it heard
          of the end, and mediation refuses it (`WithdrawalRefused`), so it is overruled and
          the case is back where it was (mediation's refusal and its outcome say the same:
          whichever arrives first overrules);
        - ended otherwise: noted, and a later withdrawal is refused.

        `refused`: told by mediation's refusal of a withdrawal rather than by the ending
        itself. A refusal may name an expiry the sweep has not recorded yet (it waits a
        grace for late entries); the ending recorded after all (a late agreement dated
        before the deadline, a withdrawal in mediation) then corrects what was noted.
        """
        if self.status not in (ACCEPTED, WITHDRAWN):
            return False
        noted = self.mediation_end
        if noted is not None and (refused or not self.end_from_refusal or noted["outcome"] == outcome):
            return False
        ended = {"outcome": outcome, "ended_at": ended_at.isoformat()}
        if outcome == WITHDRAWN:
            if self.status == WITHDRAWN:
                return False
            self._record(MediationOutcomeNoted, {**self._identity(), **ended, "reason": reason}, ended_at)
        elif self.status == WITHDRAWN:
            withdrawal = self.withdrawal
            self._record(
                WithdrawalOverruled,
                {
                    **self._identity(),
                    "reason": f"the mediation had already ended with {MEDIATION_ENDINGS[outcome][1]}"
                    f" on {ended_at.date().isoformat()}",
                    "ended_with": outcome,
                    "ended_at": ended["ended_at"],
                    "from_refusal": refused,
                    "withdrawal_reason": withdrawal["reason"],
                    "withdrawn_at": withdrawal["withdrawn_at"],
                    "status": withdrawal["status_before"],
                    "overruled_at": at.isoformat(),
                },
                at,
            )
        else:
            self._record(MediationOutcomeNoted, {**self._identity(), **ended, "reason": reason}, ended_at)
        return True

    def erase_personal_data(self, reason, at):
        """Records the erasure (PIPL Art. 47) once; the keys were destroyed before, so the
        case's personal fields already read `[已删除]`. Its figures stay."""
        if self.erasure is not None:
            return False
        self._record(PersonalDataErased, {**self._identity(), "reason": reason, "erased_at": at.isoformat()}, at)
        return True

    def _require_undecided(self, wanted):
        if self.status != RECEIVED:
            raise CaseStateError(f"a case that is {self.status} cannot be {wanted}", self.status)

    def _identity(self):
        return {"case_id": self.case_id, "case_number": self.case_number, "center_id": self.center_id}

    def _facts_for_downstream(self):
        # Beyond EVENTS.md's minimum: what mediation and the referral to arbitration
        # need, so a consumer of the decision never has to call intake back.
        keys = (
            "received_at",
            "mediation_deadline",
            "mediation_deadline_ends_at",
            "category",
            "source",
            "channel",
            "workers_involved",
            "collective",
            "claimed_total",
            "applicant",
            "respondent",
            "claims",
        )
        return {key: self.received[key] for key in keys}

    def _record(self, event_type, data, at):
        self.record(event_type, data, occurred_at=at, case_id=data["case_id"], center_id=data["center_id"])

    # --- state ----------------------------------------------------------------------

    def _on_ApplicationReceived(self, data):
        self.received = data
        self.status = RECEIVED

    def _on_CaseAccepted(self, data):
        self.decision = {"decision": "accept", "decided_at": data["accepted_at"]}
        self.status = ACCEPTED

    def _on_CaseNotAccepted(self, data):
        self.decision = {"decision": "reject", "reason": data["reason"], "decided_at": data["decided_at"]}
        self.status = NOT_ACCEPTED

    def _on_ApplicationWithdrawn(self, data):
        self.withdrawal = {
            "reason": data["reason"],
            "withdrawn_at": data["withdrawn_at"],
            "status_before": data.get("status_before", ACCEPTED),
            "in": "intake",
        }
        self.status = WITHDRAWN

    def _on_MediationOutcomeNoted(self, data):
        self.mediation_end = {key: data[key] for key in ("outcome", "ended_at", "reason") if data.get(key)}
        self.end_from_refusal = False
        if data["outcome"] == WITHDRAWN:
            self.withdrawal = {
                "reason": data.get("reason"),
                "withdrawn_at": data["ended_at"],
                "status_before": self.status,
                "in": "mediation",
            }
            self.status = WITHDRAWN

    def _on_WithdrawalOverruled(self, data):
        self.mediation_end = {"outcome": data["ended_with"], "ended_at": data["ended_at"]}
        self.end_from_refusal = data.get("from_refusal", False)
        self.overruled_withdrawal = {
            key: data[key] for key in ("reason", "withdrawal_reason", "withdrawn_at", "overruled_at")
        }
        self.withdrawal = None
        self.status = data["status"]

    def _on_PersonalDataErased(self, data):
        self.erasure = {"reason": data["reason"], "erased_at": data["erased_at"]}

    # --- views ----------------------------------------------------------------------

    def view(self):
        """The case as intake knows it (GET /cases/{case_id})."""
        return {
            **self.received,
            "status": self.status,
            "accepted_at": self.decision["decided_at"] if self.status_was_accepted else None,
            "decision": self.decision,
            "withdrawal": self.withdrawal,
            "mediation": self.mediation_end,
            "overruled_withdrawal": self.overruled_withdrawal,
            "erasure": self.erasure,
            "version": self.version,
        }

    @property
    def status_was_accepted(self):
        return bool(self.decision) and self.decision["decision"] == "accept"

    def summary(self):
        """One line of the case list: ID number and phone masked (CONTRACTS §9)."""
        return {
            "case_id": self.case_id,
            "case_number": self.case_number,
            "center_id": self.center_id,
            "status": self.status,
            "source": self.received["source"],
            "channel": self.received["channel"],
            "category": self.received["category"],
            "applicant_name": self.received["applicant"].get("name"),
            "applicant_id_number": mask_id_number(self.received["applicant"].get("id_number")),
            "applicant_phone": mask_phone(self.received["applicant"].get("phone")),
            "respondent_name": self.received["respondent"].get("name"),
            "workers_involved": self.received["workers_involved"],
            "collective": self.received["collective"],
            "claimed_total": self.received["claimed_total"],
            "received_at": self.received["received_at"],
            "mediation_deadline": self.received["mediation_deadline"],
            "mediation_deadline_ends_at": self.received.get("mediation_deadline_ends_at"),
            "decided_at": self.decision["decided_at"] if self.decision else None,
            "mediation_outcome": self.mediation_end["outcome"] if self.mediation_end else None,
        }

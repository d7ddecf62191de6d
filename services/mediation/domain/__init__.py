"""The mediation domain, pure: the mediator roster (调解员名册), the mediation of a case, complaints.

Each aggregate is a fold of its events; a command method checks the rules and records a
past-tense event. Nothing here reads a clock or touches I/O: the caller hands in `now`
(an aware datetime) and the district's time zone `tz`, which turns moments into the
calendar dates the law counts in.

A refused command raises `NotAllowed` (the case's state forbids it: a `StateConflict`)
or `Rejected` (the request names something unacceptable, with field messages).
"""

from .calendar import (
    MEDIATION_DAYS,
    certificate_valid_on,
    day,
    deadline_from,
    local_date,
    moment,
    start_of_day,
)
from .complaint import ANSWERED, COMPLAINT_STATUSES, OPEN, Complaint
from .mediation import Mediation
from .mediator import Mediator
from .rules import (
    AGREEMENT,
    ARBITRATION,
    AWAITING_PERFORMANCE,
    CONFIRMED,
    COURT_ENFORCEMENT,
    DEFAULTED,
    EXPIRED,
    FAILED,
    FAILURE_REASON_CODES,
    MEDIATING,
    PAYMENT_ORDER_CATEGORIES,
    PERFORMED,
    RESPONDENT_REFUSED,
    REVIEW_APPLICATION_DAYS,
    REVIEW_DECISIONS,
    STATUSES,
    UNDER_REVIEW,
    WITHDRAWN,
    NotAllowed,
    Rejected,
)

__all__ = [
    "AGREEMENT",
    "ANSWERED",
    "COMPLAINT_STATUSES",
    "ARBITRATION",
    "AWAITING_PERFORMANCE",
    "CONFIRMED",
    "COURT_ENFORCEMENT",
    "DEFAULTED",
    "EXPIRED",
    "FAILED",
    "FAILURE_REASON_CODES",
    "MEDIATING",
    "MEDIATION_DAYS",
    "OPEN",
    "PAYMENT_ORDER_CATEGORIES",
    "PERFORMED",
    "RESPONDENT_REFUSED",
    "REVIEW_APPLICATION_DAYS",
    "REVIEW_DECISIONS",
    "STATUSES",
    "UNDER_REVIEW",
    "WITHDRAWN",
    "Complaint",
    "Mediation",
    "Mediator",
    "NotAllowed",
    "Rejected",
    "certificate_valid_on",
    "day",
    "deadline_from",
    "local_date",
    "moment",
    "start_of_day",
]

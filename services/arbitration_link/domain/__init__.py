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

from .case_file import (
    CaseFile,
    referral_message,
)
from .referral import (
    ANSWERS,
    Recommendation,
    Referral,
    ResendSchedule,
)
from .rules import (
    APPLICATION_FIELDS,
    INCOMPLETE_MEDIATION,
    INTAKE_CASE_EVENTS,
    MEDIATION_CASE_EVENTS,
    MESSAGE_SCHEMA_VERSION,
    REFERRAL,
    REVIEW_REQUEST,
    TRIGGERS,
    ReplyRefused,
    parse_time,
    referral_id_for,
    trigger_for,
)

__all__ = [
    "ANSWERS",
    "APPLICATION_FIELDS",
    "CaseFile",
    "INCOMPLETE_MEDIATION",
    "INTAKE_CASE_EVENTS",
    "MEDIATION_CASE_EVENTS",
    "MESSAGE_SCHEMA_VERSION",
    "REFERRAL",
    "REVIEW_REQUEST",
    "Recommendation",
    "Referral",
    "ReplyRefused",
    "ResendSchedule",
    "TRIGGERS",
    "parse_time",
    "referral_id_for",
    "referral_message",
    "trigger_for",
]

"""What sends a case to arbitration, referral ids, and the refusal of a reply."""

import uuid
from datetime import datetime

from services.events import (
    MEDIATION_NON_CASE_EVENTS,
    PUBLISHED_EVENTS,
    AgreementDefaulted,
    ApplicationReceived,
    ApplicationWithdrawn,
    CaseAccepted,
    CaseNotAccepted,
    MediationExpired,
    MediationFailed,
    ReviewRequested,
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


def trigger_for(event_type, data):
    """What an event of `event_type` with payload `data` sends to arbitration: (type, reason), or None.

    The default of an agreement the institute confirmed (调解书, `confirmed: true`) is
    enforced by a people's court (Art. 51; DOMAIN.md, "After the agreement"): it is never
    referred to arbitration again.
    """
    if event_type == AgreementDefaulted.name and data.get("confirmed"):
        return None
    return TRIGGERS.get(event_type)


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

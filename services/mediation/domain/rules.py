"""The mediation's statuses and refusals."""

from services.common.errors import Rejected, StateConflict

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

REVIEW_APPLICATION_DAYS = 15  # joint application for arbitration review, after signing
REVIEW_DECISIONS = ("confirmed", "refused")


class NotAllowed(StateConflict):
    """The command is not allowed in the aggregate's current state."""


__all__ = ["NotAllowed", "Rejected"]

"""The mediation's statuses and refusals."""

from services.common.errors import Rejected, StateConflict

# The mediation's status, CONTRACTS §2.
MEDIATING = "mediating"
AGREEMENT = "agreement"  # signed, awaiting performance
UNDER_REVIEW = "under_review"
CONFIRMED = "confirmed"  # the arbitration institute confirmed the agreement (调解书), awaiting performance
PERFORMED = "performed"
DEFAULTED = "defaulted"
FAILED = "failed"
EXPIRED = "expired"
WITHDRAWN = "withdrawn"
STATUSES = (MEDIATING, AGREEMENT, UNDER_REVIEW, CONFIRMED, PERFORMED, DEFAULTED, FAILED, EXPIRED, WITHDRAWN)
# An agreement awaiting performance: performance (or a default) can be recorded.
AWAITING_PERFORMANCE = (AGREEMENT, CONFIRMED)

# Why a mediation failed (`reason_code` of a failure, beside the free-text `reason`). Only a
# respondent's refusal to be mediated may be recorded without an assigned mediator.
RESPONDENT_REFUSED = "respondent_refused"
FAILURE_REASON_CODES = (RESPONDENT_REFUSED, "no_agreement", "party_absent", "other")

REVIEW_APPLICATION_DAYS = 15  # joint application for arbitration review, after signing
REVIEW_DECISIONS = ("confirmed", "refused")

# What a party may do after a default (DOMAIN.md, "After the agreement"): an agreement the
# institute confirmed (调解书) is enforced by a people's court (Art. 51) and never referred
# to arbitration; an unconfirmed one is referred (Art. 15).
COURT_ENFORCEMENT = "court_enforcement"
ARBITRATION = "arbitration"
# Art. 16: for an unconfirmed agreement on wages, work-injury medical costs or economic
# compensation, the worker may also ask a people's court for a payment order (支付令).
PAYMENT_ORDER_CATEGORIES = ("wages", "work_injury", "compensation")


class NotAllowed(StateConflict):
    """The command is not allowed in the aggregate's current state."""


__all__ = ["NotAllowed", "Rejected"]

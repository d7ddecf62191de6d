"""Events from other services: intake's acceptances and withdrawals, the link's review decisions.

Each effect runs in the consumer's unit of work with the inbox record (`store.consume`).
"""

import logging

from services.common import privacy

from .cases import save_mediation
from .domain import MEDIATING, Mediation, deadline_from, moment

log = logging.getLogger(__name__)


def open_mediation(uow, event, previous_version):
    """intake's `CaseAccepted`: the case becomes visible to mediation.

    Order-safe: if a later event of the same intake stream (a withdrawal) was already
    consumed, or a withdrawal was recorded for the case before it was opened, nothing opens.
    """
    accepted = event.data
    case_id = accepted.get("case_id") or event.case_id
    if previous_version > event.stream_version or uow.views.withdrawn_early(case_id):
        log.info("acceptance arrived after the withdrawal: no mediation opened", extra={"case_id": case_id})
        return None
    uow.views.lock_mediation(case_id)
    if uow.vault is not None:  # the mediation's free text is sealed with the case's own `text` key
        uow.events.adopt(privacy.bindings(accepted))
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    deadline = deadline_from(accepted.get("mediation_deadline"), accepted.get("received_at"), uow.settings.tz)
    if mediation.open({**accepted, "case_id": case_id}, deadline, uow.clock.now()):
        save_mediation(uow, mediation)
        log.info("mediation opened", extra={"case_id": case_id, "center_id": mediation.center_id})
    return mediation


def withdraw_on_intake(uow, event, previous_version):
    """intake's `ApplicationWithdrawn`: an open mediation is withdrawn; one not yet open never will be.

    One that already ended (an agreement, a failure, an expiry: intake had not heard yet)
    refuses it with `WithdrawalRefused`, which intake consumes to take its withdrawal back:
    both views end with the mediation's outcome (docs/EVENTS.md, "One truth for withdrawal").
    One withdrawn in mediation meanwhile agrees with intake already.
    """
    withdrawal = event.data
    case_id = withdrawal.get("case_id") or event.case_id
    withdrawn_at = moment(withdrawal.get("withdrawn_at")) or event.occurred_at
    uow.views.lock_mediation(case_id)
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    if not mediation.opened:
        uow.views.record_early_withdrawal(case_id, withdrawn_at)
        return mediation
    if mediation.status == MEDIATING and withdrawn_at <= mediation.deadline:
        mediation.withdraw(withdrawal.get("reason") or "withdrawn at intake", withdrawn_at)
    elif not mediation.refuse_withdrawal({**withdrawal, "event_id": event.event_id}, withdrawn_at, uow.clock.now()):
        log.info("withdrawal of a mediation withdrawn already ignored", extra={"case_id": case_id})
        return mediation
    save_mediation(uow, mediation)
    return mediation


def record_review_decision(uow, event, previous_version):
    """arbitration_link's `ReviewDecided`: the agreement awaits performance again, with the review's result."""
    decision = event.data
    case_id = decision.get("case_id") or event.case_id
    uow.views.lock_mediation(case_id)
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    if mediation.opened and mediation.record_review_outcome(
        decision["decision"],
        decision.get("document_no"),
        decision.get("reason"),
        decision["decided_at"],
        uow.clock.now(),
    ):
        save_mediation(uow, mediation)
    else:
        log.info("review decision with no review pending ignored", extra={"case_id": case_id})
    return mediation

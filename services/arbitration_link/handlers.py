"""The link's service layer: what each consumed event, sweep and reply does, in units of work.

Every function works on a unit of work (or a factory of them) with this service's
repositories, `uow.case_files` and `uow.referral_table`, and its settings, `uow.settings`
(services/arbitration_link/bootstrap.py), so the service-layer tests run it on a
`FakeUnitOfWork` and the nameko service only wires entrypoints to it.
"""

import logging
import uuid
from decimal import Decimal

from services.common import privacy
from services.common.commands import decide_again
from services.common.errors import ConcurrencyError, NotFound
from services.common.keystore import opened
from services.common.looks import report_look
from services.common.money import MAX_AMOUNT, within_limit
from services.events import AgreementDefaulted, ReferralViewed

from . import contract
from .domain import (
    Recommendation,
    Referral,
    ReplyRefused,
    referral_id_for,
    referral_message,
    trigger_for,
)

log = logging.getLogger(__name__)

# A reply that cannot apply: the consumer dead-letters it instead of retrying.
REFUSED_REPLIES = (contract.ContractViolation, ReplyRefused)


def save_referral(uow, referral):
    """Appends the referral's events and keeps its row of the referral table in step."""
    appended = uow.save(referral)
    uow.referral_table.save(referral)
    return appended


def follow_case(uow, event):
    """Folds one of intake's or mediation's case events into the case file, then opens the
    referral the event decides (if any) and sends every referral of the case now complete."""
    if event.case_id is None:
        return
    case_file = uow.case_files.lock(event.case_id, event.center_id)
    case_file.apply(event)
    uow.case_files.save(case_file)
    trigger = trigger_for(event.event_type, event.data)
    if trigger is not None:
        open_referral(uow, case_file, event, *trigger)
    elif event.event_type == AgreementDefaulted.name:
        log.info(
            "default of a confirmed agreement: a court's enforcement, not referred", extra={"case_id": event.case_id}
        )
    send_waiting(uow, case_file)


def open_referral(uow, case_file, event, referral_type, reason):
    referral = uow.load(Referral, Referral.stream_for(referral_id_for(event.case_id, referral_type, reason)))
    trigger = {
        "event_type": event.event_type,
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
    }
    center_id = case_file.center_id or event.center_id
    if referral.open(event.case_id, center_id, referral_type, reason, trigger, uow.clock.now()):
        save_referral(uow, referral)


def send_waiting(uow, case_file):
    """Sends the case's referrals that were waiting for their case file to be complete."""
    settings = uow.settings
    now = uow.clock.now()
    for referral_id in uow.referral_table.waiting_for_case(case_file.case_id):
        referral = uow.load(Referral, Referral.stream_for(referral_id))
        grace_over = now >= referral.opened_at + settings.assembly_grace
        if not case_file.can_carry(referral.trigger, grace_over):
            continue
        if case_file.missing_for(referral.trigger):
            log.warning(
                "referral %s sent after %s without every earlier mediation event",
                referral_id,
                settings.assembly_grace,
                extra={"case_id": case_file.case_id},
            )
        message = referral_message(referral, case_file, now)
        problems = contract.errors(referral.type, opened(message))  # as the institute will get it
        if problems:
            # Never send the institute what breaks the contract; the sweep tries again.
            log.error(
                "referral %s not sent, its message breaks the schema: %s",
                referral_id,
                "; ".join(problems),
                extra={"case_id": case_file.case_id},
            )
            continue
        if referral.send(message, now, settings.schedule):
            save_referral(uow, referral)


def sweep(unit_of_work):
    """The periodic sweep: sends referrals past their assembly grace, resends unanswered ones.

    Safe with several instances: a waiting referral is sent under its case file's row
    lock, and a resend is appended at the version it was loaded at, so of two instances
    resending the same referral one wins and the other finds the stream moved on.
    Returns the number of messages sent.
    """
    with unit_of_work() as uow:
        now = uow.clock.now()
        waiting = uow.referral_table.waiting_since(now - uow.settings.assembly_grace)
        due = uow.referral_table.due(now)
    sent = 0
    for _referral_id, case_id, center_id in waiting:
        with unit_of_work() as uow:
            send_waiting(uow, uow.case_files.lock(case_id, center_id))
    for referral_id in due:
        try:
            sent += bool(_on_fresh(unit_of_work, Referral, Referral.stream_for(referral_id), _resend_if_due))
        except ConcurrencyError:
            log.info("referral %s kept being resent or answered by another instance", referral_id)
    return sent


def _resend_if_due(referral, uow):
    return referral.resend_if_due(uow.clock.now(), uow.settings.schedule)


def receive_reply(unit_of_work, kind, body, known_centers):
    """Records one reply of the institute; returns True if it changed anything.

    Raises one of `REFUSED_REPLIES` for a reply that breaks the contract or cannot apply
    (unknown referral, wrong kind, a contradicting answer). A repeated reply is a no-op.
    """
    contract.validate(kind, body)
    if kind == "recommendation.issued":
        if body["center_id"] not in known_centers:
            raise ReplyRefused(f"recommendation for an unknown center {body['center_id']!r}")
        if not within_limit(sum(Decimal(claim["amount"]) for claim in body["claims"])):
            raise ReplyRefused(f"a recommendation whose claims add up to more than {MAX_AMOUNT}")
        stream_id = Recommendation.stream_for(body["recommendation_id"])
        return _on_fresh(unit_of_work, Recommendation, stream_id, lambda letter, uow: letter.receive(body))
    stream_id = Referral.stream_for(body["referral_id"])
    return _on_fresh(unit_of_work, Referral, stream_id, lambda referral, uow: _answer(referral, kind, body, uow))


def _answer(referral, kind, body, uow):
    _seal_with_the_cases_key(uow, referral)
    if kind == "referral.docketed":
        return referral.docket(body["arbitration_case_no"], body["docketed_at"])
    if kind == "referral.declined":
        return referral.decline(body["reason"], body["declined_at"])
    return referral.decide(body["decision"], body["decided_at"], body.get("document_no"), body.get("reason"))


def _seal_with_the_cases_key(uow, referral):
    """The institute's reason (a declined referral's, a review's) is free text about the case:
    sealed with a key derived from the case's own stored key, found in the parties the referral's
    message copies, so erasing the case erases it too. (A message whose parties were not sealed,
    sent before sealing began, leaves the referral a key of its own.)"""
    root = privacy.case_root_in(referral.message)
    bind = getattr(uow.events, "bind", None)  # a unit of work without a vault seals nothing
    if root is not None and bind is not None:
        bind(referral.stream_id, {"text": privacy.derived_key_id(root, "text")})


def _on_fresh(unit_of_work, aggregate_class, stream_id, command):
    """Runs `command(aggregate, uow)` on a freshly loaded aggregate and saves what it changed;
    a lost race is decided again on the new state by the kernel's one policy."""

    def attempt():
        with unit_of_work() as uow:
            aggregate = uow.load(aggregate_class, stream_id)
            changed = command(aggregate, uow)
            if changed:
                if isinstance(aggregate, Referral):
                    save_referral(uow, aggregate)
                else:
                    uow.save(aggregate)
            return changed

    return decide_again(attempt)


# -- the referral status API -------------------------------------------------------------


LIST_ROUTE = "arbitration_link GET /api/v1/referrals"
REFERRAL_ROUTE = "arbitration_link GET /api/v1/referrals/{referral_id}"


def referrals(uow, actor, case_id=None):
    """The referrals of one case (or of the actor's center), newest first."""
    if case_id is not None:
        center_id = uow.case_files.center_of(case_id)
        if center_id is not None:
            actor.require_read(center_id)
    own_center = actor.center_id if actor.role == "center" else None
    return [
        _shown(uow, actor, r, LIST_ROUTE)
        for r in uow.referral_table.find(uow.events, case_id=case_id, center_id=own_center)
    ]


def referral(uow, actor, referral_id):
    found = uow.referral_table.find(uow.events, referral_id=referral_id) if _is_uuid(referral_id) else []
    if not found:
        raise NotFound("no such referral")
    actor.require_read(found[0]["center_id"])
    return _shown(uow, actor, found[0], REFERRAL_ROUTE)


def _shown(uow, actor, found, route):
    """A referral as the API shows it: the institute's reasons in its history opened (`[已删除]`
    once the case is erased), and the read recorded as a look at the case (`ReferralViewed`)
    when it shows one."""
    if not privacy.sealed_key_ids(found["history"]):
        return found
    report_look(uow, ReferralViewed, actor, found["case_id"], found["center_id"], route)
    return {**found, "history": uow.events.opened_copy(found["history"])}


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

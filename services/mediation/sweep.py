"""Deadlines by themselves: the sweep expires mediations, defaults agreements and expires certificates.

Expiries and unreported defaults wait `TIAOJIE_EXPIRY_GRACE_HOURS` (default 24) after their
moment before they are recorded, so staff can key in a step that happened in time (a paper
agreement signed on the last day, entered the next morning); they are dated at the moment
all the same (`expired_at` is the deadline, `defaulted_at` is `defaults_from`).
"""

import logging
from datetime import timedelta

from services.common.commands import decide_again
from services.common.errors import ConcurrencyError

from .cases import save_mediation
from .domain import Mediation, Mediator
from .roster import save_mediator

log = logging.getLogger(__name__)

SWEEP_BATCH = 200


def sweep(start_uow):
    """What the clock decides: expired mediations, defaulted agreements, expired certificates."""
    return {
        "expired": _sweep_each(start_uow, _next_overdue, _expire),
        "defaulted": _sweep_each(start_uow, _next_unperformed, _default),
        "certificates_expired": _sweep_each(start_uow, _next_certificate, _expire_certificate),
    }


def _sweep_each(start_uow, claim_next, decide):
    """Works through the due items one transaction each; `decide` returns True when it recorded an event.

    An item another writer changed in between (`ConcurrencyError`) is decided again on its
    new state, by the kernel's one policy; one that fails otherwise is logged and tried
    again on the next tick, after the others.
    """
    done, seen = 0, []
    for _ in range(SWEEP_BATCH):
        claimed = []

        def attempt(claimed=claimed):
            with start_uow() as uow:
                item = claim_next(uow, seen)
                if item is None:
                    return None
                claimed[:] = [item]
                return bool(decide(uow, item))

        try:
            decided = decide_again(attempt)
            if decided is None:
                return done
            done += decided
        except ConcurrencyError as exc:
            log.info("sweep kept losing the race on %s; it is tried again on the next tick", exc.stream_id)
        except Exception:
            if not claimed:
                raise
            log.exception("sweep failed on %s; it is tried again on the next tick", claimed[0])
        seen.extend(claimed)
    return done


def _next_overdue(uow, seen):
    return uow.views.next_overdue(uow.clock.now() - uow.settings.expiry_grace, seen)


def _expire(uow, case_id):
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    expired = mediation.expire(uow.clock.now(), uow.settings.expiry_grace)
    save_mediation(uow, mediation)  # also repairs a row that said "due" wrongly
    if expired:
        log.info("mediation expired", extra={"case_id": case_id, "center_id": mediation.center_id})
    return expired


def _next_unperformed(uow, seen):
    settings = uow.settings
    past_grace = uow.clock.now() - settings.expiry_grace
    due_before = settings.today(past_grace) - timedelta(days=settings.performance_grace_days)
    return uow.views.next_unperformed(due_before, seen)


def _default(uow, case_id):
    settings = uow.settings
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    defaulted = mediation.default_unreported(
        uow.clock.now(), settings.performance_grace_days, settings.tz, settings.expiry_grace
    )
    save_mediation(uow, mediation)
    if defaulted:
        log.info("agreement defaulted", extra={"case_id": case_id, "center_id": mediation.center_id})
    return defaulted


def _next_certificate(uow, seen):
    return uow.views.next_certificate_to_expire(uow.settings.today(uow.clock.now()), seen)


def _expire_certificate(uow, mediator_id):
    settings = uow.settings
    mediator = uow.load(Mediator, Mediator.stream_for(mediator_id))
    now = uow.clock.now()
    expired = mediator.expire_certificate(settings.today(now), now)
    save_mediator(uow, mediator)
    return expired

"""Staff commands on the mediation of a case: each a handler of (command, uow).

Commands on a case take the case's read-model row lock before reading its stream, so
commands, consumed events and the sweeps on one case queue up instead of colliding.
"""

import functools

from services.common.errors import NotFound
from services.common.steps import step_time

from .domain import RESPONDENT_REFUSED, Mediation, Mediator, Rejected, local_date
from .views import mediation_view


def _mediation_for_write(uow, command):
    uow.views.lock_mediation(command.case_id)
    mediation = uow.load(Mediation, Mediation.stream_for(command.case_id))
    if not mediation.opened:
        raise NotFound("no mediation for this case: it opens when intake accepts the case")
    command.require_write(mediation.center_id)
    return mediation


def save_mediation(uow, mediation):
    # The append goes last: it takes the store's append lock, held until commit.
    uow.views.save_mediation(mediation)
    uow.save(mediation)


def case_command(decide):
    """A staff command on one case: load it for writing, let `decide` change it, save, answer with the view."""

    @functools.wraps(decide)
    def handler(command, uow):
        mediation = _mediation_for_write(uow, command)
        decide(command, uow, mediation, uow.clock.now())
        save_mediation(uow, mediation)
        return mediation_view(mediation, uow.settings)

    return handler


def occurred(command, uow, mediation, now, field="occurred_at"):
    """When the step happened (DOMAIN.md, "Time rules"): the `occurred_at` staff gave, or now.

    Bounded by services.common.steps: never in the future, never before the mediation's
    step before it, at most `TIAOJIE_BACKDATE_DAYS` back (422 naming `field`)."""
    settings = uow.settings
    given = getattr(command, field)
    return step_time(given, now, mediation.last_step_at, settings.backdate_days, field).astimezone(settings.tz)


@case_command
def assign_mediator(command, uow, mediation, now):
    mediator = uow.load(Mediator, Mediator.stream_for(str(command.mediator_id)))
    if not mediator.exists:
        raise Rejected({"mediator_id": ["no mediator with this id is on the roster"]})
    at = occurred(command, uow, mediation, now)
    mediation.assign(mediator, uow.settings.today(at), at)


def _mediator_certified_on(uow, mediation, day):
    """The assigned mediator's certificate (as the roster has it now) must be valid on `day`, the
    district date of the step (its `occurred_at`). Returns that roster entry (None without a mediator)."""
    if mediation.mediator is None:
        return None
    mediator = uow.load(Mediator, Mediator.stream_for(mediation.mediator["mediator_id"]))
    mediation.require_certified_mediator(mediator, day)
    return mediator


@case_command
def hold_session(command, uow, mediation, now):
    # held_at is the session's occurred_at (the schema makes them one); refusals name the field given
    field = "occurred_at" if command.occurred_at is not None else "held_at"
    at = occurred(command, uow, mediation, now, field)
    _mediator_certified_on(uow, mediation, local_date(at, uow.settings.tz))
    mediation.hold_session(at, command.summary)


@case_command
def extend(command, uow, mediation, now):
    mediation.extend(command.days, command.parties_consent, occurred(command, uow, mediation, now))


@case_command
def reach_agreement(command, uow, mediation, now):
    at = occurred(command, uow, mediation, now)
    mediator = _mediator_certified_on(uow, mediation, local_date(at, uow.settings.tz))
    mediation.reach_agreement(
        command.terms,
        command.amount,
        command.performance_due,
        at,
        uow.settings.tz,
        certificate_no=mediator.certificate_no if mediator else None,
    )


@case_command
def fail(command, uow, mediation, now):
    at = occurred(command, uow, mediation, now)
    # A respondent's refusal of mediation is recorded without the mediator acting on it.
    if command.reason_code != RESPONDENT_REFUSED:
        _mediator_certified_on(uow, mediation, local_date(at, uow.settings.tz))
    mediation.fail(command.reason, at, command.reason_code)


@case_command
def withdraw(command, uow, mediation, now):
    mediation.withdraw(command.reason, occurred(command, uow, mediation, now))


@case_command
def request_review(command, uow, mediation, now):
    mediation.request_review(occurred(command, uow, mediation, now), uow.settings.tz)


@case_command
def report_performance(command, uow, mediation, now):
    settings = uow.settings
    at = occurred(command, uow, mediation, now)
    mediation.report_performance(command.performed, at, settings.performance_grace_days, settings.tz)


@case_command
def record_survey(command, uow, mediation, now):
    mediation.record_survey(command.score, command.comment, occurred(command, uow, mediation, now))

"""Staff commands on the mediation of a case: each a handler of (command, uow).

Commands on a case take the case's read-model row lock before reading its stream, so
commands, consumed events and the sweeps on one case queue up instead of colliding.
"""

import functools

from services.common.errors import NotFound

from .domain import Mediation, Mediator, Rejected
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


@case_command
def assign_mediator(command, uow, mediation, now):
    mediator = uow.load(Mediator, Mediator.stream_for(str(command.mediator_id)))
    if not mediator.exists:
        raise Rejected({"mediator_id": ["no mediator with this id is on the roster"]})
    mediation.assign(mediator, uow.settings.today(now), now)


@case_command
def hold_session(command, uow, mediation, now):
    mediation.hold_session(command.held_at, command.summary, now)


@case_command
def extend(command, uow, mediation, now):
    mediation.extend(command.days, command.parties_consent, now)


@case_command
def reach_agreement(command, uow, mediation, now):
    mediation.reach_agreement(command.terms, command.amount, command.performance_due, now, uow.settings.tz)


@case_command
def fail(command, uow, mediation, now):
    mediation.fail(command.reason, now)


@case_command
def withdraw(command, uow, mediation, now):
    mediation.withdraw(command.reason, now)


@case_command
def request_review(command, uow, mediation, now):
    mediation.request_review(now, uow.settings.tz)


@case_command
def report_performance(command, uow, mediation, now):
    mediation.report_performance(command.performed, now)


@case_command
def record_survey(command, uow, mediation, now):
    mediation.record_survey(command.score, command.comment, now)

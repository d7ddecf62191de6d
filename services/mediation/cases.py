"""Staff commands on the mediation of a case, and complaints: each a handler of (command, uow).

Commands on a case take the case's read-model row lock before reading its stream, so
commands, consumed events and the sweeps on one case queue up instead of colliding.
"""

import functools

from services.common.errors import NotFound

from .domain import Complaint, Mediation, Mediator, Rejected
from .views import _at, mediation_view


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


def file_complaint(command, uow):
    """投诉举报: a complaint about a center's service, optionally about one of its cases."""
    command.require_write(command.center_id)
    case_id = str(command.case_id) if command.case_id is not None else None
    if case_id is not None:
        mediation = uow.load(Mediation, Mediation.stream_for(case_id))
        # Another center's case is answered exactly as a case that does not exist, so a
        # complaint cannot tell whether, or where, a case id is in use.
        if not mediation.opened or mediation.center_id != command.center_id:
            raise Rejected({"case_id": ["No case of this center in mediation has this id."]})
    complaint_id = uow.settings.new_id()
    complaint = Complaint(Complaint.stream_for(complaint_id))
    now = uow.clock.now()
    complaint.file(complaint_id, command.center_id, case_id, command.text, now)
    uow.save(complaint)
    return {
        "complaint_id": complaint_id,
        "center_id": command.center_id,
        "case_id": case_id,
        "filed_at": _at(now, uow.settings.tz),
    }

"""The mediation service layer: each use case runs in a unit of work the caller opens.

A use case loads aggregates, lets the domain decide, saves the events and keeps the
read models (`uow.views`) in step, all in that one transaction. Entrypoints (HTTP,
inbox, timer) stay thin and call these; unit tests call them with a `FakeUnitOfWork`
carrying `InMemoryReadModels`.

Commands on a case take the case's read-model row lock before reading its stream, so
commands, consumed events and the sweeps on one case queue up instead of colliding.
"""

import dataclasses
import functools
import logging
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from services.common.eventstore import ConcurrencyError
from services.common.http import Conflict, NotFound, Unprocessable, validate

from . import schemas
from .domain import (
    MEDIATING,
    Complaint,
    Mediation,
    Mediator,
    NotAllowed,
    Rejected,
    certificate_valid_on,
    deadline_from,
    local_date,
    moment,
)
from .readmodels import roster_row

log = logging.getLogger(__name__)

DEFAULT_PERFORMANCE_GRACE_DAYS = 3
SWEEP_BATCH = 200


def new_uuid():
    return str(uuid.uuid4())


@dataclasses.dataclass(frozen=True)
class Settings:
    tz: ZoneInfo
    performance_grace_days: int = DEFAULT_PERFORMANCE_GRACE_DAYS
    new_id: object = new_uuid

    @classmethod
    def from_env(cls, timezone_name, env):
        return cls(
            tz=ZoneInfo(timezone_name),
            performance_grace_days=int(env.get("TIAOJIE_PERFORMANCE_GRACE_DAYS", DEFAULT_PERFORMANCE_GRACE_DAYS)),
        )

    def today(self, now):
        return local_date(now, self.tz)


def refusals_as_http(use_case):
    """The domain's refusals as the HTTP errors of CONTRACTS §2 (409 with the state, 422 with fields)."""

    @functools.wraps(use_case)
    def wrapper(*args, **kwargs):
        try:
            return use_case(*args, **kwargs)
        except NotAllowed as exc:
            raise Conflict(exc.message, status=exc.status) from None
        except Rejected as exc:
            raise Unprocessable(exc.errors) from None

    return wrapper


# --- views --------------------------------------------------------------------------------


def _at(value, tz):
    return value.astimezone(tz).isoformat() if value is not None else None


def _stamped(record, tz, *keys):
    return {k: (_at(v, tz) if k in keys else v) for k, v in record.items()} if record else None


def mediation_view(mediation, settings):
    """The mediation as it stands (GET /api/v1/cases/{case_id})."""
    tz = settings.tz
    agreement = None
    if mediation.agreement:
        agreement = _stamped(mediation.agreement, tz, "signed_at")
        agreement["performance_due"] = mediation.agreement["performance_due"].isoformat()
        agreement["review_window_ends"] = mediation.review_window_ends(tz).isoformat()
        agreement["defaults_from"] = _at(mediation.defaults_from(settings.performance_grace_days, tz), tz)
    return {
        "case_id": mediation.case_id,
        "case_number": mediation.case_number,
        "center_id": mediation.center_id,
        "status": mediation.status,
        "received_at": _at(mediation.received_at, tz),
        "accepted_at": _at(mediation.accepted_at, tz),
        "deadline": _at(mediation.deadline, tz),
        "category": mediation.category,
        "workers_involved": mediation.workers_involved,
        "collective": mediation.collective,
        "claimed_total": mediation.claimed_total,
        "mediator": _stamped(mediation.mediator, tz, "assigned_at"),
        "sessions": [_stamped(s, tz, "held_at") for s in mediation.sessions],
        "extensions": [_stamped(e, tz, "previous_deadline", "deadline", "extended_at") for e in mediation.extensions],
        "agreement": agreement,
        "review": _stamped(mediation.review, tz, "requested_at", "decided_at"),
        "failure": _stamped(mediation.failure, tz, "failed_at"),
        "withdrawal": _stamped(mediation.withdrawal, tz, "withdrawn_at"),
        "expired_at": _at(mediation.expired_at, tz),
        "closed_at": _at(mediation.closed_at, tz),
        "performance": _stamped(mediation.performance, tz, "at"),
        "survey": _stamped(mediation.survey, tz, "recorded_at"),
        "version": mediation.version,
    }


def mediator_view(row, settings, today):
    expires = row["certificate_expires"]
    return {
        "mediator_id": str(row["mediator_id"]),
        "center_id": row["center_id"],
        "name": row["name"],
        "certificate_no": row["certificate_no"],
        "certificate_expires": expires.isoformat() if expires else None,
        "certificate_valid": certificate_valid_on(row["certificate_no"], expires, today),
        "full_time": row["full_time"],
        "registered_at": _at(row["registered_at"], settings.tz),
    }


# --- the roster ---------------------------------------------------------------------------


@refusals_as_http
def register_mediator(uow, principal, body, settings):
    registration = validate(schemas.MediatorRegistration(now=uow.clock.now(), zone=settings.tz), body)
    principal.require_roster(registration["center_id"])
    mediator_id = settings.new_id()
    mediator = Mediator(Mediator.stream_for(mediator_id))
    mediator.register(mediator_id=mediator_id, now=uow.clock.now(), **registration)
    _save_mediator(uow, mediator)
    log.info("mediator registered", extra={"center_id": mediator.center_id})
    return _mediator_answer(uow, mediator, settings)


@refusals_as_http
def renew_certificate(uow, principal, mediator_id, body, settings):
    if _is_uuid(mediator_id):
        uow.views.lock_mediator(mediator_id)
    mediator = _load_mediator(uow, mediator_id)
    principal.require_roster(mediator.center_id)
    renewal = validate(schemas.CertificateRenewal(now=uow.clock.now(), zone=settings.tz), body)
    mediator.renew_certificate(now=uow.clock.now(), **renewal)
    _save_mediator(uow, mediator)
    return _mediator_answer(uow, mediator, settings)


def get_mediator(uow, principal, mediator_id, settings):
    mediator = _load_mediator(uow, mediator_id)
    principal.require_read(mediator.center_id)
    return _mediator_answer(uow, mediator, settings)


def roster(views, principal, args, settings, now):
    """调解员名册: one center's mediators (a center's staff see their own center by default)."""
    query = validate(schemas.RosterQuery(), args)
    center_id = query["center_id"] or (principal.center_id if principal.role == "center" else None)
    if center_id:
        principal.require_read(center_id)
    today = settings.today(now)
    mediators = [mediator_view(row, settings, today) for row in views.roster(center_id)]
    return {
        "center_id": center_id,
        "mediators": mediators,
        "full_time": sum(1 for m in mediators if m["full_time"]),
        "certified": sum(1 for m in mediators if m["certificate_valid"]),
    }


def _mediator_answer(uow, mediator, settings):
    return mediator_view(roster_row(mediator), settings, settings.today(uow.clock.now()))


def _load_mediator(uow, mediator_id):
    mediator = uow.load(Mediator, Mediator.stream_for(mediator_id)) if _is_uuid(mediator_id) else None
    if mediator is None or not mediator.exists:
        raise NotFound("no mediator with this id")
    return mediator


def _save_mediator(uow, mediator):
    # The append goes last: it takes the store's append lock, held until commit.
    uow.views.save_mediator(mediator)
    uow.save(mediator)


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- the mediation: staff commands ----------------------------------------------------------


def _mediation_for_write(uow, principal, case_id):
    uow.views.lock_mediation(case_id)
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    if not mediation.opened:
        raise NotFound("no mediation for this case: it opens when intake accepts the case")
    principal.require_write(mediation.center_id)
    return mediation


def _save_mediation(uow, mediation):
    # The append goes last: it takes the store's append lock, held until commit.
    uow.views.save_mediation(mediation)
    uow.save(mediation)


def case_command(use_case):
    """A staff command on one case: load it for writing, let `use_case` decide, save, answer with the view."""

    @refusals_as_http
    @functools.wraps(use_case)
    def command(uow, principal, case_id, body, settings):
        mediation = _mediation_for_write(uow, principal, case_id)
        use_case(uow, mediation, body, settings, uow.clock.now())
        _save_mediation(uow, mediation)
        return mediation_view(mediation, settings)

    return command


@case_command
def assign_mediator(uow, mediation, body, settings, now):
    mediator_id = str(validate(schemas.Assignment(), body)["mediator_id"])
    mediator = uow.load(Mediator, Mediator.stream_for(mediator_id))
    if not mediator.exists:
        raise Rejected({"mediator_id": ["no mediator with this id is on the roster"]})
    mediation.assign(mediator, settings.today(now), now)


@case_command
def hold_session(uow, mediation, body, settings, now):
    session = validate(schemas.Session(now=now, zone=settings.tz), body)
    mediation.hold_session(session["held_at"], session["summary"], now)


@case_command
def extend(uow, mediation, body, settings, now):
    extension = validate(schemas.Extension(), body)
    mediation.extend(extension["days"], extension["parties_consent"], now)


@case_command
def reach_agreement(uow, mediation, body, settings, now):
    agreement = validate(schemas.Agreement(now=now, zone=settings.tz), body)
    mediation.reach_agreement(agreement["terms"], agreement["amount"], agreement["performance_due"], now, settings.tz)


@case_command
def fail(uow, mediation, body, settings, now):
    mediation.fail(validate(schemas.Failure(), body)["reason"], now)


@case_command
def withdraw(uow, mediation, body, settings, now):
    mediation.withdraw(validate(schemas.Withdrawal(), body)["reason"], now)


@case_command
def request_review(uow, mediation, body, settings, now):
    validate(schemas.ReviewRequest(), body)
    mediation.request_review(now, settings.tz)


@case_command
def report_performance(uow, mediation, body, settings, now):
    mediation.report_performance(validate(schemas.Performance(), body)["performed"], now)


@case_command
def record_survey(uow, mediation, body, settings, now):
    survey = validate(schemas.Survey(), body)
    mediation.record_survey(survey["score"], survey["comment"], now)


def get_mediation(uow, principal, case_id, settings):
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    if not mediation.opened:
        raise NotFound("no mediation for this case")
    principal.require_read(mediation.center_id)
    return mediation_view(mediation, settings)


def mediation_history(uow, principal, case_id):
    """The mediation's events in order, each with its `actor` (GET /api/v1/cases/{case_id}/history)."""
    mediation = uow.load(Mediation, Mediation.stream_for(case_id)) if _is_uuid(case_id) else None
    if mediation is None or not mediation.opened:
        raise NotFound("no mediation for this case")
    principal.require_read(mediation.center_id)
    return {"case_id": case_id, "events": [e.to_envelope() for e in uow.events.load(mediation.stream_id)]}


def list_mediations(views, principal, args, settings):
    query = validate(schemas.CaseListQuery(), args)
    center_id = query["center_id"] or (principal.center_id if principal.role == "center" else None)
    if center_id:
        principal.require_read(center_id)
    rows = views.mediations(center_id, query["status"], query["page"])
    return {
        "page": query["page"],
        "cases": [
            {
                **row,
                "deadline": _at(row["deadline"], settings.tz),
                "performance_due": row["performance_due"].isoformat() if row["performance_due"] else None,
                "mediator_id": str(row["mediator_id"]) if row["mediator_id"] else None,
            }
            for row in rows
        ],
    }


@refusals_as_http
def file_complaint(uow, principal, body, settings):
    """投诉举报: a complaint about a center's service, optionally about one of its cases."""
    filing = validate(schemas.ComplaintFiling(), body)
    principal.require_write(filing["center_id"])
    if filing["case_id"] is not None:
        filing["case_id"] = str(filing["case_id"])
        mediation = uow.load(Mediation, Mediation.stream_for(filing["case_id"]))
        # Another center's case is answered exactly as a case that does not exist, so a
        # complaint cannot tell whether, or where, a case id is in use.
        if not mediation.opened or mediation.center_id != filing["center_id"]:
            raise Rejected({"case_id": ["No case of this center in mediation has this id."]})
    complaint_id = settings.new_id()
    complaint = Complaint(Complaint.stream_for(complaint_id))
    now = uow.clock.now()
    complaint.file(complaint_id, filing["center_id"], filing["case_id"], filing["text"], now)
    uow.save(complaint)
    return {
        "complaint_id": complaint_id,
        "center_id": filing["center_id"],
        "case_id": filing["case_id"],
        "filed_at": _at(now, settings.tz),
    }


# --- the mediation: events from other services --------------------------------------------


def open_mediation(uow, event, previous_version, settings):
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
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    deadline = deadline_from(accepted.get("mediation_deadline"), accepted.get("received_at"), settings.tz)
    if mediation.open({**accepted, "case_id": case_id}, deadline, uow.clock.now()):
        _save_mediation(uow, mediation)
        log.info("mediation opened", extra={"case_id": case_id, "center_id": mediation.center_id})
    return mediation


def withdraw_on_intake(uow, event, previous_version, settings):
    """intake's `ApplicationWithdrawn`: an open mediation is withdrawn; one not yet open never will be."""
    withdrawal = event.data
    case_id = withdrawal.get("case_id") or event.case_id
    withdrawn_at = moment(withdrawal.get("withdrawn_at")) or event.occurred_at
    uow.views.lock_mediation(case_id)
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    if not mediation.opened:
        uow.views.record_early_withdrawal(case_id, withdrawn_at)
        return mediation
    if mediation.status != MEDIATING:
        log.info("withdrawal of a closed mediation ignored", extra={"case_id": case_id})
        return mediation
    mediation.withdraw(withdrawal.get("reason") or "withdrawn at intake", withdrawn_at)
    _save_mediation(uow, mediation)
    return mediation


def record_review_decision(uow, event, previous_version, settings):
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
        _save_mediation(uow, mediation)
    else:
        log.info("review decision with no review pending ignored", extra={"case_id": case_id})
    return mediation


# --- deadlines by themselves ----------------------------------------------------------------


def sweep(start_uow, settings):
    """What the clock decides: expired mediations, defaulted agreements, expired certificates."""
    return {
        "expired": _sweep_each(start_uow, _next_overdue, _expire),
        "defaulted": _sweep_each(
            start_uow, functools.partial(_next_unperformed, settings), functools.partial(_default, settings)
        ),
        "certificates_expired": _sweep_each(
            start_uow, functools.partial(_next_certificate, settings), functools.partial(_expire_certificate, settings)
        ),
    }


def _sweep_each(start_uow, claim_next, decide):
    """Works through the due items one transaction each; `decide` returns True when it recorded an event.

    An item another writer changed in between (`ConcurrencyError`) is left to that writer;
    one that fails otherwise is logged and tried again on the next tick, after the others.
    """
    done, seen = 0, []
    for _ in range(SWEEP_BATCH):
        claimed = []
        try:
            with start_uow() as uow:
                item = claim_next(uow, seen)
                if item is None:
                    return done
                claimed.append(item)
                done += bool(decide(uow, item))
        except ConcurrencyError as exc:
            log.info("sweep lost a race on %s; the other writer wins", exc.stream_id)
        except Exception:
            if not claimed:
                raise
            log.exception("sweep failed on %s; it is tried again on the next tick", claimed[0])
        seen.extend(claimed)
    return done


def _next_overdue(uow, seen):
    return uow.views.next_overdue(uow.clock.now(), seen)


def _expire(uow, case_id):
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    expired = mediation.expire(uow.clock.now())
    _save_mediation(uow, mediation)  # also repairs a row that said "due" wrongly
    if expired:
        log.info("mediation expired", extra={"case_id": case_id, "center_id": mediation.center_id})
    return expired


def _next_unperformed(settings, uow, seen):
    due_before = settings.today(uow.clock.now()) - timedelta(days=settings.performance_grace_days)
    return uow.views.next_unperformed(due_before, seen)


def _default(settings, uow, case_id):
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    defaulted = mediation.default_unreported(uow.clock.now(), settings.performance_grace_days, settings.tz)
    _save_mediation(uow, mediation)
    if defaulted:
        log.info("agreement defaulted", extra={"case_id": case_id, "center_id": mediation.center_id})
    return defaulted


def _next_certificate(settings, uow, seen):
    return uow.views.next_certificate_to_expire(settings.today(uow.clock.now()), seen)


def _expire_certificate(settings, uow, mediator_id):
    mediator = uow.load(Mediator, Mediator.stream_for(mediator_id))
    now = uow.clock.now()
    expired = mediator.expire_certificate(settings.today(now), now)
    _save_mediator(uow, mediator)
    return expired

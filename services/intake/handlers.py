"""The intake service layer: each handler takes a command and the unit of work it runs in.

It loads aggregates, lets the domain decide, saves the events and keeps the case list
(`uow.records`) in step, all in that one transaction; the service's settings are
`uow.settings`. Entrypoints (HTTP, RPC, events) stay thin and call these through the
kernel's pipeline; unit tests call them with a `FakeUnitOfWork` and in-memory records.
"""

import dataclasses
import logging
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.common.calendar import WorkingCalendar, build_calendar
from services.common.centers import centers_by_id
from services.common.envelope import NewEvent
from services.common.errors import Forbidden, NotFound
from services.common.steps import DEFAULT_BACKDATE_DAYS, step_time
from services.events import (
    AgreementReached,
    ConsultationRecorded,
    MediationExpired,
    MediationFailed,
    MediationWithdrawn,
    WithdrawalRefused,
)

from .domain import DEFAULT_MEDIATION_DAYS, Case, Consultation, format_case_number, mediation_deadline

log = logging.getLogger(__name__)


class UnknownCase(NotFound):
    """No case with that id (404)."""

    def __init__(self, case_id=None):
        super().__init__("no such case")
        self.case_id = case_id


def new_uuid():
    return str(uuid.uuid4())


# Personal data is erased this long after a case closed (the district must confirm it).
DEFAULT_RETENTION_YEARS = 10
# An hour: a restart does not postpone a due erasure by a day, and a sweep that finds
# nothing due costs two queries.
DEFAULT_RETENTION_SWEEP_SECONDS = 3600.0


@dataclasses.dataclass(frozen=True)
class IntakeSettings:
    zone: ZoneInfo
    mediation_days: int = DEFAULT_MEDIATION_DAYS
    calendar: WorkingCalendar = None
    backdate_days: int = DEFAULT_BACKDATE_DAYS
    centers: dict = dataclasses.field(default_factory=centers_by_id)
    new_id: object = new_uuid
    # The retention sweep (retention.py): years after closure, how often it runs, and the
    # event stores it reads closures from ({service: database url}).
    retention_years: int = DEFAULT_RETENTION_YEARS
    retention_sweep_seconds: float = DEFAULT_RETENTION_SWEEP_SECONDS
    closure_databases: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.calendar is None:
            object.__setattr__(self, "calendar", build_calendar(self.zone))

    def now(self, clock):
        return clock.now().astimezone(self.zone)


def record_consultation(command, uow):
    command.require_write(command.center_id)
    settings = uow.settings
    consultation = Consultation(
        consultation_id=settings.new_id(),
        center_id=command.center_id,
        channel=command.channel,
        topic=command.topic,
        recorded_at=settings.now(uow.clock),
    )
    center_id = command.center_id
    data = consultation.recorded_event()
    uow.events.append(
        Consultation.stream_for(consultation.consultation_id),
        0,
        [NewEvent(ConsultationRecorded.name, data, center_id=center_id, occurred_at=consultation.recorded_at)],
        correlation_id=uow.correlation_id,
        causation_id=uow.causation_id,
        actor=uow.actor,
    )
    log.info("consultation recorded", extra={"center_id": center_id})
    return data


def register_application(command, uow):
    """Registers an application (受理登记 begins here): draws the case number, records the receipt."""
    command.require_write(command.application.center_id)
    # finding 2: a receipt backdated without limit drew last year's case number and
    # changed figures already reported
    settings = uow.settings
    step_time(command.application.received_at, settings.now(uow.clock), None, settings.backdate_days, "received_at")
    return _register(uow, command.application)


def _register(uow, application):
    settings, records = uow.settings, uow.records
    center = settings.centers[application.center_id]
    year = application.received_at.astimezone(settings.zone).year
    case_number = format_case_number(center.code, year, records.next_case_number(center.center_id, year))
    deadline = mediation_deadline(application.received_at, settings.calendar, settings.mediation_days)
    case = Case.receive(settings.new_id(), case_number, application, deadline, settings.calendar.ends_at(deadline))
    uow.save(case)
    records.save(case)
    log.info("application received", extra={"case_id": case.case_id, "center_id": case.center_id})
    return {
        "case_id": case.case_id,
        "case_number": case.case_number,
        "center_id": case.center_id,
        "status": case.status,
        "received_at": case.received["received_at"],
        "mediation_deadline": case.received["mediation_deadline"],
        "mediation_deadline_ends_at": case.received["mediation_deadline_ends_at"],
    }


def open_recommended_case(command, uow):
    """Opens a case for a recommendation letter, once per letter however often it is reported."""
    existing = uow.records.case_for_recommendation(command.application.recommendation_id)
    if existing is not None:
        log.info("recommendation already has a case", extra={"case_id": existing})
        return None
    return _register(uow, command.application)


def decide_acceptance(command, uow):
    case = _load_for_write(uow, command.actor, command.case_id)
    at = _step_time(uow, case, command.occurred_at)
    if command.decision == "accept":
        case.accept(at)
    else:
        case.reject(command.reason, at)
    return _save(uow, case, "acceptance decided")


def withdraw_application(command, uow):
    case = _load_for_write(uow, command.actor, command.case_id)
    case.withdraw(command.reason, _step_time(uow, case, command.occurred_at))
    return _save(uow, case, "application withdrawn")


# Mediation's events that end a mediation: the outcome and the field that says when.
MEDIATION_ENDS = {
    AgreementReached: ("agreement", "signed_at"),
    MediationFailed: ("failed", "failed_at"),
    MediationExpired: ("expired", "expired_at"),
    MediationWithdrawn: ("withdrawn", "withdrawn_at"),
}
_ENDS_BY_NAME = {event_type.name: end for event_type, end in MEDIATION_ENDS.items()}
# What intake consumes of mediation's: its endings and its refusals of a withdrawal.
MEDIATION_OUTCOME_TYPES = frozenset(_ENDS_BY_NAME) | {WithdrawalRefused.name}
# One inbox consumer for all of them (the service's and `tiaojie intake catch-up`), so an
# event either applies is applied once, and `previous_version` spans them.
MEDIATION_OUTCOMES = "mediation_outcomes"


def record_mediation_end(uow, event):
    """Effect of mediation's events that end a mediation, and of its `WithdrawalRefused`:
    intake's case notes how its mediation ended (see `Case.note_mediation_end`). Idempotent
    and order-tolerant: a mediation ends once, and the first of these events to arrive tells it."""
    data = event.data
    if event.event_type == WithdrawalRefused.name:
        outcome, ended_at = data["ended_with"], data["ended_at"]
    else:
        outcome, field = _ENDS_BY_NAME[event.event_type]
        ended_at = data.get(field) or event.occurred_at
    try:
        case = _load(uow, data.get("case_id") or event.case_id)
    except UnknownCase:
        log.warning("a mediation of a case intake does not know ended", extra={"case_id": event.case_id})
        return None
    settings = uow.settings
    ended_at = (datetime.fromisoformat(ended_at) if isinstance(ended_at, str) else ended_at).astimezone(settings.zone)
    refused = event.event_type == WithdrawalRefused.name
    reason = None if refused else data.get("reason")
    if case.note_mediation_end(outcome, ended_at, reason, settings.now(uow.clock), refused=refused):
        _save(uow, case, "mediation outcome noted")
    return case


def _step_time(uow, case, occurred_at):
    """When the step happened: as staff give it (bounded), or now; never before the case's last step."""
    settings = uow.settings
    at = step_time(occurred_at, settings.now(uow.clock), case.last_step_at, settings.backdate_days)
    return at.astimezone(settings.zone)


def erase_personal_data(uow, case_id, reason):
    """`tiaojie privacy erase`, and the retention timer: destroys the case's keys (every sealed
    copy anywhere becomes unreadable), records the erasure and purges the case list's names
    and search tokens. Safe to repeat."""
    case = _load(uow, case_id)
    at = uow.settings.now(uow.clock)
    destroyed = uow.vault.erase(uow.events.key_ids(case.stream_id), reason, at)
    uow.events.forget_keys()
    case = _load(uow, case_id)  # opened again: its personal fields now read [已删除]
    case.erase_personal_data(reason, at)
    uow.save(case)
    uow.records.save(case)
    log.info("personal data erased", extra={"case_id": case.case_id, "center_id": case.center_id})
    return {"case_id": case.case_id, "case_number": case.case_number, "keys_destroyed": destroyed}


def looker(principal):
    """Who looks, as a look records it: the person behind the credential, else the machine token."""
    actor = getattr(principal, "actor", None)
    if isinstance(actor, dict):
        return actor
    return {"token": f"{principal.role}:{principal.center_id}" if principal.center_id else principal.role}


def record_looks(uow, who, case_ids, route):
    """A response showed these cases' personal data to `who` (a principal or an actor dict);
    a trusted internal caller (`who` None) is not a look."""
    if who is None or not case_ids:
        return
    actor = who if isinstance(who, dict) else looker(who)
    uow.records.record_looks(list(case_ids), actor, route, uow.settings.now(uow.clock))


def can_see_looks(principal, center_id):
    """The district, or the center's head (a person whose role is head, or the center's machine token)."""
    person = getattr(principal, "person", None)
    if principal.role in ("district", "admin"):
        return person is None or person.get("role") in ("district", "admin")
    return (
        principal.role == "center"
        and principal.center_id == center_id
        and (person is None or person.get("role") == "head")
    )


def case_looks(uow, principal, case_id):
    """`GET /api/v1/cases/{case_id}/looks`: who looked at the case's personal data."""
    case = _load(uow, case_id)
    if not can_see_looks(principal, case.center_id):
        raise Forbidden("only the district and the center's head see who looked at a case")
    return {"case_id": case.case_id, "case_number": case.case_number, "looks": uow.records.looks(case.case_id)}


def account_looks(uow, principal, account, limit=500):
    """`GET /api/v1/looks?account=`: the looks one person (a console login) took, newest first:
    every case for the district, the cases of their own center for a center's head."""
    if can_see_looks(principal, None):
        center_id = None
    elif can_see_looks(principal, principal.center_id):
        center_id = principal.center_id
    else:
        raise Forbidden("only the district and the center's head see who looked at what")
    return {"account": account, "looks": uow.records.looks_by(account, center_id, limit)}


def case_view(uow, principal, case_id, route="GET /api/v1/cases/{case_id}"):
    case = _load(uow, case_id)
    if principal is not None:
        principal.require_read(case.center_id)
    record_looks(uow, principal, [case.case_id], route)
    return case.view()


def case_history(uow, principal, case_id, route="GET /api/v1/cases/{case_id}/history"):
    """The case's events in order, with the documents issued for it (the documents service's
    DocumentIssued) placed where they happened."""
    case = _load(uow, case_id)
    if principal is not None:
        principal.require_read(case.center_id)
    record_looks(uow, principal, [case.case_id], route)
    events = [e.to_envelope() for e in uow.events.load(case.stream_id)]
    documents = uow.records.documents_issued(case.case_id)
    return {"case_id": case.case_id, "case_number": case.case_number, "events": _merged_by_time(events, documents)}


def _merged_by_time(events, others):
    """`others` (in time order) placed among `events` (kept in stream order) by `occurred_at`."""
    merged, pending = [], list(others)
    for event in events:
        at = datetime.fromisoformat(event["occurred_at"])
        while pending and datetime.fromisoformat(pending[0]["occurred_at"]) < at:
            merged.append(pending.pop(0))
        merged.append(event)
    return merged + pending


def issued_documents(records, case_id):
    """The documents issued for the case, as the documents service reported them (DocumentIssued):
    what an export lists (PIPL Art. 45); the sha256 is the issued PDF's."""
    return [
        {
            "document_id": envelope["data"]["document_id"],
            "kind": envelope["data"]["kind"],
            "number": envelope["data"]["number"],
            "issued_at": envelope["data"]["issued_at"],
            "sha256": envelope["data"].get("pdf_sha256"),
        }
        for envelope in records.documents_issued(case_id)
    ]


def record_reported_look(records, event):
    """Effect of a look another service reports (`services.events.LOOK_EVENTS`: a document
    downloaded, a mediation read): a look at the case, by whoever looked, when, through the
    route (the inbox keeps it to one look per event)."""
    if event.case_id and event.actor:
        records.record_looks([event.case_id], event.actor, event.data["route"], event.occurred_at)


def record_document_issued(records, envelope):
    """Effect of the documents service's DocumentIssued: the case's history shows it."""
    if envelope.get("case_id"):
        records.add_document_issued(envelope)


def list_cases(
    records,
    principal,
    center_id=None,
    status=None,
    page=1,
    page_size=50,
    q=None,
    received_from=None,
    received_to=None,
    zone=None,
):
    """A page of the case list; the search of CONTRACTS §7. The dates are whole days of the district's zone."""
    if principal is not None:
        if center_id is not None:
            principal.require_read(center_id)
        elif principal.role == "center":
            center_id = principal.center_id
    zone = zone or ZoneInfo("Asia/Shanghai")
    cases, total = records.page(
        center_id=center_id,
        status=status,
        page=page,
        page_size=page_size,
        q=q,
        received_from=_start_of(received_from, zone),
        received_to=_start_of(received_to + timedelta(days=1), zone) if received_to else None,
    )
    return {"cases": cases, "page": page, "page_size": page_size, "total": total}


def _start_of(day, zone):
    return datetime.combine(day, time.min, tzinfo=zone) if day else None


def load_case(uow, case_id):
    """The case (its personal fields opened), or `UnknownCase`."""
    return _load(uow, case_id)


def _load(uow, case_id):
    try:
        case_id = str(uuid.UUID(case_id))
    except (TypeError, ValueError):
        raise UnknownCase(case_id) from None
    case = uow.load(Case, Case.stream_for(case_id))
    if not case.exists:
        raise UnknownCase(case_id)
    return case


def _load_for_write(uow, principal, case_id):
    case = _load(uow, case_id)
    if principal is not None:
        principal.require_write(case.center_id)
    return case


def _save(uow, case, what):
    uow.save(case)
    uow.records.save(case)
    log.info(what, extra={"case_id": case.case_id, "center_id": case.center_id})
    return {
        "case_id": case.case_id,
        "case_number": case.case_number,
        "status": case.status,
        "decision": case.decision,
        "withdrawal": case.withdrawal,
    }

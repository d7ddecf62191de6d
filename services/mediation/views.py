"""Mediation's views: the mediation, a mediator and the lists as the API answers them, and the reads."""

import uuid

from services.common.errors import NotFound
from services.common.looks import report_look
from services.events import MediationViewed

from .domain import Mediation, certificate_valid_on


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
        "withdrawal_refused": _stamped(mediation.refused_withdrawal, tz, "withdrawn_at", "refused_at"),
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


# The routes of mediation's reads that show a case's free text, as its looks record them.
CASE_ROUTE = "mediation GET /api/v1/cases/{case_id}"
HISTORY_ROUTE = "mediation GET /api/v1/cases/{case_id}/history"


def get_mediation(uow, principal, case_id):
    """The mediation (GET /api/v1/cases/{case_id}); the read is a look at the case (MediationViewed)."""
    mediation = uow.load(Mediation, Mediation.stream_for(case_id))
    if not mediation.opened:
        raise NotFound("no mediation for this case")
    principal.require_read(mediation.center_id)
    report_look(uow, MediationViewed, principal, mediation.case_id, mediation.center_id, CASE_ROUTE)
    return mediation_view(mediation, uow.settings)


def mediation_history(uow, principal, case_id):
    """The mediation's events in order, each with its `actor` (GET /api/v1/cases/{case_id}/history);
    the read is a look at the case (MediationViewed)."""
    mediation = uow.load(Mediation, Mediation.stream_for(case_id)) if is_uuid(case_id) else None
    if mediation is None or not mediation.opened:
        raise NotFound("no mediation for this case")
    principal.require_read(mediation.center_id)
    report_look(uow, MediationViewed, principal, mediation.case_id, mediation.center_id, HISTORY_ROUTE)
    return {"case_id": case_id, "events": [e.to_envelope() for e in uow.events.load(mediation.stream_id)]}


def list_mediations(uow, principal, query):
    """A page of mediations; `query` is the list query's loaded value (center_id, status, page)."""
    settings = uow.settings
    center_id = query["center_id"] or (principal.center_id if principal.role == "center" else None)
    if center_id:
        principal.require_read(center_id)
    rows = uow.views.mediations(center_id, query["status"], query["page"])
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


def is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True

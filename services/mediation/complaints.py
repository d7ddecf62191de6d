"""Complaints (投诉举报): a center files them; its head or the district reads and answers them, once.

Who may do what (CONTRACTS §7): a center's staff (and its machine token) file complaints
about their own center; the center's head reads and answers its center's; a district
person reads and answers every center's; the district's machine token reads them all
(read only); a center's staff do not read them (a complaint may be about them).
"""

from services.common.errors import NotFound
from services.common.looks import report_look
from services.events import MediationViewed

from .domain import Complaint, Mediation, Rejected
from .views import _at, is_uuid


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
    _save(uow, complaint)
    return {
        "complaint_id": complaint_id,
        "center_id": command.center_id,
        "case_id": case_id,
        "status": complaint.status,
        "filed_at": _at(now, uow.settings.tz),
    }


def answer_complaint(command, uow):
    """答复: the center's head or the district answers a complaint, once (a second answer is 409)."""
    if is_uuid(command.complaint_id):
        uow.views.lock_complaint(command.complaint_id)
    complaint = _load(uow, command.complaint_id)
    command.require_complaint_answer(complaint.center_id)
    complaint.answer_with(command.answer, uow.clock.now())
    _save(uow, complaint, answered_by=uow.actor)
    return complaint_view(uow.views.complaint(complaint.complaint_id), complaint, uow.settings.tz)


# The routes of the reads that show a complaint's text, as a look at its case records them.
COMPLAINT_ROUTE = "mediation GET /api/v1/complaints/{complaint_id}"
COMPLAINTS_ROUTE = "mediation GET /api/v1/complaints"


def get_complaint(uow, principal, complaint_id):
    complaint = _load(uow, complaint_id)
    principal.require_complaint_read(complaint.center_id)
    _looked_at(uow, principal, complaint, COMPLAINT_ROUTE)
    return complaint_view(uow.views.complaint(complaint.complaint_id), complaint, uow.settings.tz)


def _looked_at(uow, principal, complaint, route):
    """A complaint's text may name the parties: reading one about a case is a look at the case."""
    if complaint.case_id:
        report_look(uow, MediationViewed, principal, complaint.case_id, complaint.center_id, route)


def list_complaints(uow, principal, query):
    """A page of complaints (open first); a center's head sees its own center's by default."""
    center_id = query["center_id"] or (principal.center_id if principal.role == "center" else None)
    principal.require_complaint_read(center_id)  # None: every center's, for the district only
    tz = uow.settings.tz
    case_id = str(query["case_id"]) if query.get("case_id") else None
    rows = uow.views.complaints(center_id, query["status"], query["page"], case_id=case_id)
    return {
        "center_id": center_id,
        "case_id": case_id,
        "status": query["status"],
        "page": query["page"],
        "counts": uow.views.complaint_counts(center_id),
        "complaints": [_listed(uow, principal, row, tz) for row in rows],
    }


def _listed(uow, principal, row, tz):
    complaint = _load(uow, row["complaint_id"])
    _looked_at(uow, principal, complaint, COMPLAINTS_ROUTE)
    return complaint_view(row, complaint, tz)


def complaint_view(row, complaint, tz):
    """A complaint as the API answers it: its state and times from the read model, its text
    and answer from its stream."""
    return {
        "complaint_id": str(row["complaint_id"]),
        "center_id": row["center_id"],
        "case_id": row["case_id"],
        "case_number": row.get("case_number"),
        "status": row["status"],
        "text": complaint.text,
        "filed_at": _at(row["filed_at"], tz),
        "answer": complaint.answer,
        "answered_at": _at(row["answered_at"], tz),
        "answered_by": row["answered_by"],
    }


def _load(uow, complaint_id):
    complaint = uow.load(Complaint, Complaint.stream_for(complaint_id)) if is_uuid(complaint_id) else None
    if complaint is None or not complaint.exists:
        raise NotFound("no complaint with this id")
    return complaint


def _save(uow, complaint, answered_by=None):
    # The append goes last: it takes the store's append lock, held until commit.
    uow.views.save_complaint(complaint, answered_by)
    uow.save(complaint)

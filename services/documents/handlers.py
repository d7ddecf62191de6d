"""The documents service layer: keep the case files, issue documents, hand them out.

Handlers take a command (or plain values) and a unit of work with the service's settings
and its repository (`uow.settings`, `uow.documents`, from the bootstrap); they raise the
kernel's refusals, which the HTTP layer maps in one place.
"""

import dataclasses
import hashlib
import logging
import uuid
from zoneinfo import ZoneInfo

from services.common.envelope import NewEvent
from services.common.errors import NotFound
from services.common.keystore import opened
from services.common.looks import report_look
from services.events import DocumentDownloaded

from .compose import Issue, compose
from .domain import KINDS, CaseFile, KindNotAllowed, UnknownCase, document_number, issuer_name
from .render import render_pdf

log = logging.getLogger(__name__)

DEFAULT_COMMISSION = "乌鲁木齐市水磨沟区劳动人事争议仲裁委员会"


@dataclasses.dataclass(frozen=True)
class DocumentsSettings:
    zone: ZoneInfo
    centers: dict  # center_id → Center
    commission: str = DEFAULT_COMMISSION  # the arbitration commission the notices point to
    new_id: object = dataclasses.field(default=lambda: str(uuid.uuid4()))


class UnknownDocument(NotFound):
    """No document with this id."""

    def __init__(self, document_id):
        super().__init__("no such document")
        self.document_id = document_id


def record_fact(uow, source, event):
    """The effect of a consumed event: the case file keeps it (events without a case are ignored)."""
    if event.case_id and event.center_id:
        uow.documents.add_fact(source, event)


def load_case_file(uow, case_id):
    try:
        case_id = str(uuid.UUID(str(case_id)))
    except ValueError:
        raise UnknownCase(case_id) from None
    center_id, facts = uow.documents.facts(case_id)
    case_file = CaseFile.fold(case_id, center_id, facts)
    if not case_file.exists:
        raise UnknownCase(case_id)
    return case_file


def issue_document(command, uow):
    """Issues a document of `command.kind` for the case: a number, its content, its PDF's hash, an event."""
    settings, kind = uow.settings, command.kind
    case_file = load_case_file(uow, command.case_id)
    command.require_write(case_file.center_id)
    case_file.check_allows(kind)
    served = _served_document(uow, case_file, command.document_id) if kind == "service_receipt" else None
    center = settings.centers[case_file.center_id]
    now = uow.clock.now()
    issued_on = now.astimezone(settings.zone).date()
    number = document_number(
        center.name, kind, issued_on.year, uow.documents.next_number(center.center_id, issued_on.year, kind)
    )
    issue = Issue(issuer_name(center.name), number, issued_on, settings.commission, settings.zone, served)
    content = compose(kind, case_file, issue)
    # Stored as composed: its personal fields stay sealed, opened for each render.
    sha256 = hashlib.sha256(render_pdf(opened(content))).hexdigest()
    new_id = settings.new_id()
    actor = actor_of(command.actor)
    document = {
        "document_id": new_id,
        "case_id": case_file.case_id,
        "center_id": case_file.center_id,
        "kind": kind,
        "number": number,
        "issued_at": now,
        "actor": actor,
        "pdf_sha256": sha256,
        "content": content,
    }
    uow.documents.add_issued(document)
    uow.events.append(
        f"document-{new_id}",
        0,
        [
            NewEvent(
                "DocumentIssued",
                {
                    "document_id": new_id,
                    "case_id": case_file.case_id,
                    "case_number": case_file.case_number,
                    "center_id": case_file.center_id,
                    "kind": kind,
                    "number": number,
                    "issued_at": now.isoformat(),
                    "actor": actor,
                    "pdf_sha256": sha256,
                    **({"served_document_id": served["document_id"]} if served else {}),
                },
                case_id=case_file.case_id,
                center_id=case_file.center_id,
                occurred_at=now,
            )
        ],
        correlation_id=uow.correlation_id,
        causation_id=uow.causation_id,
        actor=uow.actor,
    )
    log.info("document issued", extra={"case_id": case_file.case_id, "kind": kind})
    return {"document_id": new_id, "kind": kind, "number": number, "issued_at": now}


def _served_document(uow, case_file, document_id):
    issued = [d for d in uow.documents.issued(case_file.case_id) if d["kind"] != "service_receipt"]
    if document_id is not None:
        issued = [d for d in issued if d["document_id"] == str(document_id)]
    if not issued:
        raise KindNotAllowed(
            "service_receipt",
            case_file.status,
            "送达回证 cannot be issued: no document of this case to serve"
            + (" with that document_id" if document_id else ""),
        )
    served = issued[-1]
    return {"document_id": served["document_id"], "kind": served["kind"], "number": served["number"]}


def actor_of(principal):
    """Who issued: the person behind the credential when there is one, else the machine token's role."""
    if principal is None:
        return {"token": "trusted"}
    actor = getattr(principal, "actor", None)
    if callable(actor):
        actor = actor()
    if isinstance(actor, dict):
        return actor
    return {"token": f"{principal.role}:{principal.center_id or principal.role}"}


def list_documents(uow, principal, case_id):
    case_file = load_case_file(uow, case_id)
    principal.require_read(case_file.center_id)
    return {
        "case_id": case_file.case_id,
        "case_number": case_file.case_number,
        "status": case_file.status,
        "kinds_allowed": _kinds_allowed(uow, case_file),
        "documents": [_listed(d) for d in uow.documents.issued(case_file.case_id)],
    }


def _kinds_allowed(uow, case_file):
    allowed = []
    for kind in KINDS:
        try:
            case_file.check_allows(kind)
            if kind == "service_receipt":
                _served_document(uow, case_file, None)
        except KindNotAllowed:
            continue
        allowed.append(kind)
    return allowed


def _listed(document):
    return {
        "document_id": document["document_id"],
        "kind": document["kind"],
        "title": KINDS[document["kind"]][0],
        "number": document["number"],
        "issued_at": document["issued_at"],
        "actor": document["actor"],
        "pdf_sha256": document["pdf_sha256"],
        "pdf": f"/api/v1/documents/{document['document_id']}.pdf",
        "docx": f"/api/v1/documents/{document['document_id']}.docx",
    }


def get_document(uow, principal, document_id):
    """The stored content of a document the principal may read."""
    try:
        document_id = str(uuid.UUID(str(document_id)))
    except ValueError:
        raise UnknownDocument(document_id) from None
    document = uow.documents.document(document_id)
    if document is None:
        raise UnknownDocument(document_id)
    principal.require_read(document["center_id"])
    return document


def download_route(extension):
    """The route of a download, as a look records it (CONTRACTS §9)."""
    return f"GET /api/v1/documents/{{document_id}}.{extension}"


def download_document(uow, principal, document_id, extension):
    """The document a principal downloads as PDF or Word, and the look it is: `DocumentDownloaded`
    (who, when, which case and document, through which route), which intake keeps in the
    case's looks. Recorded before the file is rendered: a look that failed to show is noted
    rather than a look shown and not noted."""
    document = get_document(uow, principal, document_id)
    report_look(
        uow,
        DocumentDownloaded,
        principal,
        document["case_id"],
        document["center_id"],
        download_route(extension),
        document_id=document["document_id"],
        kind=document["kind"],
        number=document["number"],
        format=extension,
    )
    return document

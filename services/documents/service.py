"""The documents service (文书, port 8006): the case files and the documents issued from them.

Entrypoints only route: the staff API of CONTRACTS §8, and one inbox handler per consumed
event type of intake, mediation and arbitration_link (each keeps the event in the case file
in the same transaction as its inbox record, so a redelivery changes nothing).
"""

import contextlib
import hashlib
import logging
import os
from urllib.parse import quote
from zoneinfo import ZoneInfo

from eventlet import tpool
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.common.centers import centers_by_id
from services.common.eventstore import ConcurrencyError
from services.common.http import Conflict, NotFound, api, json_response, parse_json, validate
from services.common.messaging import add_inbox_handlers
from services.common.service import BaseService, EventRelay

from . import handlers
from .domain import CONSUMED_EVENTS, KindNotAllowed, UnknownCase
from .render import render_docx, render_pdf
from .repository import PostgresDocuments
from .schemas import IssueSchema

log = logging.getLogger(__name__)

CASE_FILE = "case_file"  # one inbox consumer for every source, so `previous_version` spans a stream
COMMAND_ATTEMPTS = 3


class Settings(DependencyProvider):
    """The district's time zone, its centers and its arbitration commission, read once."""

    def setup(self):
        self.settings = handlers.DocumentsSettings(
            zone=ZoneInfo(self.container.config["TIMEZONE"]),
            centers=centers_by_id(),
            commission=os.environ.get("TIAOJIE_ARBITRATION_COMMISSION") or handlers.DEFAULT_COMMISSION,
        )

    def get_dependency(self, worker_ctx):
        return self.settings


@contextlib.contextmanager
def api_errors():
    """The one place the documents' refusals become HTTP errors."""
    try:
        yield
    except (UnknownCase, handlers.UnknownDocument):
        raise NotFound("no such case or document") from None
    except KindNotAllowed as exc:
        raise Conflict(str(exc), status=exc.state, kind=exc.kind) from None


class DocumentsService(BaseService):
    name = "documents"
    relay = EventRelay()
    settings = Settings()

    @api("POST", "/api/v1/cases/<string:case_id>/documents")
    def issue_document(self, request, case_id):
        principal = self.store.authenticate(request)
        command = validate(IssueSchema(), parse_json(request))

        def decide(uow):
            return handlers.issue_document(
                _with_documents(uow), self.settings, principal, case_id, command["kind"], command["document_id"]
            )

        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                with api_errors():
                    return self.store.command(request, principal, decide, status=201)
            except ConcurrencyError:
                if attempt == COMMAND_ATTEMPTS:
                    raise Conflict("the case keeps changing; try again", status=None) from None

    @api("GET", "/api/v1/cases/<string:case_id>/documents")
    def list_documents(self, request, case_id):
        principal = self.store.authenticate(request)
        with api_errors(), self.store.unit_of_work() as uow:
            return json_response(200, handlers.list_documents(_with_documents(uow), principal, case_id))

    @api("GET", "/api/v1/documents/<string:document_id>.pdf")
    def document_pdf(self, request, document_id):
        document = self._document(request, document_id)
        pdf = _rendered_pdf(document["document_id"], document["content"])
        if hashlib.sha256(pdf).hexdigest() != document["pdf_sha256"]:
            # The fonts or the renderer changed since the document was issued.
            log.warning(
                "document renders differently from when it was issued", extra={"document_id": document["document_id"]}
            )
        return _file(pdf, "application/pdf", document, "pdf", inline=True)

    @api("GET", "/api/v1/documents/<string:document_id>.docx")
    def document_docx(self, request, document_id):
        document = self._document(request, document_id)
        docx = tpool.execute(render_docx, document["content"])
        mimetype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return _file(docx, mimetype, document, "docx", inline=False)

    def _document(self, request, document_id):
        principal = self.store.authenticate(request)
        with api_errors(), self.store.unit_of_work() as uow:
            return handlers.get_document(_with_documents(uow), principal, document_id)

    def consume(self, source, envelope):
        self.store.consume(
            CASE_FILE,
            envelope,
            lambda uow, event, previous: handlers.record_fact(_with_documents(uow), source, event, previous),
        )


_PDF_CACHE = {}
_PDF_CACHE_SIZE = 32


def _rendered_pdf(document_id, content):
    """A document's PDF, rendered in a native thread (it takes a CPU-second) and kept for a while."""
    pdf = _PDF_CACHE.get(document_id)
    if pdf is None:
        pdf = tpool.execute(render_pdf, content)
        if len(_PDF_CACHE) >= _PDF_CACHE_SIZE:
            _PDF_CACHE.pop(next(iter(_PDF_CACHE)))
        _PDF_CACHE[document_id] = pdf
    return pdf


def _file(body, mimetype, document, extension, inline):
    name = f"{document['content']['title']}-{document['number']}.{extension}"
    disposition = "inline" if inline else "attachment"
    return Response(
        body,
        status=200,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'{disposition}; filename="document-{document["document_id"]}.{extension}";'
            f" filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, max-age=0",
        },
    )


def _with_documents(uow):
    uow.documents = PostgresDocuments(uow.cursor)
    return uow


add_inbox_handlers(DocumentsService, CONSUMED_EVENTS, DocumentsService.consume)

"""The documents service (文书, port 8006): the case files and the documents issued from them.

Entrypoints only route: the staff API of CONTRACTS §8, and one inbox handler per consumed
event type of intake, mediation and arbitration_link (each keeps the event in the case file
in the same transaction as its inbox record, so a redelivery changes nothing).
"""

import hashlib
import json
import logging
from urllib.parse import quote

from eventlet import tpool
from werkzeug.wrappers import Response

from services.common.http import api
from services.common.keystore import opened
from services.common.messaging import add_inbox_handlers
from services.common.service import BaseService, EventRelay, ServiceStore

from . import handlers
from .bootstrap import bootstrap
from .commands import IssueDocument
from .domain import CONSUMED_EVENTS
from .render import font_problem, render_docx, render_pdf
from .schemas import IssueSchema

log = logging.getLogger(__name__)

CASE_FILE = "case_file"  # one inbox consumer for every source, so `previous_version` spans a stream


class DocumentsService(BaseService):
    name = "documents"
    store = ServiceStore(bootstrap)
    relay = EventRelay()

    @api("POST", "/api/v1/cases/<string:case_id>/documents")
    def issue_document(self, request, case_id):
        return self.store.commands.run(
            request, handlers.issue_document, IssueDocument, IssueSchema(), 201, case_id=case_id
        )

    @api("GET", "/api/v1/cases/<string:case_id>/documents")
    def list_documents(self, request, case_id):
        return self.store.commands.read(request, lambda actor, uow: handlers.list_documents(uow, actor, case_id))

    @api("GET", "/api/v1/documents/<string:document_id>.pdf")
    def document_pdf(self, request, document_id):
        document = self._document(request, document_id, "pdf")
        pdf = _rendered_pdf(opened(document["content"]))
        if hashlib.sha256(pdf).hexdigest() != document["pdf_sha256"]:
            # The fonts or the renderer changed since the document was issued.
            log.warning(
                "document renders differently from when it was issued", extra={"document_id": document["document_id"]}
            )
        return _file(pdf, "application/pdf", document, "pdf", inline=True)

    @api("GET", "/api/v1/documents/<string:document_id>.docx")
    def document_docx(self, request, document_id):
        document = self._document(request, document_id, "docx")
        docx = tpool.execute(render_docx, opened(document["content"]))
        mimetype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return _file(docx, mimetype, document, "docx", inline=False)

    def _document(self, request, document_id, extension):
        """The document, once its download is recorded as a look (handlers.download_document)."""
        actor = self.store.authenticate(request)
        with self.store.unit_of_work() as uow:
            return handlers.download_document(uow, actor, document_id, extension)

    def readiness_problems(self):
        problem = _font_problem()
        return {"fonts": problem} if problem else {}

    def consume(self, source, envelope):
        self.store.consume(CASE_FILE, envelope, lambda uow, event, _: handlers.record_fact(uow, source, event))


_FONT_CHECK = []


def _font_problem():
    """The fonts are checked once per process: installing them needs a restart anyway."""
    if not _FONT_CHECK:
        _FONT_CHECK.append(font_problem())
    return _FONT_CHECK[0]


_PDF_CACHE = {}
_PDF_CACHE_SIZE = 32


def _rendered_pdf(content):
    """A document's PDF, rendered in a native thread (it takes a CPU-second) and kept for a while,
    by what it shows (an erased party's document is rendered again, with [已删除])."""
    cache_key = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    pdf = _PDF_CACHE.get(cache_key)
    if pdf is None:
        pdf = tpool.execute(render_pdf, content)
        if len(_PDF_CACHE) >= _PDF_CACHE_SIZE:
            _PDF_CACHE.pop(next(iter(_PDF_CACHE)))
        _PDF_CACHE[cache_key] = pdf
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


add_inbox_handlers(DocumentsService, CONSUMED_EVENTS, DocumentsService.consume)

"""The documents service layer on a FakeUnitOfWork and the in-memory tables: issuing and its refusals."""

import hashlib
import itertools
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.common.auth import Principal
from services.common.centers import centers_by_id
from services.common.clock import FixedClock
from services.common.envelope import Event
from services.common.errors import ConcurrencyError, Forbidden, NotFound, StateConflict
from services.common.unit_of_work import FakeUnitOfWork
from services.documents import handlers
from services.documents.commands import IssueDocument
from services.documents.render import render_pdf
from services.documents.repository import InMemoryDocuments
from services.documents.schemas import IssueSchema
from tests import documents_case as case
from tests.unit.kernel_requests import answer, pipeline, request

STAFF = Principal("center", "huaguangjie", "h1")
OTHER_STAFF = Principal("center", "longshengjie", "h2")
DISTRICT = Principal("district", None, "h3")


@pytest.fixture
def uow():
    ids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count(1))
    settings = handlers.DocumentsSettings(
        zone=ZoneInfo("Asia/Shanghai"), centers=centers_by_id(), new_id=lambda: next(ids)
    )
    return FakeUnitOfWork(FixedClock(datetime(2026, 3, 12, 2, 0, tzinfo=UTC)), settings, documents=InMemoryDocuments())


def deliver(uow, events, case_id=case.CASE_ID):
    for source, event_type, version, occurred_at, data in events:
        at = datetime.fromisoformat(occurred_at)
        event = Event(
            str(uuid.uuid4()),
            event_type,
            1,
            f"{source}-{case_id}",
            version,
            case_id,
            case.CENTER_ID,
            at,
            at,
            "c",
            None,
            data,
        )
        with uow:
            handlers.record_fact(uow, source, event)


def issue(uow, kind, actor=STAFF, case_id=case.CASE_ID, document_id=None):
    with uow:
        return handlers.issue_document(
            IssueDocument(actor=actor, case_id=case_id, kind=kind, document_id=document_id), uow
        )


def test_an_agreement_gets_a_number_an_event_and_the_hash_of_its_pdf(uow):
    deliver(uow, case.AGREED_CASE)
    issued = issue(uow, "agreement")
    assert issued["number"] == "华光街劳调协字〔2026〕第1号"
    assert issue(uow, "agreement")["number"] == "华光街劳调协字〔2026〕第2号"
    assert issue(uow, "acceptance_notice")["number"] == "华光街劳调受字〔2026〕第1号"

    first = uow.events.events[0]
    assert (first.event_type, first.stream_id, first.case_id) == (
        "DocumentIssued",
        f"document-{issued['document_id']}",
        case.CASE_ID,
    )
    stored = uow.documents.document(issued["document_id"])
    assert first.data["pdf_sha256"] == stored["pdf_sha256"] == hashlib.sha256(render_pdf(stored["content"])).hexdigest()
    assert first.data["actor"] == {"token": "center:huaguangjie"} and first.data["kind"] == "agreement"
    assert case.APPLICANT["id_number"] not in repr(first.data)


def test_a_download_is_a_look_and_a_refused_one_records_nothing(uow):
    deliver(uow, case.AGREED_CASE)
    issued = issue(uow, "agreement")
    for principal, document_id in ((OTHER_STAFF, issued["document_id"]), (STAFF, str(uuid.uuid4()))):
        with pytest.raises((Forbidden, NotFound)), uow:
            handlers.download_document(uow, principal, document_id, "pdf")
    assert [e.event_type for e in uow.events.events] == ["DocumentIssued"]

    with uow:
        handlers.download_document(uow, DISTRICT, issued["document_id"], "docx")
    look = uow.events.events[-1]
    assert (look.event_type, look.case_id, look.actor) == ("DocumentDownloaded", case.CASE_ID, {"token": "district"})
    assert look.stream_id.startswith("look-") and look.data["route"] == "GET /api/v1/documents/{document_id}.docx"
    assert (look.data["number"], look.data["format"]) == (issued["number"], "docx")
    assert case.APPLICANT["name"] not in repr(look.data)


def test_a_kind_the_state_does_not_allow_is_refused_with_the_state_and_nothing_stored(uow):
    deliver(uow, [case.RECEIVED, case.ACCEPTED, case.OPENED])
    for kind in ("agreement", "termination_notice", "rejection_notice", "session_record", "service_receipt"):
        with pytest.raises(StateConflict) as refused:
            issue(uow, kind)
        assert refused.value.body()["status"] == "mediating" and refused.value.body()["kind"] == kind
    assert uow.events.events == [] and uow.documents.documents == {} and uow.documents.numbers == {}


def test_an_unknown_case_and_another_center_are_refused(uow):
    deliver(uow, case.AGREED_CASE)
    with pytest.raises(NotFound):
        issue(uow, "agreement", case_id=str(uuid.uuid4()))
    with pytest.raises(NotFound):
        issue(uow, "agreement", case_id="not-a-uuid")
    for actor in (OTHER_STAFF, DISTRICT):
        with pytest.raises(Forbidden):
            issue(uow, "agreement", actor=actor)
    with pytest.raises(Forbidden):
        handlers.list_documents(uow, OTHER_STAFF, case.CASE_ID)
    assert handlers.list_documents(uow, DISTRICT, case.CASE_ID)["documents"] == []


def test_a_service_receipt_records_the_latest_document_or_the_one_named(uow):
    deliver(uow, case.AGREED_CASE)
    agreement = issue(uow, "agreement")
    notice = issue(uow, "acceptance_notice")
    latest = uow.documents.document(issue(uow, "service_receipt")["document_id"])
    assert "受理通知书（华光街劳调受字〔2026〕第1号）" in repr(latest["content"])
    named = issue(uow, "service_receipt", document_id=uuid.UUID(agreement["document_id"]))
    assert agreement["number"] in repr(uow.documents.document(named["document_id"])["content"])
    assert notice["number"] not in repr(uow.documents.document(named["document_id"])["content"])
    with pytest.raises(StateConflict):
        issue(uow, "service_receipt", document_id=uuid.uuid4())


def test_the_list_says_which_kinds_the_case_allows_now(uow):
    deliver(uow, case.FAILED_CASE)
    listing = handlers.list_documents(uow, STAFF, case.CASE_ID)
    assert listing["status"] == "failed"
    assert listing["kinds_allowed"] == ["acceptance_notice", "termination_notice", "session_record"]
    issue(uow, "termination_notice")
    listing = handlers.list_documents(uow, STAFF, case.CASE_ID)
    assert "service_receipt" in listing["kinds_allowed"]
    assert [d["title"] for d in listing["documents"]] == ["调解终止告知书"]


def test_an_issue_that_loses_every_race_is_409_not_500_and_stores_nothing(uow):
    deliver(uow, case.AGREED_CASE)
    attempts = []

    def racing(command, unit_of_work):
        attempts.append(1)
        append = unit_of_work.events.append

        def append_after_a_rival(stream_id, expected_version, events, **kwargs):
            raise ConcurrencyError(stream_id, expected_version, expected_version + 1)

        unit_of_work.events.append = append_after_a_rival
        try:
            return handlers.issue_document(command, unit_of_work)
        finally:
            unit_of_work.events.append = append

    status, body = answer(
        pipeline(uow, STAFF).run,
        request(body={"kind": "agreement"}),
        racing,
        IssueDocument,
        IssueSchema(),
        201,
        case_id=case.CASE_ID,
    )
    assert (status, body["error"]) == (409, "conflict")
    assert len(attempts) == 5  # decided again on the new state, up to the kernel's one budget
    assert uow.events.events == [] and uow.documents.documents == {}

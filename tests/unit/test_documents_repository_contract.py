"""The contract of the documents service's tables, run against the in-memory version;
tests/integration/test_documents_repository.py runs it against PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.common.envelope import Event
from services.documents.repository import InMemoryDocuments

YEAR = 2003  # a year no other test issues in


def an_event(case_id, event_type="CaseAccepted", version=2, data=None, center_id="zhenanjie"):
    at = datetime(YEAR, 3, 2, 2, version, tzinfo=UTC)
    return Event(
        str(uuid.uuid4()),
        event_type,
        1,
        f"case-{case_id}",
        version,
        case_id,
        center_id,
        at,
        at,
        str(uuid.uuid4()),
        None,
        data or {"case_id": case_id, "amount": "12000.50"},
    )


def a_document(case_id, number, minutes=0, kind="agreement"):
    return {
        "document_id": str(uuid.uuid4()),
        "case_id": case_id,
        "center_id": "zhenanjie",
        "kind": kind,
        "number": number,
        "issued_at": datetime(YEAR, 3, 10, 8, tzinfo=UTC) + timedelta(minutes=minutes),
        "actor": {"token": "center:zhenanjie"},
        "pdf_sha256": "ab" * 32,
        "content": {"title": "调解协议书", "blocks": [{"type": "p", "text": "壹万贰仟元伍角"}]},
    }


class DocumentsContract:
    """Subclasses provide `documents` (a fixture) on otherwise unused case ids and a year of their own."""

    def test_a_case_file_keeps_each_event_once_with_its_center(self, documents):
        case_id = str(uuid.uuid4())
        assert documents.facts(case_id) == (None, [])
        event = an_event(case_id)
        documents.add_fact("intake", event)
        documents.add_fact("intake", event)
        documents.add_fact("mediation", an_event(case_id, "MediationOpened", 1))
        center_id, facts = documents.facts(case_id)
        assert center_id == "zhenanjie"
        assert sorted((f.source, f.event_type, f.stream_version) for f in facts) == [
            ("intake", "CaseAccepted", 2),
            ("mediation", "MediationOpened", 1),
        ]
        [accepted] = [f for f in facts if f.event_type == "CaseAccepted"]
        assert accepted.event_id == event.event_id and accepted.data == event.data
        assert accepted.occurred_at == event.occurred_at

    def test_numbers_run_per_center_year_and_kind(self, documents):
        first = documents.next_number("zhenanjie", YEAR, "agreement")
        assert documents.next_number("zhenanjie", YEAR, "agreement") == first + 1
        other_kind = documents.next_number("zhenanjie", YEAR, "termination_notice")
        assert documents.next_number("zhenanjie", YEAR, "termination_notice") == other_kind + 1
        other_year = documents.next_number("zhenanjie", YEAR + 1, "agreement")
        assert documents.next_number("zhenanjie", YEAR + 1, "agreement") == other_year + 1
        assert documents.next_number("zhenanjie", YEAR, "agreement") == first + 2

    def test_documents_issued_are_listed_oldest_first_and_fetched_whole(self, documents):
        case_id = str(uuid.uuid4())
        later = a_document(case_id, f"振安街劳调协字〔{YEAR}〕第{uuid.uuid4().int % 10**9}号", minutes=5)
        earlier = a_document(
            case_id, f"振安街劳调受字〔{YEAR}〕第{uuid.uuid4().int % 10**9}号", kind="acceptance_notice"
        )
        documents.add_issued(later)
        documents.add_issued(earlier)
        listed = documents.issued(case_id)
        assert [d["document_id"] for d in listed] == [earlier["document_id"], later["document_id"]]
        assert all("content" not in d for d in listed)
        assert listed[1]["actor"] == later["actor"] and listed[1]["pdf_sha256"] == later["pdf_sha256"]
        fetched = documents.document(later["document_id"])
        assert fetched["content"] == later["content"] and fetched["number"] == later["number"]
        assert documents.document(str(uuid.uuid4())) is None
        assert documents.issued(str(uuid.uuid4())) == []


class TestInMemoryDocuments(DocumentsContract):
    @pytest.fixture
    def documents(self):
        return InMemoryDocuments()

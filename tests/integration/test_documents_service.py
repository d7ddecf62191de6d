"""The documents service running as `tiaojie serve documents`, against real PostgreSQL and RabbitMQ.

The events of intake, mediation and arbitration_link are published here exactly as their
relays would, so duplicates and reordering can be delivered on purpose and the other
services need not run. The module works in a database and broker vhost of its own.
"""

import hashlib
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import kombu
import psycopg2
import psycopg2.extras
import pytest

from services import registry
from services.common import auth
from services.common.db import drop_database, ensure_database, migrate
from services.common.schema import COMMON_MIGRATIONS
from tests import documents_case as case
from tests import support

pytestmark = pytest.mark.integration

OWN_NAME = f"{support.NAMESPACE}_documents_it"
OWN_DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{OWN_NAME}"
OWN_AMQP_URI = f"amqp://guest:guest@127.0.0.1:5672/{OWN_NAME}"


class Harness:
    def __init__(self, tokens, tap):
        self.tokens = tokens
        self.tap = tap
        self.url = None

    def call(self, method, path, body=None, center="huaguangjie", headers=None):
        status, payload, _ = support.http(method, self.url + path, body, token=self.tokens[center], headers=headers)
        return status, payload

    def fetch(self, path, center="huaguangjie"):
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.tokens[center]}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers

    def publish(self, source, envelope):
        with kombu.Connection(OWN_AMQP_URI) as conn:
            exchange = kombu.Exchange(f"{source}.events", type="topic", durable=True)
            conn.Producer().publish(
                json.dumps(envelope),
                exchange=exchange,
                routing_key=envelope["event_type"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=envelope["event_id"],
                type=envelope["event_type"],
                declare=[exchange],
            )

    def deliver(self, case_id, events, center="huaguangjie"):
        """Publishes the case's events (the fixture's, for another case id); returns the envelopes."""
        envelopes = []
        for source, event_type, version, occurred_at, data in events:
            stream = {"intake": "case", "mediation": "mediation", "arbitration_link": "referral"}[source]
            envelope = {
                "event_id": str(uuid.uuid4()),
                "event_type": event_type,
                "schema_version": 1,
                "stream_id": f"{stream}-{case_id}",
                "stream_version": version,
                "case_id": case_id,
                "center_id": center,
                "occurred_at": occurred_at,
                "recorded_at": occurred_at,
                "correlation_id": str(uuid.uuid4()),
                "causation_id": None,
                "data": {**data, "case_id": case_id, "center_id": center},
            }
            self.publish(source, envelope)
            envelopes.append((source, envelope))
        return envelopes

    def wait_for_case(self, case_id, status, center="huaguangjie", timeout=15):
        def reached():
            code, body = self.call("GET", f"/api/v1/cases/{case_id}/documents", center=center)
            return code == 200 and body["status"] == status and body

        return support.wait_for(reached, timeout=timeout, message=f"{case_id} {status}")

    def sql(self, query, *params):
        conn = psycopg2.connect(OWN_DATABASE_URL)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def documents():
    drop_database(OWN_DATABASE_URL)
    support.rabbitmqctl("delete_vhost", OWN_NAME, check=False)
    support.rabbitmqctl("add_vhost", OWN_NAME)
    support.rabbitmqctl("set_permissions", "-p", OWN_NAME, "guest", ".*", ".*", ".*")
    ensure_database(OWN_DATABASE_URL)
    migrate(OWN_DATABASE_URL, COMMON_MIGRATIONS + registry.service_migrations("documents"))
    tokens = {name: auth.new_token() for name in ("huaguangjie", "longshengjie", "district")}
    conn = psycopg2.connect(OWN_DATABASE_URL)
    with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        for name, token in tokens.items():
            auth.store_token(
                cur, token, "district" if name == "district" else "center", None if name == "district" else name
            )
    conn.close()
    connection = kombu.Connection(OWN_AMQP_URI)
    tap = kombu.Queue(
        "documents-test-tap",
        kombu.Exchange("documents.events", type="topic", durable=True),
        routing_key="#",
        durable=False,
    )
    tap.bind(connection.default_channel).declare()
    harness = Harness(tokens, connection.SimpleQueue(tap))
    service = support.ServiceProcess(
        "documents", env={"AMQP_URI": OWN_AMQP_URI, "DOCUMENTS_DATABASE_URL": OWN_DATABASE_URL}
    )
    try:
        with service:
            harness.url = service.url()
            yield harness
    finally:
        connection.release()
        support.rabbitmqctl("delete_vhost", OWN_NAME, check=False)
        drop_database(OWN_DATABASE_URL)


def published(harness, event_type, document_id, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = harness.tap.get(timeout=0.5)
        except harness.tap.Empty:
            continue
        message.ack()
        if message.payload["event_type"] == event_type and message.payload["data"]["document_id"] == document_id:
            return message.payload
    raise AssertionError(f"{event_type} of {document_id} not published")


def pdf_text(pdf, tmp_path):
    path = tmp_path / f"{hashlib.sha256(pdf).hexdigest()[:12]}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_an_agreement_is_issued_once_its_events_arrived_in_any_order_and_twice(documents, tmp_path):
    case_id = str(uuid.uuid4())
    # Mediation's events first, then intake's, and every event twice.
    events = [e for e in case.AGREED_CASE if e[0] == "mediation"] + [e for e in case.AGREED_CASE if e[0] == "intake"]
    envelopes = documents.deliver(case_id, events)
    for source, envelope in envelopes:
        documents.publish(source, envelope)
    listing = documents.wait_for_case(case_id, "agreement")
    assert support.wait_for(
        lambda: (
            documents.sql("SELECT count(*) FROM documents_case_events WHERE case_id = %s", case_id)[0][0] == len(events)
        )
    )
    assert "agreement" in listing["kinds_allowed"] and "termination_notice" not in listing["kinds_allowed"]

    status, issued = documents.call("POST", f"/api/v1/cases/{case_id}/documents", {"kind": "agreement"})
    assert status == 201, issued
    assert issued["kind"] == "agreement" and issued["number"].startswith("华光街劳调协字〔")
    assert set(issued) == {"document_id", "kind", "number", "issued_at"}

    status, pdf, headers = documents.fetch(f"/api/v1/documents/{issued['document_id']}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf" and pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    for expected in (
        case.CASE_NUMBER,
        case.APPLICANT["name"],
        case.APPLICANT["id_number"],
        case.RESPONDENT["name"],
        "12,000.50",
        case.AGREEMENT_CAPITALS,
        issued["number"],
    ):
        assert expected in text.replace(" ", ""), expected

    event = published(documents, "DocumentIssued", issued["document_id"])
    assert event["case_id"] == case_id and event["center_id"] == "huaguangjie"
    assert event["data"]["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert event["data"]["kind"] == "agreement" and event["data"]["number"] == issued["number"]
    assert event["data"]["actor"] == {"token": "center:huaguangjie"}
    assert case.APPLICANT["id_number"] not in json.dumps(event, ensure_ascii=False)

    # Fetched again: the same bytes; the Word file too.
    assert documents.fetch(f"/api/v1/documents/{issued['document_id']}.pdf")[1] == pdf
    status, docx, headers = documents.fetch(f"/api/v1/documents/{issued['document_id']}.docx")
    assert status == 200 and docx.startswith(b"PK") and "wordprocessingml" in headers["Content-Type"]
    assert documents.fetch(f"/api/v1/documents/{issued['document_id']}.docx")[1] == docx

    status, listing = documents.call("GET", f"/api/v1/cases/{case_id}/documents", center="district")
    assert status == 200 and [d["document_id"] for d in listing["documents"]] == [issued["document_id"]]


def test_refusals_store_and_publish_nothing(documents):
    case_id = str(uuid.uuid4())
    documents.deliver(case_id, [case.RECEIVED, case.ACCEPTED, case.OPENED, case.ASSIGNED])
    documents.wait_for_case(case_id, "mediating")
    before = documents.sql("SELECT count(*) FROM events")[0][0]

    for kind in ("agreement", "termination_notice", "rejection_notice", "session_record", "service_receipt"):
        status, body = documents.call("POST", f"/api/v1/cases/{case_id}/documents", {"kind": kind})
        assert status == 409, (kind, body)
        assert body["status"] == "mediating"
    assert documents.call("POST", f"/api/v1/cases/{uuid.uuid4()}/documents", {"kind": "agreement"})[0] == 404
    assert documents.call("POST", "/api/v1/cases/not-a-case/documents", {"kind": "agreement"})[0] == 404
    status, body = documents.call(
        "POST", f"/api/v1/cases/{case_id}/documents", {"kind": "acceptance_notice"}, center="longshengjie"
    )
    assert status == 403, body
    assert (
        documents.call("POST", f"/api/v1/cases/{case_id}/documents", {"kind": "acceptance_notice"}, center="district")[
            0
        ]
        == 403
    )
    status, body = documents.call("POST", f"/api/v1/cases/{case_id}/documents", {"kind": "letter"})
    assert status == 422 and "kind" in body["errors"]
    assert documents.call("POST", f"/api/v1/cases/{case_id}/documents", "{not json")[0] == 400
    assert documents.call("GET", f"/api/v1/cases/{case_id}/documents", center="longshengjie")[0] == 403
    assert support.http("GET", documents.url + f"/api/v1/cases/{case_id}/documents")[0] == 401
    assert documents.sql("SELECT count(*) FROM events")[0][0] == before
    assert documents.sql("SELECT count(*) FROM documents_issued WHERE case_id = %s", case_id)[0][0] == 0


def test_an_issue_repeated_with_its_key_gives_the_first_document(documents):
    case_id = str(uuid.uuid4())
    documents.deliver(case_id, case.FAILED_CASE)
    documents.wait_for_case(case_id, "failed")
    headers = {"Idempotency-Key": f"termination-{case_id}"}
    first = documents.call(
        "POST", f"/api/v1/cases/{case_id}/documents", {"kind": "termination_notice"}, headers=headers
    )
    again = documents.call(
        "POST", f"/api/v1/cases/{case_id}/documents", {"kind": "termination_notice"}, headers=headers
    )
    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert documents.sql("SELECT count(*) FROM documents_issued WHERE case_id = %s", case_id)[0][0] == 1

    # The receipt of its service names it; a second notice gets the next number.
    status, receipt = documents.call("POST", f"/api/v1/cases/{case_id}/documents", {"kind": "service_receipt"})
    assert status == 201, receipt
    second = documents.call("POST", f"/api/v1/cases/{case_id}/documents", {"kind": "termination_notice"})[1]
    assert second["number"] != first[1]["number"]


def test_documents_of_another_center_are_not_handed_out(documents):
    case_id = str(uuid.uuid4())
    documents.deliver(case_id, case.REFUSED_CASE)
    documents.wait_for_case(case_id, "not_accepted")
    status, issued = documents.call("POST", f"/api/v1/cases/{case_id}/documents", {"kind": "rejection_notice"})
    assert status == 201, issued
    assert documents.fetch(f"/api/v1/documents/{issued['document_id']}.pdf", center="longshengjie")[0] == 403
    assert documents.fetch(f"/api/v1/documents/{issued['document_id']}.docx", center="district")[0] == 200
    assert documents.fetch(f"/api/v1/documents/{uuid.uuid4()}.pdf")[0] == 404

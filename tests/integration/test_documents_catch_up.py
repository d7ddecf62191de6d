"""`tiaojie documents catch-up`: case files for the cases whose events were stored before the service ran."""

import uuid
from datetime import datetime

import psycopg2
import psycopg2.extras

from services.common.clock import SystemClock
from services.common.config import database_url
from services.common.envelope import NewEvent
from services.common.eventstore import PostgresEventStore
from tests import documents_case as case
from tests import support


def store(source, stream, events, case_id):
    conn = psycopg2.connect(database_url(source), cursor_factory=psycopg2.extras.RealDictCursor)
    try:
        with conn, conn.cursor() as cursor:
            PostgresEventStore(cursor, SystemClock()).append(
                stream,
                0,
                [
                    NewEvent(
                        event_type,
                        {**data, "case_id": case_id},
                        case_id=case_id,
                        center_id=case.CENTER_ID,
                        occurred_at=datetime.fromisoformat(at),
                    )
                    for _, event_type, _, at, data in events
                ],
            )
    finally:
        conn.close()


def case_file_events(case_id):
    conn = psycopg2.connect(database_url("documents"))
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT source, event_type FROM documents_case_events WHERE case_id = %s", (case_id,))
            return sorted(cursor.fetchall())
    finally:
        conn.close()


def test_catch_up_files_the_stored_events_once_and_the_documents_can_be_issued(infrastructure, tokens):
    case_id = str(uuid.uuid4())
    store("intake", f"case-{case_id}", [case.RECEIVED, case.ACCEPTED], case_id)
    store("mediation", f"mediation-{case_id}", [case.OPENED, case.ASSIGNED, case.SESSION_1, case.AGREED], case_id)
    store("mediation", f"mediator-{uuid.uuid4()}", [("mediation", "MediatorRegistered", 1, case.RECEIVED[3], {})], None)

    first = support.cli("documents", "catch-up")
    assert "documents catch-up" in first.stdout
    expected = sorted(
        [
            ("intake", "ApplicationReceived"),
            ("intake", "CaseAccepted"),
            ("mediation", "AgreementReached"),
            ("mediation", "MediationOpened"),
            ("mediation", "MediatorAssigned"),
            ("mediation", "SessionHeld"),
        ]
    )
    assert case_file_events(case_id) == expected
    support.cli("documents", "catch-up")
    assert case_file_events(case_id) == expected

    with support.ServiceProcess("documents") as documents:
        status, issued, _ = support.http(
            "POST",
            documents.url() + f"/api/v1/cases/{case_id}/documents",
            {"kind": "agreement"},
            token=tokens["huaguangjie"],
        )
        assert status == 201, issued

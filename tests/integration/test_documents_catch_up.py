"""`tiaojie documents catch-up`: case files for the cases whose events were stored before the service ran.

The module stores the fixture case's events (`HGJ-2026-00017`, a number intake's counter never
drew) straight into the stores, so it works in databases and a broker vhost of its own: in
the session's, intake's relay and mediation's would publish them to the services later
tests start, intake would list the case, and its center's next registrations would draw
that number again.
"""

import uuid
from datetime import datetime

import psycopg2
import psycopg2.extras
import pytest

from services.common.clock import SystemClock
from services.common.config import SERVICES, database_url
from services.common.db import drop_database
from services.common.envelope import NewEvent
from services.common.eventstore import PostgresEventStore
from tests import documents_case as case
from tests import support

NAME = f"{support.NAMESPACE}_doccatchup"


@pytest.fixture(scope="module")
def env(infrastructure):
    env = support.test_env(
        DATABASE_URL=f"{support.PG_SERVER}/{NAME}", AMQP_URI=support.AMQP_URI.rsplit("/", 1)[0] + f"/{NAME}"
    )

    def remove():
        for name in (*SERVICES, "keys"):
            drop_database(database_url(name, env))
        support.rabbitmqctl("delete_vhost", NAME, check=False)

    remove()
    support.rabbitmqctl("add_vhost", NAME)
    support.rabbitmqctl("set_permissions", "-p", NAME, "guest", ".*", ".*", ".*")
    try:
        support.cli("setup", env=env)
        yield env
    finally:
        remove()


def store(env, source, stream, events, case_id):
    conn = psycopg2.connect(database_url(source, env), cursor_factory=psycopg2.extras.RealDictCursor)
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


def case_file_events(env, case_id):
    conn = psycopg2.connect(database_url("documents", env))
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT source, event_type FROM documents_case_events WHERE case_id = %s", (case_id,))
            return sorted(cursor.fetchall())
    finally:
        conn.close()


def test_catch_up_files_the_stored_events_once_and_the_documents_can_be_issued(env):
    case_id = str(uuid.uuid4())
    store(env, "intake", f"case-{case_id}", [case.RECEIVED, case.ACCEPTED], case_id)
    store(env, "mediation", f"mediation-{case_id}", [case.OPENED, case.ASSIGNED, case.SESSION_1, case.AGREED], case_id)
    store(
        env,
        "mediation",
        f"mediator-{uuid.uuid4()}",
        [("mediation", "MediatorRegistered", 1, case.RECEIVED[3], {})],
        None,
    )

    first = support.cli("documents", "catch-up", env=env)
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
    assert case_file_events(env, case_id) == expected
    support.cli("documents", "catch-up", env=env)
    assert case_file_events(env, case_id) == expected

    token = support.cli("token", "issue", "--center", case.CENTER_ID, env=env).stdout.strip().splitlines()[-1]
    with support.ServiceProcess("documents", env=env) as documents:
        status, issued, _ = support.http(
            "POST", documents.url() + f"/api/v1/cases/{case_id}/documents", {"kind": "agreement"}, token=token
        )
        assert status == 201, issued

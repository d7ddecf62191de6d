"""The read models' contract, run against PostgreSQL and against the in-memory fake the unit tests use.

Also: a row claimed by one sweep is skipped by another (`FOR UPDATE SKIP LOCKED`), which
is how two instances of the service share the work without fighting over a case.
"""

import contextlib
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg2
import psycopg2.extras
import pytest

from services import registry
from services.common.clock import FixedClock
from services.common.db import drop_database, ensure_database, migrate
from services.common.envelope import NewEvent
from services.common.eventstore import PostgresEventStore
from services.common.schema import COMMON_MIGRATIONS
from services.mediation.domain import Complaint, Mediation, Mediator
from services.mediation.readmodels import InMemoryReadModels, PostgresReadModels
from tests import support

DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{support.NAMESPACE}_mediation_rm"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def database():
    drop_database(DATABASE_URL)
    ensure_database(DATABASE_URL)
    migrate(DATABASE_URL, COMMON_MIGRATIONS + registry.service_migrations("mediation"))
    yield DATABASE_URL
    drop_database(DATABASE_URL)


def connect(url):
    return psycopg2.connect(url, cursor_factory=psycopg2.extras.RealDictCursor)


@pytest.fixture(params=["postgres", "memory"])
def views(request):
    if request.param == "memory":
        yield InMemoryReadModels()
        return
    conn = connect(request.getfixturevalue("database"))
    try:
        with conn.cursor() as cursor:
            yield PostgresReadModels(cursor)
    finally:
        conn.rollback()
        conn.close()


def mediation(deadline, center_id="huaguangjie", agreement_due=None):
    case_id = str(uuid.uuid4())
    m = Mediation(Mediation.stream_for(case_id))
    m.open({"case_id": case_id, "center_id": center_id, "case_number": "HG-1"}, deadline, NOW)
    if agreement_due:
        m.mediator = {"mediator_id": str(uuid.uuid4()), "mediator_name": "Li", "certificate_no": "TJ-1"}
        m.reach_agreement("pay", "10.00", agreement_due, NOW, UTC)
    return m


def mediator(expires, center_id="huaguangjie"):
    mediator_id = str(uuid.uuid4())
    m = Mediator(Mediator.stream_for(mediator_id))
    m.register(mediator_id, center_id, "Li", "TJ-1", expires, False, NOW)
    return m


def test_an_open_mediation_is_due_from_its_deadline_on(views):
    due, later = mediation(NOW), mediation(NOW + timedelta(seconds=1))
    views.save_mediation(due)
    views.save_mediation(later)
    assert views.next_overdue(NOW) == due.case_id
    assert views.next_overdue(NOW, skip=[due.case_id]) is None
    due.expire(NOW)
    views.save_mediation(due)
    assert views.next_overdue(NOW + timedelta(seconds=1)) == later.case_id


def test_an_agreement_is_due_for_default_when_its_due_date_is_before_the_given_day(views):
    m = mediation(NOW + timedelta(days=15), agreement_due=date(2026, 3, 5))
    views.save_mediation(m)
    assert views.next_unperformed(date(2026, 3, 5)) is None
    assert views.next_unperformed(date(2026, 3, 6)) == m.case_id
    m.report_performance(True, NOW, 3, UTC)
    views.save_mediation(m)
    assert views.next_unperformed(date(2026, 3, 6)) is None


def test_the_roster_and_certificates_past_their_last_day(views):
    valid, lapsed = mediator(date(2026, 12, 31)), mediator(date(2026, 3, 1))
    other = mediator(date(2026, 12, 31), center_id="zhenanjie")
    for m in (valid, lapsed, other):
        views.save_mediator(m)
    assert {r["mediator_id"] for r in views.roster("zhenanjie")} == {other.mediator_id}
    assert views.next_certificate_to_expire(date(2026, 3, 1)) is None
    assert views.next_certificate_to_expire(date(2026, 3, 2)) == lapsed.mediator_id
    lapsed.expire_certificate(date(2026, 3, 2), NOW)
    views.save_mediator(lapsed)
    assert views.next_certificate_to_expire(date(2026, 3, 2)) is None
    assert [
        r["certificate_expired"] for r in views.roster("huaguangjie") if r["mediator_id"] == lapsed.mediator_id
    ] == [True]


def test_early_withdrawals_and_the_case_list(views):
    views.record_early_withdrawal("w-1", NOW)
    views.record_early_withdrawal("w-1", NOW)
    assert views.withdrawn_early("w-1") and not views.withdrawn_early("w-2")
    center = "shuitashan"
    first, second = mediation(NOW, center_id=center), mediation(NOW + timedelta(days=1), center_id=center)
    second.fail("the respondent refuses mediation", NOW, "respondent_refused")
    views.save_mediation(first)
    views.save_mediation(second)
    assert [r["case_id"] for r in views.mediations(center_id=center)] == [first.case_id, second.case_id]
    assert [r["case_id"] for r in views.mediations(center_id=center, status="failed")] == [second.case_id]


def test_a_row_claimed_by_one_sweep_is_skipped_by_another(database):
    a, b = mediation(NOW - timedelta(days=2)), mediation(NOW - timedelta(days=1))
    setup = connect(database)
    with setup, setup.cursor() as cursor:
        PostgresReadModels(cursor).save_mediation(a)
        PostgresReadModels(cursor).save_mediation(b)
    setup.close()
    first, second = connect(database), connect(database)
    try:
        with first.cursor() as one, second.cursor() as other:
            assert PostgresReadModels(one).next_overdue(NOW) == a.case_id
            assert PostgresReadModels(other).next_overdue(NOW) == b.case_id
            assert PostgresReadModels(other).next_overdue(NOW, skip=[b.case_id]) is None
    finally:
        first.rollback()
        second.rollback()
        first.close()
        second.close()


def complaint(filed_at, center_id="qidaowan", case_id=None, answered_at=None):
    complaint_id = str(uuid.uuid4())
    c = Complaint(Complaint.stream_for(complaint_id))
    c.file(complaint_id, center_id, case_id, "等待时间过长", filed_at)
    if answered_at is not None:
        c.answer_with("已答复", answered_at)
    return c


def test_complaints_by_state_open_first_with_their_case_number_and_who_answered(views):
    case = mediation(NOW, center_id="qidaowan")
    views.save_mediation(case)
    older, newer = complaint(NOW - timedelta(days=3), case_id=case.case_id), complaint(NOW - timedelta(days=1))
    answered = complaint(NOW - timedelta(days=5), answered_at=NOW - timedelta(days=2))
    elsewhere = complaint(NOW, center_id="yamalike")
    for c in (newer, older, elsewhere):
        views.save_complaint(c)
    head = {"account_id": "a1", "login": "wang", "name": "王主任", "role": "head"}
    views.save_complaint(complaint(NOW, center_id="qidaowan"))  # saved open, then answered below
    views.save_complaint(answered)
    views.save_complaint(answered, answered_by=head)
    views.save_complaint(answered)  # a later save without an answerer keeps the one recorded

    rows = views.complaints(center_id="qidaowan")
    ids = [r["complaint_id"] for r in rows]
    assert ids[:2] == [older.complaint_id, newer.complaint_id] and ids[-1] == answered.complaint_id
    assert views.complaint_counts("qidaowan") == {"open": 3, "answered": 1}
    assert [r["complaint_id"] for r in views.complaints(center_id="qidaowan", status="answered")] == [
        answered.complaint_id
    ]
    [row] = [r for r in rows if r["complaint_id"] == older.complaint_id]
    assert (row["case_id"], row["case_number"], row["status"]) == (case.case_id, "HG-1", "open")
    shown = views.complaint(answered.complaint_id)
    assert (shown["status"], shown["answered_by"], shown["answered_at"]) == ("answered", head, NOW - timedelta(days=2))
    assert views.complaint(str(uuid.uuid4())) is None
    assert elsewhere.complaint_id not in ids


def test_the_complaints_table_is_filled_from_the_complaints_filed_before_it_existed():
    url = f"postgresql://postgres@127.0.0.1:5432/{support.NAMESPACE}_mediation_rm_complaints"
    drop_database(url)
    ensure_database(url)
    try:
        mediation_migrations = registry.service_migrations("mediation")
        before = [m for m in mediation_migrations if m[0] < "mediation-0002"]
        migrate(url, COMMON_MIGRATIONS + before)
        complaint_id = str(uuid.uuid4())
        with contextlib.closing(connect(url)) as conn, conn, conn.cursor() as cursor:
            store = PostgresEventStore(cursor, FixedClock(NOW))
            data = {"complaint_id": complaint_id, "center_id": "qidaowan", "text": "慢", "filed_at": NOW.isoformat()}
            store.append(f"complaint-{complaint_id}", 0, [NewEvent("ComplaintFiled", data, None, "qidaowan", NOW)])
        migrate(url, COMMON_MIGRATIONS + mediation_migrations)
        with contextlib.closing(connect(url)) as conn, conn.cursor() as cursor:
            [row] = PostgresReadModels(cursor).complaints()
        assert (row["complaint_id"], row["center_id"], row["status"], row["filed_at"]) == (
            complaint_id,
            "qidaowan",
            "open",
            NOW,
        )
    finally:
        drop_database(url)


def test_finding3_a_confirmed_agreement_is_due_for_default_as_well(views):
    m = mediation(NOW + timedelta(days=15), agreement_due=date(2026, 3, 5))
    m.request_review(NOW, UTC)
    views.save_mediation(m)
    assert views.next_unperformed(date(2026, 3, 6)) is None  # never while under review
    m.record_review_outcome("confirmed", "WLZ-1", None, NOW.isoformat(), NOW)
    views.save_mediation(m)
    assert views.next_unperformed(date(2026, 3, 6)) == m.case_id
    assert [r["case_id"] for r in views.mediations(status="confirmed") if r["case_id"] == m.case_id] == [m.case_id]


def test_finding3_rows_of_agreements_confirmed_before_the_status_existed_become_confirmed():
    url = f"postgresql://postgres@127.0.0.1:5432/{support.NAMESPACE}_mediation_rm_confirmed"
    drop_database(url)
    ensure_database(url)
    try:
        mediation_migrations = registry.service_migrations("mediation")
        migrate(url, COMMON_MIGRATIONS + [m for m in mediation_migrations if m[0] < "mediation-0004"])
        confirmed, refused = (mediation(NOW + timedelta(days=15), agreement_due=date(2026, 3, 5)) for _ in "cr")
        with contextlib.closing(connect(url)) as conn, conn, conn.cursor() as cursor:
            store, views = PostgresEventStore(cursor, FixedClock(NOW)), PostgresReadModels(cursor)
            for m, decision in ((confirmed, "confirmed"), (refused, "refused")):
                m.request_review(NOW, UTC)
                m.record_review_outcome(decision, None, None, NOW.isoformat(), NOW)
                store.append(m.stream_id, 0, m.pending)
                views.save_mediation(m)
            # as the old code left them: both awaiting performance as `agreement`
            cursor.execute(
                "UPDATE mediations SET status = 'agreement' WHERE case_id = ANY(%s)",
                ([confirmed.case_id, refused.case_id],),
            )
        migrate(url, COMMON_MIGRATIONS + mediation_migrations)
        with contextlib.closing(connect(url)) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT case_id, status FROM mediations ORDER BY status")
            statuses = {r["case_id"]: r["status"] for r in cursor.fetchall()}
        assert statuses == {confirmed.case_id: "confirmed", refused.case_id: "agreement"}
    finally:
        drop_database(url)

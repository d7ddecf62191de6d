"""The mediation service running as `tiaojie serve mediation`, against real PostgreSQL and RabbitMQ.

Intake's and arbitration_link's events are published here exactly as their relays would
(envelope as JSON to `<service>.events`, routing key = event type), so duplicates and
reordering can be delivered on purpose and intake need not run. The module works in a
database and broker vhost of its own, because it moves the service's clock by weeks:
nothing it expires or publishes reaches the other tests.
"""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import kombu
import psycopg2
import psycopg2.extras
import pytest

from services import registry
from services.common import auth
from services.common.clock import FileOffsetClock
from services.common.credentials import Credentials
from services.common.db import drop_database, ensure_database, migrate
from services.common.schema import COMMON_MIGRATIONS
from tests import support

TZ = ZoneInfo("Asia/Shanghai")
OWN_NAME = f"{support.NAMESPACE}_mediation_it"
OWN_DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{OWN_NAME}"
OWN_AMQP_URI = f"amqp://guest:guest@127.0.0.1:5672/{OWN_NAME}"
SWEEP_INTERVAL = 0.3
GRACE_DAYS = 1


class Harness:
    """The running service, its clock, and the bus and database around it."""

    def __init__(self, clock_file, env, tokens, tap):
        self.clock_file = clock_file
        self.env = env
        self.tokens = tokens
        self.tap = tap
        self.offset = 0.0
        self.url = None

    # -- time ---------------------------------------------------------------------------
    def now(self):
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def today(self):
        return self.now().astimezone(TZ).date()

    def move_to(self, moment):
        self.offset = (moment - datetime.now(UTC)).total_seconds()
        FileOffsetClock.move(self.clock_file, self.offset)

    def move_by(self, **delta):
        self.move_to(self.now() + timedelta(**delta))

    # -- HTTP ---------------------------------------------------------------------------
    def call(self, method, path, body=None, center="huaguangjie", headers=None):
        status, payload, _ = support.http(method, self.url + path, body, token=self.tokens[center], headers=headers)
        return status, payload

    def case(self, case_id, center="huaguangjie"):
        return self.call("GET", f"/api/v1/cases/{case_id}", center=center)

    def wait_for_status(self, case_id, status, timeout=15):
        def reached():
            code, body = self.case(case_id)
            return code == 200 and body["status"] == status and body

        return support.wait_for(reached, timeout=timeout, message=f"{case_id} {status}")

    def register(self, center="huaguangjie", **overrides):
        body = {
            "center_id": center,
            "name": "Wang Fang",
            "certificate_no": f"TJ-{uuid.uuid4().hex[:8]}",
            "certificate_expires": (self.today() + timedelta(days=365)).isoformat(),
            "full_time": True,
            **overrides,
        }
        status, created = self.call("POST", "/api/v1/mediators", body, center=center)
        assert status == 201, created
        return created["mediator_id"]

    # -- intake's and arbitration_link's events, as their relays publish them ------------
    def publish(self, envelope, source="intake"):
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

    def envelope(self, event_type, stream_id, version, case_id, data, center="huaguangjie"):
        at = self.now().isoformat()
        return {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": 1,
            "stream_id": stream_id,
            "stream_version": version,
            "case_id": case_id,
            "center_id": center,
            "occurred_at": at,
            "recorded_at": at,
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
            "data": {"case_id": case_id, "center_id": center, **data},
        }

    def case_accepted(self, case_id, deadline=None, version=2, center="huaguangjie"):
        received = self.now()
        deadline = deadline or received + timedelta(days=15)
        return self.envelope(
            "CaseAccepted",
            f"case-{case_id}",
            version,
            case_id,
            {
                "case_number": f"HG-{case_id[:8]}",
                "accepted_at": received.isoformat(),
                "received_at": received.isoformat(),
                "mediation_deadline": deadline.isoformat(),
                "category": "wages",
                "source": "self",
                "workers_involved": 1,
                "collective": False,
                "claimed_total": "12000.00",
            },
            center=center,
        )

    def application_withdrawn(self, case_id, version=3):
        return self.envelope(
            "ApplicationWithdrawn",
            f"case-{case_id}",
            version,
            case_id,
            {
                "case_number": f"HG-{case_id[:8]}",
                "reason": "settled between the parties",
                "withdrawn_at": self.now().isoformat(),
                "status_before": "accepted",
            },
        )

    def open_case(self, **kwargs):
        case_id = str(uuid.uuid4())
        self.publish(self.case_accepted(case_id, **kwargs))
        self.wait_for_status(case_id, "mediating")
        return case_id

    def case_with_agreement(self, performance_due):
        case_id = self.open_case()
        assert self.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": self.register()})[0] == 200
        status, body = self.call(
            "POST",
            f"/api/v1/cases/{case_id}/agreement",
            {
                "terms": "the employer pays the wages owed",
                "amount": "12000.00",
                "performance_due": performance_due.isoformat(),
            },
        )
        assert status == 200, body
        return case_id

    # -- the service's own store --------------------------------------------------------
    def sql(self, query, *params):
        conn = psycopg2.connect(OWN_DATABASE_URL)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        finally:
            conn.close()

    def event_types(self, case_id):
        return [
            r[0]
            for r in self.sql(
                "SELECT event_type FROM events WHERE stream_id = %s ORDER BY stream_version", f"mediation-{case_id}"
            )
        ]

    def consumed(self, event_id):
        return bool(self.sql("SELECT 1 FROM inbox WHERE event_id = %s", event_id))

    def person(self, role, center=None):
        """A person's token as the console's events would grant it (CONTRACTS §7): the key of
        `tokens` to call with."""
        token = auth.new_token()
        identity = {
            "account_id": str(uuid.uuid4()),
            "login": f"{role}-{uuid.uuid4().hex[:6]}",
            "name": "测试人员",
            "role": role,
            "center_id": center,
        }
        conn = psycopg2.connect(OWN_DATABASE_URL)
        with conn, conn.cursor() as cur:
            Credentials(cur).grant(auth.hash_token(token), "token", identity, datetime.now(UTC) + timedelta(days=3650))
        conn.close()
        self.tokens[identity["login"]] = token
        return identity["login"]

    def complaint_events(self, complaint_id):
        return [
            r[0]
            for r in self.sql(
                "SELECT event_type FROM events WHERE stream_id = %s ORDER BY stream_version",
                f"complaint-{complaint_id}",
            )
        ]


@pytest.fixture(scope="module")
def mediation(infrastructure, tmp_path_factory):  # the key store: mediation seals its free text
    drop_database(OWN_DATABASE_URL)
    support.rabbitmqctl("delete_vhost", OWN_NAME, check=False)
    support.rabbitmqctl("add_vhost", OWN_NAME)
    support.rabbitmqctl("set_permissions", "-p", OWN_NAME, "guest", ".*", ".*", ".*")
    ensure_database(OWN_DATABASE_URL)
    migrate(OWN_DATABASE_URL, COMMON_MIGRATIONS + registry.service_migrations("mediation"))
    tokens = {name: auth.new_token() for name in ("huaguangjie", "longshengjie", "district")}
    conn = psycopg2.connect(OWN_DATABASE_URL)
    with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        for name, token in tokens.items():
            auth.store_token(
                cur, token, "district" if name == "district" else "center", None if name == "district" else name
            )
    conn.close()
    env = {"AMQP_URI": OWN_AMQP_URI, "MEDIATION_DATABASE_URL": OWN_DATABASE_URL}
    clock_file = str(tmp_path_factory.mktemp("mediation-clock") / "offset")
    FileOffsetClock.move(clock_file, 0)
    env.update(
        TIAOJIE_CLOCK_FILE=clock_file,
        TIAOJIE_SWEEP_INTERVAL_SECONDS=str(SWEEP_INTERVAL),
        TIAOJIE_PERFORMANCE_GRACE_DAYS=str(GRACE_DAYS),
    )
    connection = kombu.Connection(OWN_AMQP_URI)
    tap = kombu.Queue(
        "mediation-test-tap",
        kombu.Exchange("mediation.events", type="topic", durable=True),
        routing_key="#",
        durable=False,
    )
    tap.bind(connection.default_channel).declare()
    harness = Harness(clock_file, env, tokens, connection.SimpleQueue(tap))
    service = support.ServiceProcess("mediation", env=env)
    try:
        with service:
            harness.url = service.url()
            harness.service = service
            yield harness
    finally:
        connection.release()
        support.rabbitmqctl("delete_vhost", OWN_NAME, check=False)
        drop_database(OWN_DATABASE_URL)


def published(harness, case_id, event_type, timeout=10):
    """The envelope of `event_type` for the case as it arrived on `mediation.events`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = harness.tap.get(timeout=0.5)
        except harness.tap.Empty:
            continue
        message.ack()
        envelope = message.payload
        if envelope["case_id"] == case_id and envelope["event_type"] == event_type:
            return envelope
    raise AssertionError(f"{event_type} of {case_id} not published")


def test_a_case_accepted_in_intake_appears_in_mediation(mediation):
    case_id = str(uuid.uuid4())
    deadline = mediation.now() + timedelta(days=15)
    mediation.publish(mediation.case_accepted(case_id, deadline=deadline))
    case = mediation.wait_for_status(case_id, "mediating")
    assert datetime.fromisoformat(case["deadline"]) == deadline
    assert (case["center_id"], case["claimed_total"], case["mediator"]) == ("huaguangjie", "12000.00", None)
    opened = published(mediation, case_id, "MediationOpened")
    assert opened["stream_id"] == f"mediation-{case_id}" and opened["data"]["deadline"]


def test_only_a_certified_mediator_of_the_cases_own_center_is_assigned(mediation):
    case_id = mediation.open_case()
    yesterday = mediation.today() - timedelta(days=1)
    refusals = {
        mediation.register(certificate_expires=yesterday.isoformat()): "expired",
        mediation.register(certificate_no=None, certificate_expires=None): "no mediator certificate",
        mediation.register(center="longshengjie"): "longshengjie",
        str(uuid.uuid4()): "no mediator",
    }
    for mediator_id, reason in refusals.items():
        status, body = mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": mediator_id})
        assert status == 422, body
        assert reason in body["errors"]["mediator_id"][0]
    assert mediation.event_types(case_id) == ["MediationOpened"]

    certified = mediation.register()
    status, body = mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": certified})
    assert status == 200 and body["mediator"]["mediator_id"] == certified

    status, roster = mediation.call("GET", "/api/v1/mediators?center_id=huaguangjie")
    entries = {m["mediator_id"]: m for m in roster["mediators"]}
    assert entries[certified]["certificate_valid"] and not entries[next(iter(refusals))]["certificate_valid"]
    assert mediation.call("GET", "/api/v1/mediators?center_id=huaguangjie", center="longshengjie")[0] == 403
    expired_id = next(iter(refusals))
    support.wait_for(
        lambda: mediation.sql(
            "SELECT 1 FROM events WHERE stream_id = %s AND event_type = 'MediatorCertificateExpired'",
            f"mediator-{expired_id}",
        ),
        message="the sweep records the certificate's expiry",
    )

    renewed_until = (mediation.today() + timedelta(days=730)).isoformat()
    status, renewed = mediation.call(
        "POST",
        f"/api/v1/mediators/{expired_id}/certificate",
        {"certificate_no": "TJ-RENEWED", "certificate_expires": renewed_until},
    )
    assert (status, renewed["certificate_valid"]) == (200, True)
    status, body = mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": expired_id})
    assert (status, body["mediator"]["certificate_no"]) == (200, "TJ-RENEWED")


def test_the_full_agreement_path(mediation):
    case_id = mediation.open_case()
    post = lambda path, body=None: mediation.call("POST", f"/api/v1/cases/{case_id}/{path}", body)  # noqa: E731
    assert post("assignment", {"mediator_id": mediation.register()})[0] == 200
    assert post("sessions", {"held_at": mediation.now().isoformat(), "summary": "both parties heard"})[0] == 200
    due = mediation.today() + timedelta(days=30)
    status, case = post(
        "agreement", {"terms": "wages paid in two instalments", "amount": "8000.50", "performance_due": due.isoformat()}
    )
    assert status == 200 and case["status"] == "agreement", case
    assert case["agreement"]["amount"] == "8000.50" and case["agreement"]["performance_due"] == due.isoformat()
    reached = published(mediation, case_id, "AgreementReached")
    assert reached["data"]["amount"] == "8000.50" and reached["data"]["certificate_no"].startswith("TJ-")

    status, case = post("review-request")
    assert (status, case["status"]) == (200, "under_review")
    status, body = post("performance", {"performed": False})  # finding 3: no default while under review
    assert (status, body["status"]) == (409, "under_review")
    mediation.publish(
        mediation.envelope(
            "ReviewDecided",
            f"referral-{uuid.uuid4()}",
            3,
            case_id,
            {
                "referral_id": str(uuid.uuid4()),
                "decision": "confirmed",
                "document_no": "WLZ-2026-0042",
                "decided_at": mediation.now().isoformat(),
            },
        ),
        source="arbitration_link",
    )
    case = mediation.wait_for_status(case_id, "confirmed")  # finding 3: the 调解书 makes it `confirmed`
    assert (case["review"]["decision"], case["review"]["document_no"]) == ("confirmed", "WLZ-2026-0042")

    assert post("performance", {"performed": True})[1]["status"] == "performed"
    assert post("survey", {"score": 5, "comment": "fair and quick"})[0] == 200
    status, body = post("survey", {"score": 1})
    assert (status, body["status"]) == (409, "performed")
    assert mediation.event_types(case_id) == [
        "MediationOpened",
        "MediatorAssigned",
        "SessionHeld",
        "AgreementReached",
        "ReviewRequested",
        "ReviewOutcomeRecorded",
        "AgreementPerformed",
        "SurveyRecorded",
    ]
    status, history = mediation.call("GET", f"/api/v1/cases/{case_id}/history")
    assert status == 200 and [e["event_type"] for e in history["events"]] == mediation.event_types(case_id)
    assert mediation.call("GET", f"/api/v1/cases/{uuid.uuid4()}/history")[0] == 404


def test_the_failure_path(mediation):
    case_id = mediation.open_case()
    assert (
        mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": mediation.register()})[0] == 200
    )
    status, case = mediation.call("POST", f"/api/v1/cases/{case_id}/failure", {"reason": "the employer refuses"})
    assert (status, case["status"], case["failure"]["reason"]) == (200, "failed", "the employer refuses")
    failed = published(mediation, case_id, "MediationFailed")
    assert failed["data"]["on_time"] is True
    status, body = mediation.call(
        "POST",
        f"/api/v1/cases/{case_id}/agreement",
        {"terms": "x", "amount": "1.00", "performance_due": mediation.today().isoformat()},
    )
    assert (status, body["status"]) == (409, "failed")
    status, complaint = mediation.call(
        "POST", "/api/v1/complaints", {"center_id": "huaguangjie", "case_id": case_id, "text": "nobody called me back"}
    )
    assert status == 201 and mediation.sql(
        "SELECT event_type FROM events WHERE stream_id = %s", f"complaint-{complaint['complaint_id']}"
    ) == [("ComplaintFiled",)]


def test_a_complaint_naming_a_case_mediation_does_not_know_is_422_and_stores_nothing(mediation):
    before = mediation.sql("SELECT count(*) FROM events WHERE event_type = 'ComplaintFiled'")
    for case_id in (str(uuid.uuid4()), mediation.open_case()):
        body = {"center_id": "longshengjie", "case_id": case_id, "text": "没人回电话"}
        status, refused = mediation.call("POST", "/api/v1/complaints", body, center="longshengjie")
        assert status == 422 and list(refused["errors"]) == ["case_id"]
    assert mediation.sql("SELECT count(*) FROM events WHERE event_type = 'ComplaintFiled'") == before
    assert mediation.sql("SELECT count(*) FROM complaints WHERE center_id = 'longshengjie'") == [(0,)]


def test_complaints_are_listed_and_answered_once_by_the_centers_head_or_the_district(mediation):
    head, staff = mediation.person("head", "huaguangjie"), mediation.person("staff", "huaguangjie")
    other_head, district = mediation.person("head", "longshengjie"), mediation.person("district")
    case_id = mediation.open_case()
    body = {"center_id": "huaguangjie", "case_id": case_id, "text": "调解员态度不好"}
    status, filed = mediation.call("POST", "/api/v1/complaints", body, center=staff)
    assert (status, filed["status"]) == (201, "open")
    complaint_id = filed["complaint_id"]
    path = f"/api/v1/complaints/{complaint_id}"

    status, page = mediation.call("GET", "/api/v1/complaints?status=open", center=head)
    assert status == 200 and page["center_id"] == "huaguangjie"
    [listed] = [c for c in page["complaints"] if c["complaint_id"] == complaint_id]
    assert (listed["text"], listed["case_number"], listed["answer"]) == ("调解员态度不好", f"HG-{case_id[:8]}", None)
    for who, query in ((staff, ""), (other_head, "?center_id=huaguangjie"), (head, "?center_id=longshengjie")):
        assert mediation.call("GET", f"/api/v1/complaints{query}", center=who)[0] == 403
    assert mediation.call("GET", path, center=staff)[0] == 403
    assert mediation.call("GET", path, center=other_head)[0] == 403
    assert mediation.call("GET", "/api/v1/complaints?status=closed", center=head)[0] == 422
    assert mediation.call("GET", f"/api/v1/complaints/{uuid.uuid4()}", center=district)[0] == 404
    # Reading a complaint's text is a look at its case; a refused read records none.
    assert looks_at(mediation, case_id) == [("mediation GET /api/v1/complaints", head)]

    refusals = [
        (staff, {"answer": "已处理"}, 403),
        (other_head, {"answer": "已处理"}, 403),
        ("district", {"answer": "已处理"}, 403),  # the district's machine token reads only
        (head, {"answer": "   "}, 422),
        (head, {"answer": "答" * 5001}, 422),
        (head, {}, 422),
    ]
    for who, answer, expected in refusals:
        status, refused = mediation.call("POST", f"{path}/answer", answer, center=who)
        assert status == expected, (who, answer, refused)
    assert mediation.call("POST", f"/api/v1/complaints/{uuid.uuid4()}/answer", {"answer": "好"}, center=head)[0] == 404
    assert mediation.complaint_events(complaint_id) == ["ComplaintFiled"]
    assert mediation.sql("SELECT status, answered_at FROM complaints WHERE complaint_id = %s", complaint_id) == [
        ("open", None)
    ]

    status, answered = mediation.call("POST", f"{path}/answer", {"answer": "已约谈调解员，向您致歉"}, center=head)
    assert status == 200, answered
    assert (answered["status"], answered["answer"]) == ("answered", "已约谈调解员，向您致歉")
    assert answered["answered_by"]["login"] == head and answered["answered_by"]["role"] == "head"
    event = published(mediation, case_id, "ComplaintAnswered")
    assert event["actor"]["login"] == head and event["center_id"] == "huaguangjie"
    assert event["data"] == {
        "complaint_id": complaint_id,
        "center_id": "huaguangjie",
        "case_id": case_id,
        "answer": event["data"]["answer"],
        "answered_at": event["data"]["answered_at"],
    }
    assert event["data"]["answer"].startswith("tj:sealed:v1:")  # free text: sealed (docs/PRIVACY.md)
    assert datetime.fromisoformat(event["data"]["answered_at"]) == datetime.fromisoformat(answered["answered_at"])

    status, refused = mediation.call("POST", f"{path}/answer", {"answer": "再答复一次"}, center=district)
    assert (status, refused["status"]) == (409, "answered")
    assert mediation.complaint_events(complaint_id) == ["ComplaintFiled", "ComplaintAnswered"]
    for who in (district, "district"):
        status, page = mediation.call("GET", "/api/v1/complaints?center_id=huaguangjie&status=answered", center=who)
        assert status == 200 and complaint_id in [c["complaint_id"] for c in page["complaints"]]
        assert page["counts"]["answered"] >= 1
    status, shown = mediation.call("GET", path, center=district)
    assert (shown["answer"], shown["answered_by"]["login"], shown["answered_at"]) == (
        "已约谈调解员，向您致歉",
        head,
        answered["answered_at"],
    )
    assert looks_at(mediation, case_id)[-1] == ("mediation GET /api/v1/complaints/{complaint_id}", district)


def test_the_complaints_about_one_case_are_listed_by_its_case_id(mediation):
    head, staff = mediation.person("head", "huaguangjie"), mediation.person("staff", "huaguangjie")
    case_id, other_case = mediation.open_case(), mediation.open_case()
    filed = []
    for about, text in ((case_id, "无人接待"), (other_case, "别的案件"), (case_id, "等待太久")):
        body = {"center_id": "huaguangjie", "case_id": about, "text": text}
        filed.append(mediation.call("POST", "/api/v1/complaints", body, center=staff)[1]["complaint_id"])
    status, page = mediation.call("GET", f"/api/v1/complaints?case_id={case_id}", center=head)
    assert (status, page["case_id"]) == (200, case_id)
    assert [c["complaint_id"] for c in page["complaints"]] == [filed[0], filed[2]]  # open, the oldest first
    assert mediation.call("GET", f"/api/v1/complaints?case_id={case_id}", center=staff)[0] == 403
    status, refused = mediation.call("GET", "/api/v1/complaints?case_id=abc", center=head)
    assert status == 422 and list(refused["errors"]) == ["case_id"]


def looks_at(mediation, case_id):
    """`[(route, login)]` of the looks at the case's complaints mediation reported (MediationViewed)."""
    return mediation.sql(
        "SELECT data->>'route', actor->>'login' FROM events WHERE event_type = 'MediationViewed'"
        " AND case_id = %s AND data->>'route' LIKE '%%/complaints%%' ORDER BY position",
        case_id,
    )


def test_an_extension_with_both_parties_consent_moves_the_deadline(mediation):
    case_id = mediation.open_case()
    before = datetime.fromisoformat(mediation.case(case_id)[1]["deadline"])
    for body in ({"days": 10, "parties_consent": False}, {"days": 10}):
        status, refused = mediation.call("POST", f"/api/v1/cases/{case_id}/extension", body)
        assert status == 422 and "parties_consent" in refused["errors"]
    status, case = mediation.call("POST", f"/api/v1/cases/{case_id}/extension", {"days": 10, "parties_consent": True})
    assert status == 200
    assert datetime.fromisoformat(mediation.case(case_id)[1]["deadline"]) == before + timedelta(days=10)
    assert mediation.sql("SELECT deadline FROM mediations WHERE case_id = %s", case_id)[0][0] == before + timedelta(
        days=10
    )


def test_tokens_and_idempotency_keys(mediation):
    case_id = mediation.open_case()
    assert support.http("GET", f"{mediation.url}/api/v1/cases/{case_id}")[0] == 401
    assert mediation.case(case_id, center="longshengjie")[0] == 403
    assert mediation.case(case_id, center="district")[0] == 200
    assert mediation.call("POST", f"/api/v1/cases/{case_id}/failure", {"reason": "x"}, center="district")[0] == 403
    assert mediation.call("POST", f"/api/v1/cases/{uuid.uuid4()}/failure", {"reason": "x"})[0] == 404
    status, _, _ = support.http(
        "POST", f"{mediation.url}/api/v1/cases/{case_id}/sessions", "{not json", token=mediation.tokens["huaguangjie"]
    )
    assert status == 400
    assigned = mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": mediation.register()})
    assert assigned[0] == 200
    key = {"Idempotency-Key": str(uuid.uuid4())}
    session = {"held_at": mediation.now().isoformat(), "summary": "first session"}
    first = mediation.call("POST", f"/api/v1/cases/{case_id}/sessions", session, headers=key)
    assert mediation.call("POST", f"/api/v1/cases/{case_id}/sessions", session, headers=key) == first
    assert (
        mediation.call("POST", f"/api/v1/cases/{case_id}/sessions", {**session, "summary": "other"}, headers=key)[0]
        == 409
    )
    assert mediation.event_types(case_id) == ["MediationOpened", "MediatorAssigned", "SessionHeld"]


def test_a_session_before_a_mediator_is_assigned_is_409_and_stores_nothing(mediation):
    case_id = mediation.open_case()
    session = {"held_at": mediation.now().isoformat(), "summary": "heard before anyone was assigned"}
    status, refused = mediation.call("POST", f"/api/v1/cases/{case_id}/sessions", session)
    assert (status, refused["status"]) == (409, "mediating"), refused
    assert "a session needs an assigned mediator" in refused["message"]
    assert mediation.event_types(case_id) == ["MediationOpened"]
    assert mediation.case(case_id)[1]["sessions"] == []
    assert (
        mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": mediation.register()})[0] == 200
    )
    status, case = mediation.call("POST", f"/api/v1/cases/{case_id}/sessions", session)
    assert status == 200 and [s["summary"] for s in case["sessions"]] == [session["summary"]]


def test_duplicate_and_reordered_intake_events(mediation):
    # the same acceptance three times, and once more under a new event id
    duplicated = str(uuid.uuid4())
    accepted = mediation.case_accepted(duplicated)
    for _ in range(3):
        mediation.publish(accepted)
    mediation.publish({**accepted, "event_id": str(uuid.uuid4())})
    mediation.wait_for_status(duplicated, "mediating")

    # the withdrawal overtakes the acceptance: no live mediation
    overtaken = str(uuid.uuid4())
    late_acceptance = mediation.case_accepted(overtaken, version=2)
    mediation.publish(mediation.application_withdrawn(overtaken, version=3))
    support.wait_for(
        lambda: mediation.sql("SELECT 1 FROM early_withdrawals WHERE case_id = %s", overtaken),
        message="the early withdrawal",
    )
    mediation.publish(late_acceptance)
    support.wait_for(lambda: mediation.consumed(late_acceptance["event_id"]), message="the late acceptance consumed")

    # in order, and the withdrawal delivered twice
    in_order = str(uuid.uuid4())
    mediation.publish(mediation.case_accepted(in_order, version=2))
    mediation.wait_for_status(in_order, "mediating")
    withdrawal = mediation.application_withdrawn(in_order, version=3)
    mediation.publish(withdrawal)
    mediation.publish(withdrawal)
    case = mediation.wait_for_status(in_order, "withdrawn")
    assert case["withdrawal"]["reason"] == "settled between the parties"

    support.wait_for(
        lambda: mediation.sql("SELECT count(*) FROM inbox WHERE event_id = %s", withdrawal["event_id"])[0][0] == 1
    )
    assert mediation.event_types(duplicated) == ["MediationOpened"]
    assert mediation.case(overtaken)[0] == 404 and mediation.event_types(overtaken) == []
    assert mediation.event_types(in_order) == ["MediationOpened", "MediationWithdrawn"]


# The tests below move the service's clock forward; each builds its dates from the moved clock.


def test_a_review_request_after_15_days_is_409(mediation):
    case_id = mediation.case_with_agreement(performance_due=mediation.today() + timedelta(days=60))
    mediation.move_by(days=16)
    status, body = mediation.call("POST", f"/api/v1/cases/{case_id}/review-request", {})
    assert (status, body["status"]) == (409, "agreement")
    assert "15 days" in body["message"]


def test_an_unreported_agreement_defaults_after_its_due_date_and_grace(mediation):
    due = mediation.today() + timedelta(days=1)
    case_id = mediation.case_with_agreement(performance_due=due)
    last_day_of_grace = datetime.combine(due + timedelta(days=GRACE_DAYS), datetime.min.time(), TZ)
    mediation.move_to(last_day_of_grace + timedelta(hours=12))
    time.sleep(SWEEP_INTERVAL * 4)
    assert mediation.case(case_id)[1]["status"] == "agreement"
    mediation.move_to(last_day_of_grace + timedelta(days=1, hours=12))  # past defaults_from, within the 24 h
    time.sleep(SWEEP_INTERVAL * 4)  # for entering a performance made in time
    assert mediation.case(case_id)[1]["status"] == "agreement"
    mediation.move_to(last_day_of_grace + timedelta(days=2, minutes=1))
    case = mediation.wait_for_status(case_id, "defaulted")
    assert case["performance"] == {
        "performed": False,
        "reported": False,
        "at": (last_day_of_grace + timedelta(days=1)).isoformat(),
        # finding 3: unconfirmed, referred to arbitration; a wages agreement may also go to a payment order
        "confirmed": False,
        "document_no": None,
        "guidance": "arbitration",
        "payment_order_possible": True,
    }
    defaulted = published(mediation, case_id, "AgreementDefaulted")
    assert defaulted["data"]["performance_due"] == due.isoformat()
    assert (defaulted["data"]["guidance"], defaulted["data"]["payment_order_possible"]) == ("arbitration", True)


def test_expiry_is_recorded_once_with_two_instances_running(mediation):
    second = support.ServiceProcess("mediation", env=mediation.env)
    with second:
        cases = [mediation.open_case(deadline=mediation.now() + timedelta(hours=1)) for _ in range(8)]
        mediation.move_by(hours=26)  # past the deadline and the 24 h grace for late entries
        for case_id in cases:
            case = mediation.wait_for_status(case_id, "expired")
            assert case["closed_at"] == case["deadline"]
        time.sleep(SWEEP_INTERVAL * 4)  # both instances had more chances to expire them again
        counts = dict(
            mediation.sql(
                "SELECT case_id, count(*) FROM events WHERE event_type = 'MediationExpired' AND case_id = ANY(%s)"
                " GROUP BY case_id",
                cases,
            )
        )
        assert counts == {case_id: 1 for case_id in cases}
        assert second.process.poll() is None and mediation.service.process.poll() is None


# -- when a step happened (issue 15, finding 2): occurred_at, bounded, and deadlines judged on it


def test_a_paper_agreement_signed_by_the_deadline_and_keyed_in_the_next_morning_is_on_time(mediation):
    deadline = mediation.now() + timedelta(hours=1)
    case_id = mediation.open_case(deadline=deadline)
    assert (
        mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": mediation.register()})[0] == 200
    )
    mediation.move_by(hours=10)  # the next morning: the deadline has passed
    time.sleep(SWEEP_INTERVAL * 4)
    assert mediation.case(case_id)[1]["status"] == "mediating"  # the sweep waits for late entries
    signed = (deadline - timedelta(minutes=20)).astimezone(TZ)
    body = {
        "terms": "the employer pays the wages owed",
        "amount": "12000.00",
        "performance_due": (mediation.today() + timedelta(days=30)).isoformat(),
        "occurred_at": signed.isoformat(),
    }
    status, case = mediation.call("POST", f"/api/v1/cases/{case_id}/agreement", body)
    assert status == 200, case
    assert (case["status"], case["agreement"]["on_time"]) == ("agreement", True)
    assert datetime.fromisoformat(case["agreement"]["signed_at"]) == signed
    reached = published(mediation, case_id, "AgreementReached")
    assert datetime.fromisoformat(reached["occurred_at"]) == signed
    assert datetime.fromisoformat(reached["recorded_at"]) > deadline + timedelta(hours=9)
    assert reached["data"]["on_time"] is True
    mediation.move_by(hours=20)
    time.sleep(SWEEP_INTERVAL * 4)
    assert mediation.case(case_id)[1]["status"] == "agreement"


def test_after_the_grace_the_case_is_expired_at_its_deadline_and_a_late_agreement_is_409(mediation):
    deadline = mediation.now() + timedelta(hours=1)
    case_id = mediation.open_case(deadline=deadline)
    assert (
        mediation.call("POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": mediation.register()})[0] == 200
    )
    mediation.move_by(hours=25, minutes=1)
    case = mediation.wait_for_status(case_id, "expired")
    assert datetime.fromisoformat(case["expired_at"]) == deadline
    expired = published(mediation, case_id, "MediationExpired")
    assert datetime.fromisoformat(expired["data"]["noticed_at"]) >= deadline + timedelta(hours=24)
    body = {
        "terms": "the employer pays the wages owed",
        "amount": "12000.00",
        "performance_due": (mediation.today() + timedelta(days=30)).isoformat(),
        "occurred_at": (deadline - timedelta(minutes=20)).isoformat(),
    }
    status, refused = mediation.call("POST", f"/api/v1/cases/{case_id}/agreement", body)
    assert (status, refused["status"]) == (409, "expired")
    assert "expired at" in refused["message"] and "grace" in refused["message"]
    assert datetime.fromisoformat(refused["message"].split("expired at ")[1].split(" ")[0]) == deadline


def test_an_occurred_at_out_of_bounds_is_422_on_the_field_and_stores_nothing(mediation):
    case_id = mediation.open_case()  # accepted now
    mediator_id = mediation.register()
    before = mediation.event_types(case_id)
    refusals = {
        "in the future": mediation.now() + timedelta(hours=1),
        "before the step before it": mediation.now() - timedelta(hours=1),  # before the acceptance
    }
    for says, at in refusals.items():
        for step, body in (
            ("assignment", {"mediator_id": mediator_id}),
            ("extension", {"days": 5, "parties_consent": True}),
            ("failure", {"reason": "the respondent refuses"}),
            ("sessions", {"summary": "heard"}),  # held_at is its occurred_at
        ):
            status, refused = mediation.call(
                "POST", f"/api/v1/cases/{case_id}/{step}", {**body, "occurred_at": at.isoformat()}
            )
            assert status == 422, (step, refused)
            assert says in refused["errors"]["occurred_at"][0], (step, refused)
    mediation.move_by(days=9)
    status, refused = mediation.call(
        "POST",
        f"/api/v1/cases/{case_id}/failure",
        {"reason": "x", "occurred_at": (mediation.now() - timedelta(days=8)).isoformat()},
    )
    assert status == 422 and "7 days back" in refused["errors"]["occurred_at"][0]
    assert mediation.event_types(case_id) == before

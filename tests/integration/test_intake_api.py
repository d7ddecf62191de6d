"""The intake service through its real HTTP API, with real PostgreSQL and RabbitMQ.

One service process serves the whole module; every test uses its own cases and asserts
on them (or on deltas), since other tests share the databases.
"""

import concurrent.futures
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import kombu
import psycopg2
import pytest

from services.common.calendar import build_calendar
from services.common.config import database_url
from tests import support

SHANGHAI = ZoneInfo("Asia/Shanghai")
CENTER, OTHER_CENTER = "huaguangjie", "longshengjie"
RESIDENT_ID, CREDIT_CODE = "11010519491231002X", "91350100M000100Y43"
PHONE = "13912345678"
ENVELOPE_KEYS = {
    "event_id",
    "event_type",
    "schema_version",
    "stream_id",
    "stream_version",
    "case_id",
    "center_id",
    "occurred_at",
    "recorded_at",
    "correlation_id",
    "causation_id",
    "data",
}


@pytest.fixture(scope="module")
def intake(infrastructure, tokens):
    with support.ServiceProcess("intake") as process:
        yield process


def application(center_id=CENTER, **overrides):
    body = {
        "center_id": center_id,
        "channel": "walk_in",
        "source": "self",
        "category": "wages",
        "applicant": {"name": "张三", "id_type": "resident_id", "id_number": RESIDENT_ID, "phone": PHONE},
        "respondent": {"name": "某某建筑有限公司", "credit_code": CREDIT_CODE},
        "claims": [{"item": "拖欠工资", "amount": "12000.00"}, {"item": "加班费", "amount": "3000.5"}],
        "workers_involved": 1,
        "description": "三个月工资未发",
    }
    body.update(overrides)
    return body


def call(intake, method, path, body=None, token=None, **headers):
    status, payload, _ = support.http(method, intake.url() + path, body=body, token=token, headers=headers)
    return status, payload


def register(intake, token, **overrides):
    status, body = call(intake, "POST", "/api/v1/cases", application(**overrides), token)
    assert status == 201, body
    return body


def scalar(sql, *params):
    conn = psycopg2.connect(database_url("intake"))
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]
    finally:
        conn.close()


def stored_events():
    return scalar("SELECT count(*) FROM events")


def test_a_case_is_received_accepted_listed_and_its_history_kept(intake, tokens):
    token = tokens[CENTER]
    received = (datetime.now(UTC) - timedelta(days=2)).astimezone(SHANGHAI)  # keyed in two days late

    status, created = call(intake, "POST", "/api/v1/cases", application(received_at=received.isoformat()), token)

    assert status == 201, created
    assert created["status"] == "received"
    assert re.fullmatch(rf"HGJ-{received.year}-\d{{5}}", created["case_number"])
    # the 15th day after receipt, rolled over rest days, ending at 24:00 (Civil Code Art. 201, 203)
    last_day = build_calendar(SHANGHAI).period_end(received, 15)
    assert created["mediation_deadline"] == last_day.isoformat()
    assert datetime.fromisoformat(created["mediation_deadline_ends_at"]) == build_calendar(SHANGHAI).ends_at(last_day)
    case_id = created["case_id"]
    assert uuid.UUID(case_id).version == 4

    status, case = call(intake, "GET", f"/api/v1/cases/{case_id}", token=token)
    assert status == 200
    assert case["status"] == "received"
    assert case["case_number"] == created["case_number"]
    assert case["claims"] == [{"item": "拖欠工资", "amount": "12000.00"}, {"item": "加班费", "amount": "3000.50"}]
    assert case["claimed_total"] == "15000.50"
    assert case["collective"] is False

    status, decided = call(intake, "POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"}, token)
    assert (status, decided["status"]) == (200, "accepted")
    status, case = call(intake, "GET", f"/api/v1/cases/{case_id}", token=token)
    assert case["status"] == "accepted" and case["accepted_at"]

    status, page = call(intake, "GET", f"/api/v1/cases?center_id={CENTER}&status=accepted", token=token)
    assert status == 200
    assert case_id in [c["case_id"] for c in page["cases"]]
    assert {c["status"] for c in page["cases"]} == {"accepted"}

    status, history = call(intake, "GET", f"/api/v1/cases/{case_id}/history", token=token)
    assert status == 200
    assert [(e["event_type"], e["stream_version"]) for e in history["events"]] == [
        ("ApplicationReceived", 1),
        ("CaseAccepted", 2),
    ]
    assert all(e["stream_id"] == f"case-{case_id}" for e in history["events"])


def test_a_consultation_is_recorded(intake, tokens):
    before = stored_events()
    status, body = call(
        intake,
        "POST",
        "/api/v1/consultations",
        {"center_id": CENTER, "channel": "phone", "topic": "加班费怎么算"},
        tokens[CENTER],
    )
    assert status == 201, body
    assert body["consultation_id"] and body["channel"] == "phone"
    assert stored_events() == before + 1


def test_the_looks_of_one_account_are_listed_for_the_district_and_asked_for_by_login(intake, tokens):
    status, body = call(intake, "GET", "/api/v1/looks?account=nobody.here&limit=10", token=tokens["district"])
    assert (status, body) == (200, {"account": "nobody.here", "looks": []})
    status, body = call(intake, "GET", "/api/v1/looks", token=tokens["district"])
    assert status == 422 and "account" in body["errors"]
    status, body = call(intake, "GET", "/api/v1/looks?account=x&limit=0", token=tokens["district"])
    assert status == 422 and "limit" in body["errors"]


def test_collective_disputes_are_flagged_from_ten_workers(intake, tokens):
    created = register(intake, tokens[CENTER], workers_involved=10)
    status, case = call(intake, "GET", f"/api/v1/cases/{created['case_id']}", token=tokens[CENTER])
    assert (case["workers_involved"], case["collective"]) == (10, True)


def _set(path, value):
    def mutate(body):
        target = body
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
        return body

    return mutate


def _drop(key):
    def mutate(body):
        body.pop(key)
        return body

    return mutate


FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()
INVALID = {
    "category": (_set("category", "parking"), "category"),
    "channel": (_set("channel", "carrier_pigeon"), "channel"),
    "source": (_set("source", "rumour"), "source"),
    "id_type": (_set("applicant.id_type", "library_card"), "applicant.id_type"),
    "resident id check digit": (_set("applicant.id_number", "110105194912310021"), "applicant.id_number"),
    "resident id length": (_set("applicant.id_number", "11010519491231002"), "applicant.id_number"),
    "credit code check character": (_set("respondent.credit_code", "91350100M000100Y44"), "respondent.credit_code"),
    "float amount": (_set("claims.0.amount", 12000.5), "claims.0.amount"),
    "three decimal places": (_set("claims.0.amount", "12000.005"), "claims.0.amount"),
    "negative amount": (_set("claims.0.amount", "-5.00"), "claims.0.amount"),
    "received in the future": (_set("received_at", FUTURE), "received_at"),
    "received without offset": (_set("received_at", "2026-03-02T10:00:00"), "received_at"),
    "no workers": (_set("workers_involved", 0), "workers_involved"),
    "unknown center": (_set("center_id", "atlantis"), "center_id"),
    "missing applicant": (_drop("applicant"), "applicant"),
}


@pytest.mark.parametrize("rule", sorted(INVALID))
def test_an_invalid_application_is_422_and_stores_nothing(intake, tokens, rule):
    mutate, field = INVALID[rule]
    before = stored_events()

    status, body = call(intake, "POST", "/api/v1/cases", mutate(application()), tokens["admin"])

    assert status == 422, body
    assert field in body["errors"], body
    assert stored_events() == before


def test_every_failing_field_is_reported_at_once(intake, tokens):
    body = application(category="parking", workers_involved=0)
    body["claims"][0]["amount"] = 1.5
    body["applicant"]["id_number"] = "110105194912310021"
    body["respondent"]["credit_code"] = "91350100M000100Y44"

    status, response = call(intake, "POST", "/api/v1/cases", body, tokens[CENTER])

    assert status == 422
    assert set(response["errors"]) == {
        "category",
        "workers_involved",
        "claims.0.amount",
        "applicant.id_number",
        "respondent.credit_code",
    }


def test_malformed_json_is_400(intake, tokens):
    status, _ = call(intake, "POST", "/api/v1/cases", "{not json", tokens[CENTER])
    assert status == 400


def test_staff_of_one_center_can_neither_read_nor_change_another_centers_cases(intake, tokens):
    case_id = register(intake, tokens[CENTER])["case_id"]
    other = tokens[OTHER_CENTER]
    before = stored_events()

    assert call(intake, "GET", f"/api/v1/cases/{case_id}", token=other)[0] == 403
    assert call(intake, "GET", f"/api/v1/cases/{case_id}/history", token=other)[0] == 403
    assert call(intake, "GET", f"/api/v1/cases?center_id={CENTER}", token=other)[0] == 403
    assert call(intake, "POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"}, other)[0] == 403
    assert call(intake, "POST", f"/api/v1/cases/{case_id}/withdrawal", {"reason": "x"}, other)[0] == 403
    assert call(intake, "POST", "/api/v1/cases", application(CENTER), other)[0] == 403
    consultation = {"center_id": CENTER, "channel": "phone", "topic": "咨询"}
    assert call(intake, "POST", "/api/v1/consultations", consultation, other)[0] == 403
    status, own_list = call(intake, "GET", "/api/v1/cases", token=other)
    assert status == 200 and {c["center_id"] for c in own_list["cases"]} <= {OTHER_CENTER}
    assert stored_events() == before


def test_the_district_reads_every_center_and_writes_nothing(intake, tokens):
    case_id = register(intake, tokens[CENTER])["case_id"]
    district = tokens["district"]
    before = stored_events()

    assert call(intake, "GET", f"/api/v1/cases/{case_id}", token=district)[0] == 200
    assert call(intake, "GET", f"/api/v1/cases/{case_id}/history", token=district)[0] == 200
    assert call(intake, "GET", f"/api/v1/cases?center_id={CENTER}", token=district)[0] == 200
    assert call(intake, "POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"}, district)[0] == 403
    assert call(intake, "POST", "/api/v1/cases", application(CENTER), district)[0] == 403
    assert stored_events() == before


def test_a_missing_or_unknown_token_is_401(intake):
    assert call(intake, "GET", "/api/v1/cases")[0] == 401
    assert call(intake, "GET", "/api/v1/cases", token="tj_not-a-token")[0] == 401
    assert call(intake, "POST", "/api/v1/cases", application(), "tj_not-a-token")[0] == 401


def test_an_unknown_case_is_404(intake, tokens):
    assert call(intake, "GET", f"/api/v1/cases/{uuid.uuid4()}", token=tokens["admin"])[0] == 404
    assert call(intake, "GET", "/api/v1/cases/not-a-uuid", token=tokens["admin"])[0] == 404
    assert (
        call(intake, "POST", f"/api/v1/cases/{uuid.uuid4()}/acceptance", {"decision": "accept"}, tokens["admin"])[0]
        == 404
    )


def test_a_retried_post_with_the_same_key_registers_one_case(intake, tokens):
    key = str(uuid.uuid4())
    body = application()
    before = scalar("SELECT count(*) FROM intake_cases")

    first = call(intake, "POST", "/api/v1/cases", body, tokens[CENTER], **{"Idempotency-Key": key})
    again = call(intake, "POST", "/api/v1/cases", body, tokens[CENTER], **{"Idempotency-Key": key})
    other = call(
        intake, "POST", "/api/v1/cases", application(workers_involved=3), tokens[CENTER], **{"Idempotency-Key": key}
    )

    assert first[0] == again[0] == 201
    assert again[1] == first[1]
    assert other[0] == 409
    assert scalar("SELECT count(*) FROM intake_cases") == before + 1


def test_two_concurrent_acceptances_one_wins_one_is_409(intake, tokens):
    case_id = register(intake, tokens[CENTER])["case_id"]
    path = f"/api/v1/cases/{case_id}/acceptance"

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: call(intake, "POST", path, {"decision": "accept"}, tokens[CENTER]), range(2)))

    assert sorted(status for status, _ in results) == [200, 409]
    conflict = next(body for status, body in results if status == 409)
    assert conflict["status"] == "accepted"
    assert scalar("SELECT count(*) FROM events WHERE stream_id = %s", f"case-{case_id}") == 2


def test_a_decision_is_taken_once_and_a_withdrawn_case_takes_no_command(intake, tokens):
    token = tokens[CENTER]
    rejected = register(intake, token)["case_id"]
    assert call(intake, "POST", f"/api/v1/cases/{rejected}/acceptance", {"decision": "reject"}, token)[0] == 422
    assert (
        call(
            intake,
            "POST",
            f"/api/v1/cases/{rejected}/acceptance",
            {"decision": "reject", "reason": "超出受理范围"},
            token,
        )[0]
        == 200
    )
    status, body = call(intake, "POST", f"/api/v1/cases/{rejected}/acceptance", {"decision": "accept"}, token)
    assert (status, body["status"]) == (409, "not_accepted")

    withdrawn = register(intake, token)["case_id"]
    status, body = call(intake, "POST", f"/api/v1/cases/{withdrawn}/withdrawal", {"reason": "已和解"}, token)
    assert (status, body["status"]) == (200, "withdrawn")
    before = stored_events()
    for path, command in (("acceptance", {"decision": "accept"}), ("withdrawal", {"reason": "again"})):
        status, body = call(intake, "POST", f"/api/v1/cases/{withdrawn}/{path}", command, token)
        assert (status, body["status"]) == (409, "withdrawn")
    assert stored_events() == before


def test_fifty_concurrent_registrations_get_fifty_consecutive_numbers(intake, tokens):
    center = "shuitashan"

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(
            pool.map(lambda _: call(intake, "POST", "/api/v1/cases", application(center), tokens["admin"]), range(50))
        )

    assert [status for status, _ in results] == [201] * 50
    numbers = sorted(int(body["case_number"].rsplit("-", 1)[1]) for _, body in results)
    assert numbers == list(range(numbers[0], numbers[0] + 50))
    assert all(body["case_number"].startswith("STS-") for _, body in results)


def test_events_are_published_on_intake_events_with_the_envelope(intake, tokens):
    exchange = kombu.Exchange("intake.events", type="topic", durable=True)
    with support.amqp_connection() as conn:
        queue = kombu.Queue(
            f"test-intake-{uuid.uuid4()}", exchange=exchange, routing_key="#", exclusive=True, auto_delete=True
        )(conn.default_channel)
        queue.declare()
        case_id = register(intake, tokens[CENTER])["case_id"]
        call(intake, "POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"}, tokens[CENTER])

        received = {}

        def both_arrived():
            while (message := queue.get(no_ack=True)) is not None:
                envelope = json.loads(message.body)
                if envelope["case_id"] == case_id:
                    received[message.delivery_info["routing_key"]] = (envelope, message.properties)
            return len(received) == 2

        support.wait_for(both_arrived, timeout=15, message="ApplicationReceived and CaseAccepted")

    application_received, properties = received["ApplicationReceived"]
    # The envelope of CONTRACTS §3, with the actor of §7: the center's token registered it.
    assert set(application_received) == ENVELOPE_KEYS | {"actor"}
    assert application_received["actor"] == {"token": f"center:{CENTER}"}
    assert properties["message_id"] == application_received["event_id"]
    assert application_received["stream_id"] == f"case-{case_id}"
    assert (application_received["center_id"], application_received["stream_version"]) == (CENTER, 1)
    data = application_received["data"]
    for key in (
        "case_id",
        "case_number",
        "center_id",
        "channel",
        "source",
        "category",
        "applicant",
        "respondent",
        "claims",
        "claimed_total",
        "workers_involved",
        "collective",
        "description",
        "received_at",
        "mediation_deadline",
    ):
        assert key in data, key
    assert data["claimed_total"] == "15000.50"
    accepted, _ = received["CaseAccepted"]
    assert set(accepted) == ENVELOPE_KEYS | {"actor"} and accepted["stream_version"] == 2
    for key in (
        "case_id",
        "case_number",
        "center_id",
        "accepted_at",
        "received_at",
        "mediation_deadline",
        "category",
        "source",
        "workers_involved",
        "collective",
        "claimed_total",
    ):
        assert key in accepted["data"], key


def _recommendation_envelope(recommendation_id, event_id=None):
    now = datetime.now(UTC).isoformat()
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": "RecommendationReceived",
        "schema_version": 1,
        "stream_id": f"recommendation-{recommendation_id}",
        "stream_version": 1,
        "case_id": None,
        "center_id": CENTER,
        "occurred_at": now,
        "recorded_at": now,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "data": {
            "recommendation_id": recommendation_id,
            "center_id": CENTER,
            "applicant": {"name": "李四", "id_type": "resident_id", "id_number": RESIDENT_ID},
            "respondent": {"name": "某某餐饮有限公司", "credit_code": CREDIT_CODE},
            "category": "compensation",
            "claims": [{"item": "经济补偿", "amount": "8000.00"}],
            "issued_at": now,
        },
    }


def test_a_recommendation_letter_opens_one_case_however_often_it_arrives(intake, tokens):
    recommendation_id = f"REC-{uuid.uuid4()}"
    first = _recommendation_envelope(recommendation_id)
    duplicate_letter = _recommendation_envelope(recommendation_id)
    exchange = kombu.Exchange("arbitration_link.events", type="topic", durable=True)
    with support.amqp_connection() as conn:
        producer = conn.Producer()
        for envelope in (first, first, duplicate_letter):
            producer.publish(
                envelope, exchange=exchange, routing_key="RecommendationReceived", serializer="json", delivery_mode=2
            )

    support.wait_for(
        lambda: (
            scalar(
                "SELECT count(*) FROM inbox WHERE event_id IN (%s::uuid, %s::uuid)",
                first["event_id"],
                duplicate_letter["event_id"],
            )
            == 2
        ),
        message="both letters consumed",
    )
    assert scalar("SELECT count(*) FROM intake_cases WHERE recommendation_id = %s", recommendation_id) == 1
    case_id = str(scalar("SELECT case_id FROM intake_cases WHERE recommendation_id = %s", recommendation_id))
    status, case = call(intake, "GET", f"/api/v1/cases/{case_id}", token=tokens[CENTER])
    assert status == 200
    assert (case["source"], case["channel"], case["recommendation_id"]) == (
        "arbitration_recommendation",
        "letter",
        recommendation_id,
    )


def test_personal_data_stays_out_of_the_logs(intake, tokens):
    register(intake, tokens[CENTER])
    log = open(intake.log_path, encoding="utf-8", errors="replace").read()
    assert RESIDENT_ID not in log and PHONE not in log and "张三" not in log


def test_other_services_read_a_case_over_rpc(intake, tokens):
    from nameko.standalone.rpc import ClusterRpcProxy

    created = register(intake, tokens[CENTER])
    with ClusterRpcProxy({"AMQP_URI": support.AMQP_URI}, timeout=10) as cluster:
        case = cluster.intake.get_case(created["case_id"])
        missing = cluster.intake.get_case(str(uuid.uuid4()))
        page = cluster.intake.list_cases(center_id=CENTER, status="received")

    assert (case["case_number"], case["status"]) == (created["case_number"], "received")
    assert missing is None
    assert page["total"] >= 1 and all(c["center_id"] == CENTER for c in page["cases"])


def test_search_finds_a_case_by_number_id_number_credit_code_or_part_of_a_name(intake, tokens):
    token = tokens[CENTER]
    marker = uuid.uuid4().hex[:8]
    created = register(intake, token, respondent={"name": f"查询{marker}有限公司", "credit_code": CREDIT_CODE})

    def found(**query):
        status, page = call(intake, "GET", "/api/v1/cases?" + urlencode(query), token=token)
        assert status == 200, page
        return [c["case_id"] for c in page["cases"]]

    assert found(q=created["case_number"]) == [created["case_id"]]
    assert found(q=marker) == [created["case_id"]]
    assert created["case_id"] in found(q=RESIDENT_ID.lower(), page_size=200)
    assert created["case_id"] in found(q=CREDIT_CODE, page_size=200)
    assert found(q=RESIDENT_ID[:10]) == []
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert found(q=marker, received_from=today.isoformat(), received_to=today.isoformat()) == [created["case_id"]]
    assert found(q=marker, received_from=(today + timedelta(days=1)).isoformat()) == []
    status, body = call(intake, "GET", "/api/v1/cases?received_from=2026-03-05&received_to=2026-03-01", token=token)
    assert status == 422 and "received_to" in body["errors"]

"""Logs never carry personal data, not even inside a database error (issue 16, finding 6).

First the real thing PostgreSQL does: its errors quote the value they choke on and add the
failing row and the JSON or query around it; logged, none of it may show. Then every
route of the staff APIs gets marked names, addresses, id numbers, phones and free texts,
valid and invalid, and the services' captured logs (at DEBUG) are searched for them.
"""

import json
import uuid
from urllib.parse import quote

import psycopg2
import pytest

from services.common.config import database_url
from services.intake.identifiers import resident_id_check_digit
from tests import support

MARK = "标记" + uuid.uuid4().hex[:8]
MARK_IN_URL = quote(MARK)
NAME = f"{MARK}张三"
RESIDENT_ID = "65010519900307001" + resident_id_check_digit("65010519900307001")
PHONE = "13987654321"
CENTER = "huaguangjie"


DATABASE_ERRORS = [
    (
        "SELECT %s::jsonb",
        [json.dumps({"name": NAME, "address": f"{MARK}路1号"}, ensure_ascii=False).replace("路1号", "路1号\\u0000")],
    ),
    ("SELECT %s::uuid", [NAME]),
    ("CREATE TEMP TABLE people (name text, phone text NOT NULL); INSERT INTO people VALUES (%s, NULL)", [NAME]),
    ("SELECT %s::date", [f"{RESIDENT_ID} {PHONE} {NAME}"]),
]


@pytest.mark.parametrize("sql, params", DATABASE_ERRORS)
def test_a_database_error_is_logged_without_the_data_it_quotes(infrastructure, sql, params):
    conn = psycopg2.connect(database_url("intake"))
    try:
        with pytest.raises(psycopg2.Error) as failed, conn.cursor() as cursor:
            cursor.execute(sql, params)
        assert MARK in str(failed.value)  # PostgreSQL itself quotes it
        error = failed.value

        def emit(logger):
            try:
                raise RuntimeError("the projection failed") from error
            except RuntimeError:
                logger.exception("consumer failed")
            logger.warning("relay: %s", error)

        text = support.json_log_of(emit)
    finally:
        conn.close()
    assert MARK not in text and RESIDENT_ID not in text and PHONE not in text, text
    assert type(error).__name__ in text  # still says what went wrong


@pytest.fixture(scope="module")
def system(infrastructure, tokens):
    env = support.test_env(TIAOJIE_LOG_LEVEL="DEBUG", TIAOJIE_SWEEP_INTERVAL_SECONDS="0.5")
    services = ("intake", "mediation", "arbitration_link", "metrics", "documents")
    with support.ServiceProcess(*services, env=env) as process:
        yield process


def test_no_route_writes_a_marked_value_to_the_logs(system, tokens):
    token = tokens[CENTER]

    def call(service, method, path, body=None, expect=None, **headers):
        status, answer, _ = support.http(method, system.url(service) + path, body, token=token, headers=headers)
        assert status != 500, (method, path, answer)
        if expect is not None:
            assert status == expect, (method, path, answer)
        return answer

    person = {
        "name": NAME,
        "id_type": "resident_id",
        "id_number": RESIDENT_ID,
        "phone": PHONE,
        "address": f"{MARK}路1号",
        "job": f"{MARK}焊工",
    }
    employer = {
        "name": f"{MARK}建筑有限公司",
        "credit_code": "91350100M000100Y43",
        "address": f"{MARK}大道2号",
        "legal_representative": f"{MARK}李四",
    }

    def application(**overrides):
        return {
            "center_id": CENTER,
            "channel": "walk_in",
            "category": "wages",
            "applicant": person,
            "respondent": employer,
            "claims": [{"item": f"{MARK}工资", "amount": "12000.00"}],
            "description": f"{MARK}三个月工资未发",
            **overrides,
        }

    # intake, refused and taken
    call("intake", "POST", "/api/v1/consultations", {"center_id": CENTER, "channel": "phone", "topic": MARK}, 201)
    call("intake", "POST", "/api/v1/cases", application(center_id=f"{MARK}"), 422)
    call("intake", "POST", "/api/v1/cases", application(claims=[{"item": MARK, "amount": MARK}]), 422)
    call(
        "intake",
        "POST",
        "/api/v1/cases",
        json.dumps(application(), ensure_ascii=False).replace(MARK, MARK + "\\u0000", 1),
        422,
    )
    call("intake", "POST", "/api/v1/cases", "{" + json.dumps(application())[1:-10], 400)
    cases = [call("intake", "POST", "/api/v1/cases", application(), 201)["case_id"] for _ in range(3)]
    accepted, rejected, withdrawn = cases
    call("intake", "POST", f"/api/v1/cases/{accepted}/acceptance", {"decision": "accept"}, 200)
    call("intake", "POST", f"/api/v1/cases/{rejected}/acceptance", {"decision": "reject", "reason": MARK}, 200)
    call("intake", "POST", f"/api/v1/cases/{withdrawn}/withdrawal", {"reason": MARK}, 200)
    call("intake", "POST", f"/api/v1/cases/{withdrawn}/withdrawal", {"reason": MARK}, 409)
    call("intake", "GET", f"/api/v1/cases?q={MARK_IN_URL}")
    call("intake", "GET", f"/api/v1/cases?q={RESIDENT_ID}")
    call("intake", "GET", f"/api/v1/cases/{MARK_IN_URL}", expect=404)
    for case_id in cases:
        call("intake", "GET", f"/api/v1/cases/{case_id}", expect=200)
        call("intake", "GET", f"/api/v1/cases/{case_id}/history", expect=200)

    # mediation, once intake's acceptance has arrived
    support.wait_for(
        lambda: support.http("GET", system.url("mediation") + f"/api/v1/cases/{accepted}", token=token)[0] == 200,
        message="mediation opened",
    )
    mediator = {"center_id": CENTER, "name": NAME, "certificate_no": MARK, "full_time": True}
    call("mediation", "POST", "/api/v1/mediators", {**mediator, "certificate_expires": "9999-12-31"}, 422)
    mediator["certificate_expires"] = "2030-12-31"
    mediator_id = call("mediation", "POST", "/api/v1/mediators", mediator, 201)["mediator_id"]
    case = f"/api/v1/cases/{accepted}"
    call("mediation", "POST", case + "/assignment", {"mediator_id": mediator_id}, 200)
    call("mediation", "POST", case + "/sessions", {"held_at": "2099-01-01T00:00:00+08:00", "summary": MARK}, 422)
    call("mediation", "POST", case + "/extension", {"days": 5, "parties_consent": MARK}, 422)
    call("mediation", "POST", case + "/agreement", {"terms": MARK, "amount": MARK, "performance_due": MARK}, 422)
    call("mediation", "POST", case + "/failure", {"reason": MARK}, 200)
    call("mediation", "POST", case + "/survey", {"score": 5, "comment": MARK})
    complaint = {"center_id": CENTER, "case_id": accepted, "text": f"{MARK}{PHONE}"}
    complaint_id = call("mediation", "POST", "/api/v1/complaints", complaint, 201)["complaint_id"]
    call("mediation", "POST", "/api/v1/complaints", {**complaint, "case_id": MARK}, 422)
    answer = f"/api/v1/complaints/{complaint_id}/answer"
    call("mediation", "POST", answer, {"answer": f"{MARK}\u0000"}, 422)
    call("mediation", "POST", answer, {"answer": f"{MARK}{PHONE}"}, 200)
    call("mediation", "POST", answer, {"answer": MARK}, 409)
    call("mediation", "GET", f"/api/v1/complaints?center_id={CENTER}", expect=200)
    call("mediation", "GET", f"/api/v1/complaints/{MARK_IN_URL}", expect=404)
    call("mediation", "GET", case, expect=200)
    call("mediation", "GET", f"/api/v1/cases/{MARK_IN_URL}", expect=404)
    call("mediation", "GET", f"/api/v1/mediators?center_id={MARK_IN_URL}")

    # the link, metrics and documents
    support.wait_for(
        lambda: call("arbitration_link", "GET", f"/api/v1/referrals?case_id={accepted}")["referrals"],
        message="referral",
    )
    call("arbitration_link", "GET", f"/api/v1/referrals?case_id={MARK_IN_URL}")
    call("metrics", "GET", "/api/v1/report", expect=200)
    call("metrics", "GET", f"/api/v1/report?center_id={MARK_IN_URL}")
    documents = system.url("documents")
    support.wait_for(
        lambda: (
            support.http(
                "POST", documents + f"/api/v1/cases/{rejected}/documents", {"kind": "rejection_notice"}, token=token
            )[0]
            == 201
        ),
        message="rejection notice issued",
    )
    call("documents", "POST", f"/api/v1/cases/{rejected}/documents", {"kind": MARK}, 422)
    listed = call("documents", "GET", f"/api/v1/cases/{rejected}/documents", expect=200)
    assert listed

    # the consumers have had the marked events: nothing of them in any line
    support.wait_for(lambda: call("metrics", "GET", "/api/v1/report", expect=200), message="metrics answers")
    log = open(system.log_path, encoding="utf-8").read()
    assert "application received" in log and "document issued" in log  # the services did write
    for value in (MARK, RESIDENT_ID, PHONE):
        leaks = [line for line in log.splitlines() if value in line]
        assert not leaks, leaks[:3]

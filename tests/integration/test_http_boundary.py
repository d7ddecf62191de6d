"""Every request is bounded and every refusal is clean, on real services on loopback (issue 16).

One process serves intake, mediation and arbitration_link with few workers and a short
read timeout, so slow clients would hold every worker quickly if they could.
"""

import http.client
import json
import os
import socket
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.common import limits
from tests import support

WORKERS = 4
READ_TIMEOUT = 3
CENTER = "huaguangjie"
RESIDENT_ID, CREDIT_CODE = "11010519491231002X", "91350100M000100Y43"


@pytest.fixture(scope="module")
def system(infrastructure, tokens):
    env = {
        "TIAOJIE_MAX_WORKERS": WORKERS,
        "TIAOJIE_HTTP_READ_TIMEOUT_SECONDS": READ_TIMEOUT,
        "TIAOJIE_LOG_LEVEL": "DEBUG",
    }
    with support.ServiceProcess("intake", "mediation", "arbitration_link", env=support.test_env(**env)) as process:
        yield process


def application(**overrides):
    return {
        "center_id": CENTER,
        "channel": "walk_in",
        "category": "wages",
        "applicant": {"name": "张三", "id_type": "resident_id", "id_number": RESIDENT_ID},
        "respondent": {"name": "某某建筑有限公司", "credit_code": CREDIT_CODE},
        "claims": [{"item": "拖欠工资", "amount": "12000.00"}],
        **overrides,
    }


def raw_request(url, head, body=b"", read=True, timeout=10):
    """Sends `head` (request line and headers, CRLF-joined, no blank line) and `body` over a plain socket."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        if not read:
            return None
        return _read_response(sock)


def _read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        None,
    )
    while length is not None and len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, json.loads(rest) if rest else None


def post_head(path, token, length, **headers):
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Authorization: Bearer {token}",
        f"Content-Length: {length}",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines)


def test_slow_bodies_do_not_hold_the_workers_and_health_stays_fast(system, tokens):
    url = system.url("intake")
    declared = 100_000  # within the body limit: only the read timeout ends these
    slow = []
    answers = []

    def trickle():
        host, port = url.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)), timeout=READ_TIMEOUT + 10)
        slow.append(sock)
        sock.sendall(post_head("/api/v1/cases", tokens[CENTER], declared).encode() + b"\r\n\r\n{")
        try:
            for _ in range(declared):
                time.sleep(0.2)
                sock.sendall(b" ")
        except OSError:  # the server gave up on us, as it should
            pass

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(2 * WORKERS)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    probe = http.client.HTTPConnection(url.removeprefix("http://"), timeout=2)
    probe.request("GET", "/health")
    probe.getresponse().read()  # the probe's own connection is open before we time it
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        probe.request("GET", "/health")
        response = probe.getresponse()
        response.read()
        timings.append(time.perf_counter() - started)
        assert response.status == 200
        time.sleep(0.2)
    probe.close()
    assert max(timings) < 0.1, timings

    # The read timeout then answers each slow client with 408 and closes its connection.
    for sock in slow:
        sock.settimeout(READ_TIMEOUT + 5)
        answers.append(_read_response(sock))
        sock.close()
    assert {status for status, _ in answers} == {408}
    assert answers[0][1]["error"] == "request_timeout"


def test_a_body_over_the_limit_is_413_before_it_is_read(system, tokens):
    url = system.url("intake")
    before = support.http("GET", url + "/api/v1/cases", token=tokens[CENTER])[1]["total"]
    status, body = raw_request(url, post_head("/api/v1/cases", tokens[CENTER], 50_000_000))
    assert (status, body["error"]) == (413, "payload_too_large")

    # Without a Content-Length (chunked), the limit holds as the body arrives.
    big = json.dumps(application(description="x" * (limits.MAX_BODY_BYTES + 1))).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (big[:100_000], big[100_000:])) + b"0\r\n\r\n"
    head = post_head("/api/v1/cases", tokens[CENTER], 0).replace("Content-Length: 0", "Transfer-Encoding: chunked")
    status, body = raw_request(url, head, chunked)
    assert status == 413
    assert support.http("GET", url + "/api/v1/cases", token=tokens[CENTER])[1]["total"] == before


@pytest.mark.parametrize("service", ["intake", "mediation", "arbitration_link"])
def test_unknown_routes_and_wrong_methods_answer_the_json_error_shape(system, tokens, service):
    status, body, _ = support.http("GET", system.url(service) + "/no/such/route", token=tokens[CENTER])
    assert status == 404 and body["error"] == "not_found" and body["message"]
    status, body, headers = support.http("DELETE", system.url(service) + "/health", token=tokens[CENTER])
    assert status == 405 and body["error"] == "method_not_allowed"
    assert "GET" in headers["Allow"]


ODD_REQUESTS = [
    # (service, method, path, raw body or None, expected status)
    (
        "intake",
        "POST",
        "/api/v1/cases",
        json.dumps(application(applicant={"name": "张\u0000三", "id_type": "resident_id", "id_number": RESIDENT_ID})),
        422,
    ),
    ("intake", "POST", "/api/v1/cases", json.dumps(application(description="x")).replace('"x"', '"\\ud800"'), 422),
    ("intake", "POST", "/api/v1/cases", "[" * 100_000 + "]" * 100_000, 400),
    ("intake", "POST", "/api/v1/cases", '{"a":' * 1_000 + "1" + "}" * 1_000, 400),
    ("intake", "POST", "/api/v1/cases", json.dumps(application()).replace('"walk_in"', "NaN"), 400),
    ("intake", "POST", "/api/v1/cases", json.dumps(application(workers_involved=10**30)), 400),
    ("intake", "POST", "/api/v1/cases", json.dumps(application(workers_involved=1e400)), 400),
    ("intake", "POST", "/api/v1/cases", b'{"center_id": "\xff"}', 400),
    (
        "intake",
        "POST",
        "/api/v1/consultations",
        '{"center_id": "huaguangjie", "channel": "phone", "topic": "a\\u0000"}',
        422,
    ),
    ("intake", "GET", "/api/v1/cases?page=99999999999999999999", None, 422),
    ("intake", "GET", "/api/v1/cases?center_id=%00", None, 400),
    ("intake", "GET", "/api/v1/cases/%00", None, 404),
    ("intake", "POST", "/api/v1/cases/%00/acceptance", '{"decision": "accept"}', 404),
    ("mediation", "GET", "/api/v1/cases?page=99999999999999999999", None, 422),
    ("mediation", "GET", "/api/v1/cases/%00", None, 404),
    ("mediation", "POST", "/api/v1/cases/%00/failure", '{"reason": "r"}', 404),
    ("mediation", "POST", "/api/v1/cases/abc%00def/sessions", '{"held_at": "x", "summary": "s"}', 404),
    ("mediation", "GET", "/api/v1/mediators/%00", None, 404),
    ("mediation", "POST", "/api/v1/complaints", '{"center_id": "huaguangjie", "text": "\\u0000"}', 422),
    ("mediation", "GET", "/api/v1/complaints?page=99999999999999999999", None, 422),
    ("mediation", "GET", "/api/v1/complaints?status=%00", None, 400),
    ("mediation", "GET", "/api/v1/complaints/%00", None, 404),
    ("mediation", "POST", "/api/v1/complaints/%00/answer", '{"answer": "a"}', 404),
    ("mediation", "POST", f"/api/v1/complaints/{uuid.uuid4()}/answer", '{"answer": "\\u0000"}', 422),
    ("arbitration_link", "GET", "/api/v1/referrals/%00", None, 404),
    ("arbitration_link", "GET", "/api/v1/referrals?case_id=%00", None, 400),
]


@pytest.mark.parametrize("service, method, path, body, expected", ODD_REQUESTS)
def test_odd_input_is_refused_cleanly_and_stores_nothing(system, tokens, service, method, path, body, expected):
    url = system.url(service)
    before = support.http("GET", system.url("intake") + "/api/v1/cases", token=tokens[CENTER])[1]["total"]
    status, answer, _ = support.http(method, url + path, body=body, token=tokens[CENTER])
    assert status == expected, answer
    assert isinstance(answer, dict) and ("error" in answer or "errors" in answer), answer
    assert support.http("GET", system.url("intake") + "/api/v1/cases", token=tokens[CENTER])[1]["total"] == before


def test_nul_or_junk_in_the_idempotency_key_is_400(system, tokens):
    body = json.dumps({"center_id": CENTER, "channel": "phone", "topic": "工资"}).encode()
    for key in ("abc\x00def", "x" * (limits.MAX_IDEMPOTENCY_KEY_LENGTH + 1), "a b"):
        head = post_head("/api/v1/consultations", tokens[CENTER], len(body), Idempotency_Key=key)
        status, answer = raw_request(system.url("intake"), head, body)
        assert (status, answer["error"]) == (400, "bad_request"), key


def test_a_client_that_drops_its_connection_is_a_debug_line(system, tokens):
    def log_entries(offset):
        with open(system.log_path, encoding="utf-8") as log:
            log.seek(offset)
            return [json.loads(line) for line in log if line.startswith("{")]

    offset = os.path.getsize(system.log_path)
    head = post_head("/api/v1/cases", tokens[CENTER], 1000)
    raw_request(system.url("intake"), head, b'{"center_id": ', read=False)
    time.sleep(0.5)
    assert support.http("GET", system.url("intake") + "/health")[0] == 200
    entries = log_entries(offset)
    assert any(e["level"] == "debug" and "closed the connection" in e["message"] for e in entries)
    # (the consumers share the log, and the session's broker holds other tests' events)
    web = [e for e in entries if e["logger"] != "services.common.service"]
    assert not [e for e in web if e["level"] in ("error", "critical") or "exception" in e], web


def test_mediation_and_the_link_take_every_case_id_form_intake_takes(system, tokens):
    token = tokens[CENTER]
    status, created, _ = support.http("POST", system.url("intake") + "/api/v1/cases", application(), token=token)
    assert status == 201, created
    case_id = created["case_id"]
    forms = (case_id.upper(), f"urn:uuid:{case_id}", case_id.replace("-", ""))
    path = f"/api/v1/cases/{forms[1]}/acceptance"
    assert support.http("POST", system.url("intake") + path, {"decision": "accept"}, token=token)[0] == 200
    mediation = system.url("mediation") + "/api/v1/cases/"
    support.wait_for(lambda: support.http("GET", mediation + case_id, token=token)[0] == 200, message="mediation")

    for form in forms:
        status, body, _ = support.http("GET", mediation + form, token=token)
        assert (status, body["case_id"]) == (200, case_id), form
    # The date window needs the service's clock: an hour ahead is the future, eleven years too far.
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    far = (date.today() + timedelta(days=11 * 366)).isoformat()
    for path, command, field in (
        ("/sessions", {"held_at": ahead, "summary": "谈话"}, "held_at"),
        ("/agreement", {"terms": "付清", "amount": "1.00", "performance_due": far}, "performance_due"),
        ("/extension", {"days": 5, "parties_consent": "yes"}, "parties_consent"),
    ):
        status, body, _ = support.http("POST", mediation + case_id + path, command, token=token)
        assert status == 422 and field in body["errors"], (path, body)
    # no mediator was assigned: only a respondent's refusal of mediation may close it so
    refusal = {"reason": "被申请人拒绝调解", "reason_code": "respondent_refused"}
    status, body, _ = support.http("POST", mediation + forms[0] + "/failure", refusal, token=token)
    assert (status, body["status"]) == (200, "failed"), body

    referrals = system.url("arbitration_link") + "/api/v1/referrals"
    [referral] = support.wait_for(
        lambda: support.http("GET", f"{referrals}?case_id={case_id}", token=token)[1]["referrals"], message="referral"
    )
    for form in forms:
        status, body, _ = support.http("GET", f"{referrals}?case_id={form}", token=token)
        assert status == 200 and [r["referral_id"] for r in body["referrals"]] == [referral["referral_id"]], form
    status, body, _ = support.http("GET", f"{referrals}/{referral['referral_id'].upper()}", token=token)
    assert (status, body["case_id"]) == (200, case_id)


def test_a_repeat_with_its_keys_in_another_order_is_the_same_request(system, tokens):
    url, key = system.url("intake") + "/api/v1/cases", {"Idempotency-Key": f"reorder-{uuid.uuid4()}"}
    body = application()
    reordered = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=False, indent=1)
    first = support.http("POST", url, body, token=tokens[CENTER], headers=key)
    again = support.http("POST", url, reordered, token=tokens[CENTER], headers=key)
    assert (first[0], again[0]) == (201, 201), again[1]
    assert again[1]["case_id"] == first[1]["case_id"] and again[2]["Idempotent-Replayed"] == "true"
    other = support.http("POST", url, application(description="另一份申请"), token=tokens[CENTER], headers=key)
    assert other[0] == 409

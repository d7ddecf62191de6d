"""End to end: the four services as processes, the reference court, real PostgreSQL and
RabbitMQ. Each path of a case, then exactly the change it makes on the metrics' /metrics.

Each test works in a center of its own, so the deltas it asserts are its own.
"""

from datetime import UTC, datetime

import pytest

from tests import support
from tests.e2e.system_support import assert_reconciled, running_system

system = pytest.fixture(scope="module", name="system")(running_system)


def test_an_agreement_counts_as_a_success(system):
    center = "weihuliang"
    before = system.counters(center)
    case_id = system.accepted_case(center)
    system.agreement(case_id)
    system.mediation_case(case_id, status="agreement")
    system.wait_for_change(center, before, {"received/self": 1, "closed/agreement": 1, "open/performing": 1})


def test_a_failure_is_referred_and_docketed(system):
    center = "qifang"
    before = system.counters(center)
    case_id = system.accepted_case(center)
    system.call("mediation", "POST", f"/api/v1/cases/{case_id}/failure", {"reason": "双方分歧较大"})
    referral = system.referral(case_id, "docketed")
    assert referral["type"] == "referral"
    system.wait_for_change(center, before, {"received/self": 1, "closed/failed": 1})


def test_an_expiry_is_referred_when_the_deadline_passes(system):
    center = "xinminlu"
    before = system.counters(center)
    case_id = system.accepted_case(center)
    ends_at = datetime.fromisoformat(system.mediation_case(case_id, status="mediating")["deadline"])
    # past 24:00 of the last day, whatever rest days the period rolled over, and past the
    # sweep's grace for late entries (TIAOJIE_EXPIRY_GRACE_HOURS, 24)
    system.move_clock(days=(ends_at - datetime.now(UTC)).total_seconds() / 86400 - system.clock_offset / 86400 + 1.1)
    system.mediation_case(case_id, status="expired", timeout=60)
    system.referral(case_id, "docketed")
    system.wait_for_change(center, before, {"received/self": 1, "closed/expired": 1})


def test_a_review_request_is_confirmed_by_the_institute(system):
    center = "liudaowan"
    before = system.counters(center)
    case_id = system.accepted_case(center)
    system.agreement(case_id)
    system.mediation_case(case_id, status="agreement")
    system.call("mediation", "POST", f"/api/v1/cases/{case_id}/review-request", {})
    referral = system.referral(case_id, "confirmed")
    assert referral["type"] == "review_request"
    system.wait_for_change(center, before, {"received/self": 1, "closed/agreement": 1, "open/performing": 1})


def test_finding3_default_of_confirmed_agreement_is_never_referred(system):
    center = "longshengjie"
    before = system.counters(center)
    case_id = system.accepted_case(center)
    system.agreement(case_id)
    system.mediation_case(case_id, status="agreement")
    system.call("mediation", "POST", f"/api/v1/cases/{case_id}/review-request", {})
    status, body, _ = support.http(
        "POST",
        system.url("mediation") + f"/api/v1/cases/{case_id}/performance",
        {"performed": False},
        token=system.token,
    )
    assert (status, body.get("status")) in ((409, "under_review"), (409, "confirmed"), (200, "defaulted")), body
    system.referral(case_id, "confirmed")
    system.mediation_case(case_id, status="confirmed")
    if status != 200:
        system.call("mediation", "POST", f"/api/v1/cases/{case_id}/performance", {"performed": False})
    performance = system.mediation_case(case_id, status="defaulted")["performance"]
    assert (performance["confirmed"], performance["guidance"]) == (True, "court_enforcement")
    assert performance["document_no"]
    system.wait_for_change(center, before, {"received/self": 1, "closed/agreement": 1})
    referrals = system.call("arbitration_link", "GET", f"/api/v1/referrals?case_id={case_id}")["referrals"]
    assert [r["type"] for r in referrals] == ["review_request"]


def test_finding5_a_respondents_refusal_without_a_mediator_is_referred_and_docketed(system):
    center = "yushugou"
    before = system.counters(center)
    case_id = system.accepted_case(center, assign=False)
    path = f"/api/v1/cases/{case_id}/failure"
    status, body, _ = support.http("POST", system.url("mediation") + path, {"reason": "分歧"}, token=system.token)
    assert (status, body["status"]) == (409, "mediating"), body
    refusal = {"reason": "被申请人拒绝调解", "reason_code": "respondent_refused"}
    assert system.call("mediation", "POST", path, refusal)["mediator"] is None
    referral = system.referral(case_id, "docketed")
    assert referral["type"] == "referral"
    system.wait_for_change(center, before, {"received/self": 1, "closed/failed": 1})
    documents = system.url("documents") + f"/api/v1/cases/{case_id}/documents"

    def issued():
        code, answer, _ = support.http("POST", documents, {"kind": "termination_notice"}, token=system.token)
        return answer if code == 201 else None

    assert support.wait_for(issued, timeout=30, message="the termination notice of a failure without a mediator")


def test_a_recommendation_letter_opens_a_new_case(system):
    center = "badaowan"
    before = system.counters(center)
    support.cli(
        "court",
        "--issue-recommendations",
        "1",
        "--center",
        center,
        "--once",
        "--idle-seconds",
        "1",
        env=support.test_env(**system.env),
        timeout=60,
    )

    def recommended():
        page = system.call("intake", "GET", f"/api/v1/cases?center_id={center}&page_size=200")
        cases = page["cases"] if isinstance(page, dict) else page
        return [c for c in cases if c.get("source") == "arbitration_recommendation"]

    assert support.wait_for(recommended, timeout=30, message="the recommended case in intake")
    system.wait_for_change(center, before, {"received/arbitration_recommendation": 1, "open/received": 1})


def test_a_complaint_counts_open_then_answered(system):
    center = "nanhunanlu"
    before = system.counters(center)
    case_id = system.accepted_case(center, assign=False)
    body = {"center_id": center, "case_id": case_id, "text": "多次来访无人接待"}
    filed = system.call("mediation", "POST", "/api/v1/complaints", body)
    system.wait_for_change(center, before, {"received/self": 1, "open/mediating": 1, "complaints/open": 1})
    path = f"/api/v1/complaints/{filed['complaint_id']}/answer"
    assert system.call("mediation", "POST", path, {"answer": "已安排专人接待"})["status"] == "answered"
    system.wait_for_change(center, before, {"received/self": 1, "open/mediating": 1, "complaints/answered": 1})


def test_the_report_page_shows_each_center_against_the_target(system):
    status, page, headers = support.http("GET", system.url("metrics") + "/report")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert page.count("<svg") == 2 and "华光街街道办事处 ★" in page
    assert "苇湖梁片区管委会" in page and "100.0%" in page  # the agreement path's center: 1 of 1


def test_the_paths_leave_the_stores_and_projections_reconciled(system):
    assert_reconciled(system)

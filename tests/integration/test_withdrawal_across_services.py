"""One truth for withdrawal (issue 15 finding 4; DOMAIN.md "After the agreement"), through
intake and mediation running as `tiaojie serve`, on RabbitMQ and PostgreSQL.

- after an agreement there is nothing to withdraw: intake answers 409 and stores nothing;
- a withdrawal taken in mediation makes intake's case `withdrawn` too, by the same person;
- the race: intake takes a withdrawal while mediation signs the agreement and neither has
  heard of the other's step. Mediation's relay is held (its position row locked), so intake
  cannot hear of the agreement before it answers; then both views converge on the agreement.

The module works in databases and a broker vhost of its own.
"""

import contextlib
import time
import uuid
from datetime import date, timedelta

import psycopg2
import pytest

from services.common.config import database_url
from services.status.reconcile import reconcile
from tests import support
from tests.integration.test_calendar_services import District
from tests.integration.test_calendar_services import district as district_of_its_own

CENTER = "huaguangjie"


class Withdrawals(District):
    """intake and mediation as one `tiaojie serve`, and the steps of these tests."""

    def accepted_case(self):
        case_id = self.receive()["case_id"]
        status, decided = self.call("intake", "POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"})
        assert status == 200, decided
        self.mediation(case_id, "mediating")
        return case_id

    def with_mediator(self, case_id):
        status, created = self.call(
            "mediation",
            "POST",
            "/api/v1/mediators",
            {
                "center_id": CENTER,
                "name": "王芳",
                "certificate_no": f"TJ-{uuid.uuid4().hex[:8]}",
                "certificate_expires": (date.today() + timedelta(days=365)).isoformat(),
                "full_time": True,
            },
        )
        assert status == 201, created
        status, body = self.call(
            "mediation", "POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": created["mediator_id"]}
        )
        assert status == 200, body

    def sign(self, case_id):
        due = (date.today() + timedelta(days=30)).isoformat()
        body = {"terms": "被申请人支付工资 12000 元", "amount": "12000.00", "performance_due": due}
        status, answer = self.call("mediation", "POST", f"/api/v1/cases/{case_id}/agreement", body)
        assert status == 200, answer
        return answer

    def intake(self, case_id, status, until=lambda body: True):
        def reached():
            code, body = self.call("intake", "GET", f"/api/v1/cases/{case_id}")
            return body if code == 200 and body["status"] == status and until(body) else None

        return support.wait_for(reached, timeout=20, message=f"intake {case_id} {status}")

    def history(self, service, case_id):
        status, body = self.call(service, "GET", f"/api/v1/cases/{case_id}/history")
        assert status == 200, body
        return body["events"]

    def withdrawals_check(self, monkeypatch):
        """`tiaojie status`'s check that intake and mediation agree on withdrawals, on these stores."""
        monkeypatch.setenv("DATABASE_URL", self.env["DATABASE_URL"])
        checks = reconcile(["intake", "mediation"], {}, {})
        [check] = [c for c in checks if c["check"] == "withdrawals (intake = mediation)"]
        return check

    @contextlib.contextmanager
    def mediation_relay_held(self):
        """Mediation publishes nothing while this lasts: its relay waits on its position row."""
        conn = psycopg2.connect(database_url("mediation", self.env))
        try:
            with conn.cursor() as cursor:
                cursor.execute("LOCK TABLE relay_positions IN ACCESS EXCLUSIVE MODE")
            time.sleep(1.5)  # a relay pass already under way finishes, the next one waits
            yield
        finally:
            conn.rollback()
            conn.close()


@pytest.fixture(scope="module")
def district(infrastructure, tmp_path_factory):
    with district_of_its_own(tmp_path_factory.mktemp("withdrawal"), "withdrawal", kind=Withdrawals) as running:
        yield running


def test_a_withdrawal_after_the_agreement_is_409_at_intake_and_stores_nothing(district):
    case_id = district.accepted_case()
    district.with_mediator(case_id)
    district.sign(case_id)
    district.intake(case_id, "accepted", until=lambda body: body["mediation"] is not None)
    before = district.history("intake", case_id)

    status, refused = district.call("intake", "POST", f"/api/v1/cases/{case_id}/withdrawal", {"reason": "已和解"})

    assert status == 409, refused
    assert refused["status"] == "accepted"
    assert "调解已于" in refused["message"] and "the mediation ended with an agreement on" in refused["message"]
    assert refused["mediation"]["outcome"] == "agreement"
    assert district.history("intake", case_id) == before
    time.sleep(1)  # had anything been published, mediation would have it by now
    assert [e["event_type"] for e in district.history("mediation", case_id)][-1] == "AgreementReached"
    assert district.mediation(case_id, "agreement")


def test_a_withdrawal_in_mediation_makes_intake_say_withdrawn_by_the_same_person(district):
    case_id = district.accepted_case()

    status, body = district.call("mediation", "POST", f"/api/v1/cases/{case_id}/withdrawal", {"reason": "当事人和解"})
    assert status == 200, body

    case = district.intake(case_id, "withdrawn")
    assert case["withdrawal"]["in"] == "mediation" and case["withdrawal"]["reason"] == "当事人和解"
    [withdrawn] = [e for e in district.history("mediation", case_id) if e["event_type"] == "MediationWithdrawn"]
    [noted] = [e for e in district.history("intake", case_id) if e["event_type"] == "MediationOutcomeNoted"]
    assert noted["actor"] == withdrawn["actor"] == {"token": f"center:{CENTER}"}
    assert noted["causation_id"] == withdrawn["event_id"]
    status, listed = district.call("intake", "GET", f"/api/v1/cases?center_id={CENTER}&status=withdrawn")
    assert case_id in [c["case_id"] for c in listed["cases"]]
    status, again = district.call("intake", "POST", f"/api/v1/cases/{case_id}/withdrawal", {"reason": "x"})
    assert (status, again["status"]) == (409, "withdrawn")


def test_a_withdrawal_racing_the_agreement_converges_on_the_agreement_in_both_views(district, monkeypatch):
    case_id = district.accepted_case()
    district.with_mediator(case_id)

    with district.mediation_relay_held():
        district.sign(case_id)
        status, body = district.call("intake", "POST", f"/api/v1/cases/{case_id}/withdrawal", {"reason": "已和解"})
        assert (status, body["status"]) == (200, "withdrawn")  # intake had not heard of the agreement
        refused = support.wait_for(
            lambda: [e for e in district.history("mediation", case_id) if e["event_type"] == "WithdrawalRefused"],
            timeout=20,
            message="mediation refuses the withdrawal",
        )
        assert district.call("intake", "GET", f"/api/v1/cases/{case_id}")[1]["status"] == "withdrawn"
        disagreeing = district.withdrawals_check(monkeypatch)  # what `tiaojie status` says meanwhile
        assert disagreeing["ok"] is False and case_id in disagreeing["detail"]

    case = district.intake(case_id, "accepted")
    mediation = district.mediation(case_id, "agreement")
    assert case["withdrawal"] is None
    assert case["mediation"]["outcome"] == "agreement"
    assert case["overruled_withdrawal"]["withdrawal_reason"] == "已和解"
    assert refused[0]["data"]["ended_with"] == "agreement"
    assert mediation["withdrawal_refused"]["reason"].startswith("the mediation had already ended with an agreement")
    types = [e["event_type"] for e in district.history("intake", case_id)]
    assert types[-2:] == ["ApplicationWithdrawn", "WithdrawalOverruled"]
    assert types.count("WithdrawalOverruled") == 1 and "MediationOutcomeNoted" not in types
    status, again = district.call("intake", "POST", f"/api/v1/cases/{case_id}/withdrawal", {"reason": "再撤"})
    assert (status, again["status"]) == (409, "accepted")
    assert district.withdrawals_check(monkeypatch)["ok"] is True  # this module's every case agrees

"""The retention timer inside the running intake service, with a moved clock: a case closed
longer ago than TIAOJIE_RETENTION_YEARS loses its personal data by itself (no operator
command), in every database; an open case keeps it; the figures stay; only one sweep runs
at a time. In databases and a vhost of its own: the moved clock must erase nothing of
the other tests."""

import contextlib
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from services.common.clock import FileOffsetClock
from services.common.config import SERVICES, database_url, service_config
from services.common.db import drop_database
from services.intake import retention
from services.intake.bootstrap import bootstrap
from services.intake.identifiers import resident_id_check_digit
from tests import support
from tests.integration.test_privacy_everywhere import found_in_databases, metrics_figures, pdf_text

ELEVEN_YEARS = 11 * 365 * 24 * 3600
SWEEP_SECONDS = 0.3
CENTER = "huaguangjie"


def resident_id(first17):
    return first17 + resident_id_check_digit(first17)


# One person per case, each with values no other case shares.
REJECTED = {"name": "留存甲一", "id_number": resident_id("65010219800101123"), "phone": "13911110001"}
WITHDRAWN = {"name": "留存乙二", "id_number": resident_id("65010219800202123"), "phone": "13911110002"}
STILL_OPEN = {"name": "留存丙三", "id_number": resident_id("65010219800303123"), "phone": "13911110003"}


@pytest.fixture(scope="module")
def district(infrastructure, tmp_path_factory):
    own = f"{support.NAMESPACE}_rtimer"
    clock = tmp_path_factory.mktemp("retention") / "clock"
    FileOffsetClock.move(str(clock), 0)
    env = {
        "DATABASE_URL": f"{support.PG_SERVER}/{own}",
        "AMQP_URI": support.AMQP_URI.rsplit("/", 1)[0] + "/" + own,
        "TIAOJIE_CLOCK_FILE": str(clock),
        "TIAOJIE_RETENTION_SWEEP_SECONDS": str(SWEEP_SECONDS),
        # mediation's deadline sweep stays still: only the retention timer acts on the moved clock
        "TIAOJIE_SWEEP_INTERVAL_SECONDS": "3600",
    }
    full = support.test_env(**env)

    def drop():
        support.rabbitmqctl("delete_vhost", own, check=False)
        for name in (*SERVICES, "keys"):
            drop_database(database_url(name, full))

    drop()
    support.rabbitmqctl("add_vhost", own)
    support.rabbitmqctl("set_permissions", "-p", own, "guest", ".*", ".*", ".*")
    try:
        support.cli("setup", env=full)
        token = support.cli("token", "issue", "--center", CENTER, env=full).stdout.split()[-1]
        with support.ServiceProcess("intake", "mediation", "documents", env=env) as services:
            yield services, token, full, own, str(clock)
    finally:
        drop()


def call(services, service, method, path, token, body=None, expected=(200, 201)):
    status, payload, _ = support.http(method, services.url(service) + path, body=body, token=token)
    assert status in expected, (method, path, status, payload)
    return payload


def register(services, token, person):
    return call(
        services,
        "intake",
        "POST",
        "/api/v1/cases",
        token,
        {
            "center_id": CENTER,
            "channel": "walk_in",
            "source": "self",
            "category": "wages",
            "applicant": {"id_type": "resident_id", "address": f"{person['name']}的住址", **person},
            "respondent": {"name": f"{person['name']}商贸有限公司", "legal_representative": f"{person['name']}法人"},
            "claims": [{"item": "工资", "amount": "6000.00"}],
            "workers_involved": 1,
            "description": f"{person['name']}的描述",
        },
    )["case_id"]


def applicant_name(services, token, case_id):
    return call(services, "intake", "GET", f"/api/v1/cases/{case_id}", token)["applicant"]["name"]


def marks(person):
    return [*person.values(), f"{person['name']}的住址", f"{person['name']}的描述", f"{person['name']}法人"]


def test_the_timer_erases_what_closed_longer_ago_than_the_period(district):
    services, token, env, own, clock = district
    rejected = register(services, token, REJECTED)
    call(
        services,
        "intake",
        "POST",
        f"/api/v1/cases/{rejected}/acceptance",
        token,
        {"decision": "reject", "reason": "超出受理范围"},
    )
    withdrawn = register(services, token, WITHDRAWN)
    call(services, "intake", "POST", f"/api/v1/cases/{withdrawn}/acceptance", token, {"decision": "accept"})
    still_open = register(services, token, STILL_OPEN)

    def notice_allowed():
        status, listing, _ = support.http(
            "GET", f"{services.url('documents')}/api/v1/cases/{withdrawn}/documents", token=token
        )
        return status == 200 and "acceptance_notice" in listing["kinds_allowed"]

    support.wait_for(notice_allowed, timeout=30, message="the acceptance in the case file")
    issued = call(
        services, "documents", "POST", f"/api/v1/cases/{withdrawn}/documents", token, {"kind": "acceptance_notice"}
    )
    pdf = f"/api/v1/documents/{issued['document_id']}.pdf"
    assert WITHDRAWN["name"] in pdf_text(services.url("documents"), token, pdf)
    support.wait_for(
        lambda: support.http("GET", f"{services.url('mediation')}/api/v1/cases/{withdrawn}", token=token)[0] == 200,
        message="the mediation opened",
    )
    mediator = {
        "center_id": CENTER,
        "name": "赵振华",
        "certificate_no": "新调证字2025第0102号",
        "certificate_expires": (datetime.now(UTC) + timedelta(days=365)).date().isoformat(),
        "full_time": True,
    }
    mediator_id = call(services, "mediation", "POST", "/api/v1/mediators", token, mediator)["mediator_id"]
    assignment = {"mediator_id": mediator_id}
    call(services, "mediation", "POST", f"/api/v1/cases/{withdrawn}/assignment", token, assignment)  # then sessions
    held = {"held_at": datetime.now(UTC).isoformat(), "summary": "留存测试的调解笔录"}
    call(services, "mediation", "POST", f"/api/v1/cases/{withdrawn}/sessions", token, held)
    call(services, "mediation", "POST", f"/api/v1/cases/{withdrawn}/withdrawal", token, {"reason": "双方和解"})
    figures = metrics_figures(env)
    assert any(withdrawn in row for row in figures["metrics_cases"])

    support.wait_for(
        lambda: call(services, "mediation", "GET", f"/api/v1/cases/{withdrawn}", token)["status"] == "withdrawn"
    )
    mediation_case = f"/api/v1/cases/{withdrawn}"
    mediated = call(services, "mediation", "GET", mediation_case, token)
    assert (mediated["withdrawal"]["reason"], mediated["sessions"][0]["summary"]) == ("双方和解", held["summary"])
    time.sleep(SWEEP_SECONDS * 4)  # sweeps ran: nothing closed ten years ago yet
    assert applicant_name(services, token, rejected) == REJECTED["name"]

    FileOffsetClock.move(clock, ELEVEN_YEARS)
    for case_id in (rejected, withdrawn):
        support.wait_for(
            lambda case_id=case_id: applicant_name(services, token, case_id) == "[已删除]",
            timeout=20,
            message="the timer's erasure",
        )
    assert applicant_name(services, token, still_open) == STILL_OPEN["name"]
    time.sleep(SWEEP_SECONDS * 4)  # more sweeps: each erasure is recorded once

    for case_id, person in ((rejected, REJECTED), (withdrawn, WITHDRAWN)):
        history = call(services, "intake", "GET", f"/api/v1/cases/{case_id}/history", token)["events"]
        received = history[0]["data"]
        assert received["applicant"]["id_number"] == "[已删除]" and received["description"] == "[已删除]"
        erasures = [e for e in history if e.get("event_type") == "PersonalDataErased"]
        assert [e["data"]["reason"] for e in erasures] == ["retention period of 10 years ended"]
        assert found_in_databases(marks(person), prefix=own) == {}
    text = pdf_text(services.url("documents"), token, pdf)
    assert "[已删除]" in text and WITHDRAWN["name"] not in text
    # Mediation's free text of the case (a session's summary, the withdrawal's reason) goes with it.
    mediated = call(services, "mediation", "GET", mediation_case, token)
    assert mediated["withdrawal"]["reason"] == "[已删除]" == mediated["sessions"][0]["summary"]
    assert STILL_OPEN["name"] in str(found_in_databases([STILL_OPEN["name"]], prefix=own))

    FileOffsetClock.move(clock, 0)  # the figures of the same moment as before
    assert metrics_figures(env) == figures


def test_one_sweep_at_a_time(district):
    """An instance whose sweep finds another one's under way leaves it to that one; the
    operator's command waits for it (the running service's timer sweeps too, so a sweep
    that does not wait may find the lock taken by it at any moment)."""
    _, _, env, _, _ = district
    wiring = bootstrap(service_config("intake", env), env)
    other = psycopg2.connect(database_url("intake", env))
    with contextlib.closing(other), other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", (retention.LOCK,))
        assert retention.sweep(wiring, wait=False) is None
        cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", (retention.LOCK,))
    assert retention.sweep(wiring, wait=True)["retention_years"] == 10

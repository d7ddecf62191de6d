"""The retention timer (`tiaojie privacy retention`) with a moved clock: a case closed longer
ago than TIAOJIE_RETENTION_YEARS loses its personal data, an open or recent one keeps it;
the export finds a person by ID number. In a namespace of its own, so the moved clock
erases nothing of the other tests."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from services.common import privacy
from services.common.clock import FileOffsetClock
from services.common.config import SERVICES, database_url, service_config
from services.common.db import drop_database
from services.common.envelope import Event
from services.common.keystore import Vault
from services.intake import handlers
from services.intake.bootstrap import bootstrap
from services.intake.commands import DecideAcceptance, RecordConsultation, RegisterApplication, WithdrawApplication
from tests import support
from tests.unit.test_intake_domain import an_application

ELEVEN_YEARS = 11 * 365 * 24 * 3600


@pytest.fixture
def district_env(infrastructure, tmp_path):
    clock = tmp_path / "clock"
    clock.write_text("0")
    env = support.test_env(
        DATABASE_URL=f"{support.PG_SERVER}/{support.NAMESPACE}_retention", TIAOJIE_CLOCK_FILE=str(clock)
    )
    support.cli("setup", "--skip-broker", env=env)
    yield env, clock
    for name in (*SERVICES, "keys"):
        drop_database(database_url(name, env))


def register(wiring, id_number, decision=None):
    application = an_application(
        applicant={"name": "留存测试", "id_type": "resident_id", "id_number": id_number},
        received_at=datetime.now(UTC) - timedelta(hours=1),  # within TIAOJIE_BACKDATE_DAYS
    )
    with wiring.units_of_work() as uow:
        case_id = handlers.register_application(RegisterApplication(application=application), uow)["case_id"]
    if decision:
        command = DecideAcceptance(actor=None, case_id=case_id, decision=decision, reason="超出受理范围")
        with wiring.units_of_work() as uow:
            handlers.decide_acceptance(command, uow)
    return case_id


def stored_topic(env):
    """The consultation's topic as stored (sealed), opened with the key store as it is now."""
    with psycopg2.connect(database_url("intake", env)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT data->>'topic' FROM events WHERE event_type = 'ConsultationRecorded'")
        [(topic,)] = cursor.fetchall()
    conn.close()
    assert privacy.is_sealed(topic)
    return Vault.from_env(env).open(topic)


def view(wiring, case_id):
    with wiring.units_of_work() as uow:
        return handlers.case_view(uow, None, case_id)


def withdrawn_then_overruled(wiring, id_number):
    """An accepted case withdrawn at intake before it heard of the mediation's agreement."""
    case_id = register(wiring, id_number, decision="accept")
    with wiring.units_of_work() as uow:
        handlers.withdraw_application(WithdrawApplication(actor=None, case_id=case_id, reason="已和解"), uow)
    signed = datetime.now(UTC) - timedelta(minutes=5)
    agreement = Event(
        str(uuid.uuid4()), "AgreementReached", 1, f"mediation-{case_id}", 4, case_id, "huaguangjie",
        signed, signed, "c", None, {"case_id": case_id, "signed_at": signed.isoformat()},
    )  # fmt: skip
    with wiring.units_of_work() as uow:
        handlers.record_mediation_end(uow, agreement)
    assert view(wiring, case_id)["status"] == "accepted"
    return case_id


def test_retention_erases_what_closed_longer_ago_than_the_period(district_env):
    env, clock = district_env
    wiring = bootstrap(service_config("intake", env), env)
    closed = register(wiring, "11010519491231002X", decision="reject")
    still_open = register(wiring, "110105194912310021")
    # issue 15 finding 4: its overruled withdrawal did not close it; its agreement awaits performance
    overruled = withdrawn_then_overruled(wiring, "110105194912310011")

    consulted = RecordConsultation(actor=None, center_id="huaguangjie", channel="phone", topic="留存测试问加班费")
    with wiring.units_of_work() as uow:
        handlers.record_consultation(consulted, uow)

    exported = json.loads(support.cli("privacy", "export", "--id-number", "11010519491231002x", env=env).stdout)
    assert [c["case"]["case_id"] for c in exported["cases"]] == [closed]
    assert exported["cases"][0]["case"]["applicant"]["name"] == "留存测试"

    quiet = json.loads(support.cli("privacy", "retention", env=env).stdout.strip().splitlines()[-1])
    assert quiet["erased"] == [] and quiet["retention_years"] == 10 and quiet["consultations_erased"] == 0
    assert stored_topic(env) == "留存测试问加班费"

    FileOffsetClock.move(str(clock), ELEVEN_YEARS)
    result = json.loads(support.cli("privacy", "retention", env=env).stdout.strip().splitlines()[-1])
    assert result["erased"] == [closed] and result["consultations_erased"] == 1
    assert stored_topic(env) == privacy.ERASED  # a consultation's topic goes when its time is up, too
    assert view(wiring, closed)["applicant"]["name"] == "[已删除]"
    assert view(wiring, closed)["erasure"]["reason"] == "retention period of 10 years ended"
    assert view(wiring, still_open)["applicant"]["name"] == "留存测试"
    assert view(wiring, overruled)["applicant"]["name"] == "留存测试"
    again = json.loads(support.cli("privacy", "retention", env=env).stdout.strip().splitlines()[-1])
    assert again["erased"] == [] and again["keys_destroyed_again"] == 0 and again["consultations_erased"] == 0
    exported = json.loads(support.cli("privacy", "export", "--id-number", "11010519491231002X", env=env).stdout)
    assert exported["cases"] == []  # its search token went with it

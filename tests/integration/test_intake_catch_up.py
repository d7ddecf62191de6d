"""`tiaojie intake catch-up`: mediations that ended before intake consumed mediation's events
(before the release that added it) are noted from mediation's store, once. Against real
PostgreSQL stores of a namespace of its own; no broker needed."""

from datetime import UTC, datetime, timedelta

import psycopg2
import psycopg2.extras
import pytest

from services.common.clock import SystemClock
from services.common.config import SERVICES, database_url, service_config
from services.common.db import drop_database
from services.common.envelope import NewEvent
from services.common.eventstore import ANY_VERSION, PostgresEventStore
from services.intake import handlers
from services.intake.bootstrap import bootstrap
from services.intake.commands import DecideAcceptance, RegisterApplication, WithdrawApplication
from services.intake.domain import CaseStateError
from tests import support
from tests.unit.test_intake_domain import an_application

MEDIATOR = {"account_id": "a-7", "login": "wangfang", "name": "王芳", "role": "staff"}


@pytest.fixture
def district_env(infrastructure):
    env = support.test_env(DATABASE_URL=f"{support.PG_SERVER}/{support.NAMESPACE}_catchup")
    support.cli("setup", "--skip-broker", env=env)
    yield env
    for name in (*SERVICES, "keys"):
        drop_database(database_url(name, env))


def accepted_case(wiring):
    application = an_application(received_at=datetime.now(UTC) - timedelta(hours=1))
    with wiring.units_of_work() as uow:
        case_id = handlers.register_application(RegisterApplication(application=application), uow)["case_id"]
    with wiring.units_of_work() as uow:
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=case_id, decision="accept"), uow)
    return case_id


def mediation_recorded(env, case_id, event_type, **data):
    """An event of the case's mediation, as mediation stored it before intake consumed them."""
    at = datetime.now(UTC)
    conn = psycopg2.connect(database_url("mediation", env), cursor_factory=psycopg2.extras.RealDictCursor)
    try:
        with conn, conn.cursor() as cursor:
            store = PostgresEventStore(cursor, SystemClock())
            [event] = store.append(
                f"mediation-{case_id}",
                ANY_VERSION,
                [
                    NewEvent(
                        event_type, {"case_id": case_id, "center_id": "huaguangjie", **data}, case_id, "huaguangjie", at
                    )
                ],
                actor=MEDIATOR,
            )
    finally:
        conn.close()
    return event


def view(wiring, case_id):
    with wiring.units_of_work() as uow:
        return handlers.case_view(uow, None, case_id)


def test_catch_up_notes_the_mediations_that_ended_before_intake_consumed_them_once(district_env):
    env = district_env
    wiring = bootstrap(service_config("intake", env), env)
    withdrawn, agreed = accepted_case(wiring), accepted_case(wiring)
    at = datetime.now(UTC).isoformat()
    mediation_recorded(env, withdrawn, "MediationWithdrawn", reason="当事人和解", withdrawn_at=at)
    mediation_recorded(env, agreed, "AgreementReached", signed_at=at, terms="付清", amount="100.00")
    assert view(wiring, withdrawn)["status"] == "accepted"  # what intake said before

    first = support.cli("intake", "catch-up", env=env).stdout.strip().splitlines()[-1]
    again = support.cli("intake", "catch-up", env=env).stdout.strip().splitlines()[-1]

    assert first == "intake catch-up: 2 of mediation's endings applied now"
    assert again == "intake catch-up: 0 of mediation's endings applied now"
    case = view(wiring, withdrawn)
    assert case["status"] == "withdrawn" and case["withdrawal"]["in"] == "mediation"
    with wiring.units_of_work() as uow:
        history = handlers.case_history(uow, None, withdrawn)["events"]
    [noted] = [e for e in history if e["event_type"] == "MediationOutcomeNoted"]
    assert noted["actor"] == MEDIATOR
    assert view(wiring, agreed)["mediation"]["outcome"] == "agreement"
    with pytest.raises(CaseStateError), wiring.units_of_work() as uow:
        handlers.withdraw_application(WithdrawApplication(actor=None, case_id=agreed, reason="x"), uow)
    assert view(wiring, agreed)["withdrawal"] is None  # the refused withdrawal stored nothing

"""`tiaojie privacy migrate`: what intake stored in clear before sealing began, and the copies
the documents service and the link made of it (inside a document's sentences too), come
out sealed with the case's keys; the case still reads whole and is found by its ID number,
and an erasure then leaves the values nowhere. In a namespace of its own."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from services.common.auth import Principal
from services.common.bootstrap import wire
from services.common.config import SERVICES, database_url, service_config
from services.common.db import drop_database
from services.common.keystore import Vault
from services.intake import handlers
from services.intake.bootstrap import bootstrap, intake_settings
from services.intake.commands import DecideAcceptance, RegisterApplication, WithdrawApplication
from services.intake.domain import Case
from services.intake.records import PostgresIntakeRecords
from services.mediation.bootstrap import bootstrap as mediation_bootstrap
from services.mediation.bootstrap import mediation_settings
from services.mediation.cases import save_mediation
from services.mediation.domain import Mediation, Mediator
from services.mediation.readmodels import PostgresReadModels
from services.mediation.roster import roster, save_mediator
from services.mediation.views import mediation_view
from tests import support
from tests.integration.test_privacy_everywhere import found_in_databases
from tests.unit.test_intake_domain import an_application

NAME = "迁移标记人"
ID_NUMBER = "65010519800101003X"
PHONE = "13811112222"
MARKS = (NAME, ID_NUMBER, PHONE, "迁移标记公司", "迁移描述")
INSTITUTE_REASON = "迁移仲裁院不予受理理由"  # the institute's own words about the case


@pytest.fixture
def district_env(infrastructure):
    prefix = f"{support.NAMESPACE}_migrate"
    env = support.test_env(DATABASE_URL=f"{support.PG_SERVER}/{prefix}")
    support.cli("setup", "--skip-broker", env=env)
    yield env, prefix
    for name in (*SERVICES, "keys"):
        drop_database(database_url(name, env))


def execute(env, service, sql, params):
    conn = psycopg2.connect(database_url(service, env))
    with conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
    conn.close()


def intake_before_sealing(env):
    """Intake wired without a vault: its events are stored as they were before sealing began."""
    config = service_config("intake", env)
    return wire(
        config,
        settings=intake_settings(config, env),
        repositories={"records": PostgresIntakeRecords},
        aggregates=(Case,),
    )


def test_migrate_seals_what_was_stored_in_clear_and_every_copy_of_it(district_env):
    env, prefix = district_env
    config = service_config("intake", env)
    before_sealing = intake_before_sealing(env)
    application = an_application(
        applicant={"name": NAME, "id_type": "resident_id", "id_number": ID_NUMBER, "phone": PHONE},
        respondent={"name": "迁移标记公司", "credit_code": "91650100MA00000X1X"},
        description="迁移描述：欠薪",
        received_at=datetime.now(UTC) - timedelta(hours=1),  # within TIAOJIE_BACKDATE_DAYS
    )
    with before_sealing.units_of_work() as uow:
        case_id = handlers.register_application(RegisterApplication(application=application), uow)["case_id"]
    with before_sealing.units_of_work() as uow:
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=case_id, decision="accept"), uow)
        received = uow.events.load(Case.stream_for(case_id))[0]
    # The copies the other services made of it then.
    execute(
        env,
        "documents",
        "INSERT INTO documents_case_events (case_id, event_id, center_id, source, event_type, stream_version,"
        " occurred_at, data) VALUES (%s, %s, 'huaguangjie', 'intake', 'ApplicationReceived', 1, now(), %s::jsonb)",
        (case_id, received.event_id, json.dumps(received.data, ensure_ascii=False)),
    )
    content = {"title": "受理通知书", "blocks": [{"type": "p", "text": f"{NAME}：你于某日提出的与迁移标记公司之间的"}]}
    execute(
        env,
        "documents",
        "INSERT INTO documents_issued (document_id, case_id, center_id, kind, number, issued_at, actor, pdf_sha256,"
        " content) VALUES (gen_random_uuid(), %s, 'huaguangjie', 'acceptance_notice', 'N-1', now(), '{}', 'x', %s)",
        (case_id, json.dumps(content, ensure_ascii=False)),
    )
    document = {"application": {"applicant": received.data["applicant"], "category": "wages"}}
    execute(
        env,
        "arbitration_link",
        "INSERT INTO case_files (case_id, center_id, document) VALUES (%s, 'huaguangjie', %s::jsonb)",
        (case_id, json.dumps(document, ensure_ascii=False)),
    )
    assert {table for _, table in found_in_databases(MARKS, prefix)} == {
        "events",
        "intake_cases",
        "documents_case_events",
        "documents_issued",
        "case_files",
    }
    # The institute's reason for declining the case's referral, as the link recorded it before
    # sealing began, and the documents service's copy of that event.
    declined = {"referral_id": str(uuid.uuid4()), "case_id": case_id, "reason": INSTITUTE_REASON}
    execute(
        env,
        "arbitration_link",
        "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, case_id, center_id,"
        " occurred_at, recorded_at, correlation_id, data) VALUES (gen_random_uuid(), %s, 3, 'ReferralDeclined', 1,"
        " %s, 'huaguangjie', now(), now(), 'c', %s::jsonb)",
        (f"referral-{declined['referral_id']}", case_id, json.dumps(declined, ensure_ascii=False)),
    )
    execute(
        env,
        "documents",
        "INSERT INTO documents_case_events (case_id, event_id, center_id, source, event_type, stream_version,"
        " occurred_at, data) VALUES (%s, gen_random_uuid(), 'huaguangjie', 'arbitration_link', 'ReferralDeclined', 3,"
        " now(), %s::jsonb)",
        (case_id, json.dumps(declined, ensure_ascii=False)),
    )

    result = json.loads(support.cli("privacy", "migrate", env=env).stdout.strip().splitlines()[-1])
    assert result["rows_sealed"]["intake.events"] == 2 and result["rows_sealed"]["documents.documents_issued"] == 1
    assert result["rows_sealed"]["arbitration_link.events (institute's reasons)"] == 1
    assert result["rows_sealed"]["documents.documents_case_events (institute's reasons)"] == 1
    assert found_in_databases([INSTITUTE_REASON], prefix) == {}
    conn = psycopg2.connect(database_url("arbitration_link", env))
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT data->>'reason' FROM events WHERE event_type = 'ReferralDeclined'")
        [(sealed_reason,)] = cursor.fetchall()
    conn.close()
    assert Vault.from_env(env).open(sealed_reason) == INSTITUTE_REASON

    found = found_in_databases(MARKS, prefix)
    assert set(found) == {(f"{prefix}_intake", "intake_cases")}, found  # the names its search needs
    assert set(found[(f"{prefix}_intake", "intake_cases")]) == {NAME, "迁移标记公司"}
    sealed = bootstrap(config, env)
    with sealed.units_of_work() as uow:
        view = handlers.case_view(uow, None, case_id)
        assert handlers.list_cases(uow.records, None, q=ID_NUMBER.lower())["total"] == 1
    assert view["applicant"]["phone"] == PHONE and view["description"] == "迁移描述：欠薪"
    conn = psycopg2.connect(database_url("documents", env))
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT content FROM documents_issued WHERE case_id = %s", (case_id,))
        [(stored,)] = cursor.fetchall()
    conn.close()
    vault = Vault.from_env(env)
    assert vault.open(stored) == content

    support.cli("privacy", "erase", "--case", case_id, "--reason", "测试", env=env)
    assert found_in_databases(MARKS, prefix) == {}
    assert vault.open(stored)["blocks"][0]["text"].startswith("[已删除]：")
    assert vault.open(sealed_reason) == "[已删除]"  # sealed with the case's key: erased with it


MEDIATION_MARKS = ("迁移调解员", "迁移笔录", "迁移协议条款")


def test_migrate_seals_mediations_clear_events_its_roster_and_their_copies(district_env):
    """Mediation's free text and mediators' names stored before mediation sealed them: migrated
    with the case's keys (the summary and terms) and the mediator's (the name, in the roster
    too); an erasure of the case then takes the free text and leaves the mediator's name."""
    env, prefix = district_env
    intake = intake_before_sealing(env)
    application = an_application(description="", received_at=datetime.now(UTC) - timedelta(hours=1))
    with intake.units_of_work() as uow:
        case_id = handlers.register_application(RegisterApplication(application=application), uow)["case_id"]
    with intake.units_of_work() as uow:
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=case_id, decision="accept"), uow)
    config = service_config("mediation", env)
    settings = mediation_settings(config, env)
    before_sealing = wire(config, settings=settings, repositories={"views": PostgresReadModels})
    now = datetime.now(UTC)
    with before_sealing.units_of_work() as uow:
        mediator_id = str(uuid.uuid4())
        mediator = Mediator(Mediator.stream_for(mediator_id))
        expires = now.date() + timedelta(days=300)
        mediator.register(mediator_id, "huaguangjie", MEDIATION_MARKS[0], "证-1", expires, True, now)
        save_mediator(uow, mediator)
        mediation = Mediation(Mediation.stream_for(case_id))
        opened = {"case_id": case_id, "center_id": "huaguangjie", "case_number": "N-1"}
        mediation.open(opened, now + timedelta(days=15), now)
        mediation.assign(mediator, now.date(), now)
        mediation.hold_session(now, MEDIATION_MARKS[1])
        mediation.reach_agreement(MEDIATION_MARKS[2], "100.00", now.date() + timedelta(days=5), now, settings.tz)
        save_mediation(uow, mediation)
        [session] = [e for e in uow.events.load(mediation.stream_id) if e.event_type == "SessionHeld"]
    execute(
        env,
        "documents",
        "INSERT INTO documents_case_events (case_id, event_id, center_id, source, event_type, stream_version,"
        " occurred_at, data) VALUES (%s, %s, 'huaguangjie', 'mediation', 'SessionHeld', 3, now(), %s::jsonb)",
        (case_id, session.event_id, json.dumps(session.data, ensure_ascii=False)),
    )
    document = {"mediation": {"agreement": {"terms": MEDIATION_MARKS[2]}, "mediator": MEDIATION_MARKS[0]}}
    execute(
        env,
        "arbitration_link",
        "INSERT INTO case_files (case_id, center_id, document) VALUES (%s, 'huaguangjie', %s::jsonb)",
        (case_id, json.dumps(document, ensure_ascii=False)),
    )
    found = {table for _, table in found_in_databases(MEDIATION_MARKS, prefix)}
    assert found == {"events", "mediators", "documents_case_events", "case_files"}

    result = json.loads(support.cli("privacy", "migrate", env=env).stdout.strip().splitlines()[-1])
    assert result["rows_sealed"]["mediation.events"] == 4 and result["rows_sealed"]["mediation.mediators"] == 1
    assert found_in_databases(MEDIATION_MARKS, prefix) == {}

    sealed = mediation_bootstrap(config, env)
    with sealed.units_of_work() as uow:
        view = mediation_view(uow.load(Mediation, mediation.stream_id), settings)
        [listed] = roster(uow, Principal("district", None, "t"), {"center_id": "huaguangjie"})["mediators"]
    assert view["sessions"][0]["summary"] == MEDIATION_MARKS[1] and view["agreement"]["terms"] == MEDIATION_MARKS[2]
    assert view["mediator"]["mediator_name"] == MEDIATION_MARKS[0] == listed["name"]
    vault = Vault.from_env(env)
    conn = psycopg2.connect(database_url("arbitration_link", env))
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT document FROM case_files WHERE case_id = %s", (case_id,))
        [(copy,)] = cursor.fetchall()
    conn.close()
    assert vault.open(copy) == document

    support.cli("privacy", "erase", "--case", case_id, "--reason", "测试", env=env)
    with sealed.units_of_work() as uow:
        view = mediation_view(uow.load(Mediation, mediation.stream_id), settings)
    assert view["sessions"][0]["summary"] == "[已删除]" == view["agreement"]["terms"]
    assert view["mediator"]["mediator_name"] == MEDIATION_MARKS[0]  # the mediator's, not the case's
    assert vault.open(copy)["mediation"] == {"agreement": {"terms": "[已删除]"}, "mediator": MEDIATION_MARKS[0]}


REASONS = ("迁移不予受理理由", "迁移撤回理由")


def test_migrate_seals_intakes_clear_reasons_and_the_notice_that_quotes_one(district_env):
    """A refusal's and a withdrawal's reasons stored in clear before intake sealed them: migrated
    with the case's `text` key, in intake's events and in a not-accepted notice's sentence; the
    views read them whole, and an erasure of the case leaves them nowhere."""
    env, prefix = district_env
    config = service_config("intake", env)
    before_sealing = intake_before_sealing(env)
    case_ids = []
    for _ in REASONS:
        application = an_application(description="", received_at=datetime.now(UTC) - timedelta(hours=1))
        with before_sealing.units_of_work() as uow:
            case_ids.append(handlers.register_application(RegisterApplication(application=application), uow)["case_id"])
    refused, withdrawn = case_ids
    with before_sealing.units_of_work() as uow:
        handlers.decide_acceptance(
            DecideAcceptance(actor=None, case_id=refused, decision="reject", reason=REASONS[0]), uow
        )
        handlers.withdraw_application(WithdrawApplication(actor=None, case_id=withdrawn, reason=REASONS[1]), uow)
    content = {"title": "不予受理通知书", "blocks": [{"type": "p", "text": f"理由：{REASONS[0]}。"}]}
    execute(
        env,
        "documents",
        "INSERT INTO documents_issued (document_id, case_id, center_id, kind, number, issued_at, actor, pdf_sha256,"
        " content) VALUES (gen_random_uuid(), %s, 'huaguangjie', 'rejection_notice', 'N-2', now(), '{}', 'x', %s)",
        (refused, json.dumps(content, ensure_ascii=False)),
    )
    assert {table for _, table in found_in_databases(REASONS, prefix)} == {"events", "documents_issued"}

    result = json.loads(support.cli("privacy", "migrate", env=env).stdout.strip().splitlines()[-1])
    assert result["rows_sealed"]["documents.documents_issued"] == 1
    assert found_in_databases(REASONS, prefix) == {}
    sealed = bootstrap(config, env)
    with sealed.units_of_work() as uow:
        assert handlers.case_view(uow, None, refused)["decision"]["reason"] == REASONS[0]
        assert handlers.case_view(uow, None, withdrawn)["withdrawal"]["reason"] == REASONS[1]

    support.cli("privacy", "erase", "--case", refused, "--reason", "测试", env=env)
    with sealed.units_of_work() as uow:
        assert handlers.case_view(uow, None, refused)["decision"]["reason"] == "[已删除]"
    conn = psycopg2.connect(database_url("documents", env))
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT content FROM documents_issued WHERE case_id = %s", (refused,))
        [(stored,)] = cursor.fetchall()
    conn.close()
    assert Vault.from_env(env).open(stored)["blocks"][0]["text"] == "理由：[已删除]。"

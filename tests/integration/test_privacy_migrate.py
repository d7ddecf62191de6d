"""`tiaojie privacy migrate`: what intake stored in clear before sealing began, and the copies
the documents service and the link made of it (inside a document's sentences too), come
out sealed with the case's keys; the case still reads whole and is found by its ID number,
and an erasure then leaves the values nowhere. In a namespace of its own."""

import json
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from services.common.bootstrap import wire
from services.common.config import SERVICES, database_url, service_config
from services.common.db import drop_database
from services.common.keystore import Vault
from services.intake import handlers
from services.intake.bootstrap import bootstrap, intake_settings
from services.intake.commands import DecideAcceptance, RegisterApplication
from services.intake.domain import Case
from services.intake.records import PostgresIntakeRecords
from tests import support
from tests.integration.test_privacy_everywhere import found_in_databases
from tests.unit.test_intake_domain import an_application

NAME = "迁移标记人"
ID_NUMBER = "65010519800101003X"
PHONE = "13811112222"
MARKS = (NAME, ID_NUMBER, PHONE, "迁移标记公司", "迁移描述")


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


def test_migrate_seals_what_was_stored_in_clear_and_every_copy_of_it(district_env):
    env, prefix = district_env
    config = service_config("intake", env)
    before_sealing = wire(
        config,
        settings=intake_settings(config, env),
        repositories={"records": PostgresIntakeRecords},
        aggregates=(Case,),
    )
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

    result = json.loads(support.cli("privacy", "migrate", env=env).stdout.strip().splitlines()[-1])
    assert result["rows_sealed"]["intake.events"] == 2 and result["rows_sealed"]["documents.documents_issued"] == 1

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

"""Intake's records on the real database: their contract, and a case number drawn in the registering transaction."""

from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg2.extras
import pytest

from services.common.clock import FixedClock
from services.common.config import database_url
from services.common.db import Database
from services.common.unit_of_work import unit_of_work
from services.intake import handlers
from services.intake.commands import RegisterApplication
from services.intake.records import PostgresIntakeRecords
from tests.unit.test_intake_domain import an_application
from tests.unit.test_intake_records_contract import IntakeRecordsContract

SHANGHAI = ZoneInfo("Asia/Shanghai")


class RequestFailed(Exception):
    pass


@pytest.fixture
def database(infrastructure):
    database = Database(database_url("intake"))
    yield database
    database.close()


def register(database, settings, fail=False):
    # 2001: a year no other test registers in.
    application = an_application(center_id="zhenanjie", received_at=datetime(2001, 6, 1, 9, 0, tzinfo=SHANGHAI))
    repositories = {"records": PostgresIntakeRecords}
    clock = FixedClock(datetime(2001, 6, 1, 10, 0, tzinfo=SHANGHAI))  # keyed in the hour it was received
    with unit_of_work(database, clock, repositories=repositories, settings=settings) as uow:
        registered = handlers.register_application(RegisterApplication(application=application), uow)
        if fail:
            raise RequestFailed(registered["case_number"])
    return registered


def count(database, sql, *params):
    with database.transaction() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()["n"]


def test_a_rolled_back_registration_leaves_no_gap_and_no_trace(database):
    settings = handlers.IntakeSettings(zone=SHANGHAI)
    first = register(database, settings)

    with pytest.raises(RequestFailed) as failed:
        register(database, settings, fail=True)
    after = register(database, settings)

    sequence = int(first["case_number"].rsplit("-", 1)[1])
    assert str(failed.value) == after["case_number"] == f"ZAJ-2001-{sequence + 1:05d}"
    assert count(database, "SELECT count(*) AS n FROM intake_cases WHERE case_number = %s", after["case_number"]) == 1
    assert (
        count(database, "SELECT count(*) AS n FROM events WHERE data->>'case_number' = %s", after["case_number"]) == 1
    )


class TestPostgresIntakeRecords(IntakeRecordsContract):
    @pytest.fixture
    def records(self, database):
        """Records on one transaction, rolled back after the test: nothing stays behind."""
        with database.connection() as conn:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                yield PostgresIntakeRecords(cursor)
            conn.rollback()

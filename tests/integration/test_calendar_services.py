"""The district calendar through the running services, with a moved clock (FileOffsetClock).

Intake draws each case's deadline on the calendar; mediation opens it with that deadline
and expires it at 24:00 of its last day (recorded after the grace for late entries); `/ready` and `tiaojie status` say loudly when a
period reaches a year the calendar does not know. The module works in a database prefix
and a broker vhost of its own because it moves the services' clock by months.

The 2027 operator file used here is test data, not a holiday notice.
"""

import contextlib
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.common.calendar import build_calendar
from services.common.clock import FileOffsetClock
from services.common.config import SERVICES, database_url
from services.common.db import drop_database
from tests import support

TZ = ZoneInfo("Asia/Shanghai")
TEST_2027 = Path(__file__).parent.parent / "data" / "calendar_2027_test_only.json"


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


class District:
    """intake and mediation as one `tiaojie serve`, with their clock and a center's token."""

    def __init__(self, process, clock_file, token, env):
        self.process, self.clock_file, self.token, self.env = process, clock_file, token, env

    def move_to(self, moment):
        FileOffsetClock.move(self.clock_file, (moment - datetime.now(UTC)).total_seconds())
        time.sleep(0.05)

    def call(self, service, method, path, body=None):
        status, payload, _ = support.http(method, self.process.url(service) + path, body=body, token=self.token)
        return status, payload

    def receive(self):
        status, created = self.call(
            "intake",
            "POST",
            "/api/v1/cases",
            {
                "center_id": "huaguangjie",
                "channel": "walk_in",
                "source": "self",
                "category": "wages",
                "applicant": {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X"},
                "respondent": {"name": "某某建筑有限公司", "credit_code": "91350100M000100Y43"},
                "claims": [{"item": "拖欠工资", "amount": "12000.00"}],
                "workers_involved": 1,
                "description": "",
            },
        )
        assert status == 201, created
        return created

    def mediation(self, case_id, status=None):
        def seen():
            code, body = self.call("mediation", "GET", f"/api/v1/cases/{case_id}")
            return body if code == 200 and (status is None or body["status"] == status) else None

        return support.wait_for(seen, timeout=20, message=f"mediation {case_id} {status or ''}")


@contextlib.contextmanager
def district(tmp_path, name, calendar_file=None, kind=District):
    """A district of its own (databases, vhost, clock): its clock must not move another's cases.
    `kind`: the `District` class to answer with (another module's adds its own steps)."""
    own = f"{support.NAMESPACE}_cal_{name}"
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{own}",
        "AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{own}",
        "TIAOJIE_SWEEP_INTERVAL_SECONDS": "0.3",
        "TIAOJIE_CLOCK_FILE": str(tmp_path / f"clock-{name}"),
    }
    if calendar_file:
        env["TIAOJIE_CALENDAR_FILE"] = str(calendar_file)
    FileOffsetClock.move(env["TIAOJIE_CLOCK_FILE"], 0)

    def drop():
        support.rabbitmqctl("delete_vhost", own, check=False)
        for service in SERVICES:
            drop_database(database_url(service, env))

    drop()
    support.rabbitmqctl("add_vhost", own)
    support.rabbitmqctl("set_permissions", "-p", own, "guest", ".*", ".*", ".*")
    try:
        support.cli("setup", env=support.test_env(**env))
        token = support.cli("token", "issue", "--center", "huaguangjie", env=support.test_env(**env)).stdout.split()[-1]
        with support.ServiceProcess("intake", "mediation", env=env) as process:
            yield kind(process, env["TIAOJIE_CLOCK_FILE"], token, env)
    finally:
        drop()


@pytest.fixture(scope="module")
def package_only(infrastructure, tmp_path_factory):
    with district(tmp_path_factory.mktemp("calendar"), "package") as running:
        yield running


@pytest.fixture(scope="module")
def with_operator_file(infrastructure, tmp_path_factory):
    with district(tmp_path_factory.mktemp("calendar"), "operator", TEST_2027) as running:
        yield running


# (the rule, when the application is received, its deadline)
RECEIVED = [
    ("counted from the next day, ending 24:00", "2026-03-02 10:00", "2026-03-17"),
    ("a weekend last day rolls to Monday", "2026-03-06 09:00", "2026-03-23"),
    ("an adjusted working Sunday is a working day", "2026-09-05 09:00", "2026-09-20"),
    ("Spring Festival 2026", "2026-02-01 11:00", "2026-02-24"),
    ("National Day 2026", "2026-09-16 09:30", "2026-10-08"),
    ("into 2027, which the package does not know: weekends only", "2026-12-17 09:00", "2027-01-01"),
]


@pytest.mark.parametrize(("rule", "received", "deadline"), RECEIVED, ids=[r[0] for r in RECEIVED])
def test_intake_draws_the_deadline_on_the_calendar(package_only, rule, received, deadline):
    package_only.move_to(at(received))
    created = package_only.receive()
    assert created["mediation_deadline"] == deadline
    assert created["mediation_deadline_ends_at"] == (date.fromisoformat(deadline) + timedelta(days=1)).isoformat() + (
        "T00:00:00+08:00"
    )


def test_with_the_operator_file_2027_rolls_over_its_new_year(with_operator_file):
    with_operator_file.move_to(at("2026-12-17 09:00"))
    assert with_operator_file.receive()["mediation_deadline"] == "2027-01-04"
    for service in ("intake", "mediation"):
        status, ready, _ = support.http("GET", with_operator_file.process.url(service) + "/ready")
        assert status == 200 and "warning" not in ready["calendar"], ready
        assert ready["calendar"]["operator_years"] == [2027]


def test_a_year_outside_the_calendar_is_a_loud_warning_in_ready_status_and_log(package_only):
    package_only.move_to(at("2026-12-20 09:00"))
    package_only.receive()  # its period reaches into 2027
    for service in ("intake", "mediation"):
        status, ready, _ = support.http("GET", package_only.process.url(service) + "/ready")
        assert status == 200, ready
        assert ready["calendar"]["unknown_years"] == [2027] and "2027" in ready["calendar"]["warning"]
    log = Path(package_only.process.log_path).read_text()
    assert "CALENDAR" in log and "2027" in log
    urls = [f"--url={s}={package_only.process.url(s)}" for s in ("intake", "mediation")]
    shown = support.cli("status", *urls, env=support.test_env(**package_only.env), check=False, timeout=60).stdout
    assert "CALENDAR WARNING" in shown and "2027" in shown
    as_json = support.cli("status", "--json", *urls, env=support.test_env(**package_only.env), check=False, timeout=60)
    report = json.loads(as_json.stdout)
    assert "2027" in report["services"]["intake"]["calendar"]["warning"]


def test_mediation_keeps_the_deadline_and_expires_only_after_24_00_of_the_last_day(package_only):
    calendar = build_calendar(TZ)
    package_only.move_to(at("2026-09-16 09:30"))
    case_id = package_only.receive()["case_id"]
    status, _ = package_only.call("intake", "POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"})
    assert status == 200
    opened = package_only.mediation(case_id, "mediating")
    assert calendar.period_end(at("2026-09-16 09:30"), 15).isoformat() == "2026-10-08"
    assert opened["deadline"] == "2026-10-09T00:00:00+08:00"  # 24:00 of the last day
    package_only.move_to(at("2026-10-01 10:00"))  # the old code's deadline, inside the holiday
    time.sleep(1.5)
    assert package_only.mediation(case_id)["status"] == "mediating"
    package_only.move_to(at("2026-10-08 23:59"))
    status, agreed = package_only.call("mediation", "GET", f"/api/v1/cases/{case_id}")
    assert agreed["status"] == "mediating"
    package_only.move_to(at("2026-10-09 00:00:30"))
    time.sleep(1.5)  # the sweep waits TIAOJIE_EXPIRY_GRACE_HOURS (24) for late entries
    assert package_only.mediation(case_id)["status"] == "mediating"
    package_only.move_to(at("2026-10-10 00:00:30"))
    expired = package_only.mediation(case_id, "expired")
    assert expired["expired_at"] == "2026-10-09T00:00:00+08:00"

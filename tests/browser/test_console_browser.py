"""The staff console in Chromium against the whole system, its services as processes.

A clerk works a case from registration to agreement by clicking and typing; another
center's clerk cannot open it; a form without its CSRF token stores nothing; a locked
login stays locked. The browser runs in a child process (see `journeys`); its pictures
go to `TIAOJIE_SCREENSHOTS` (every page, `make screenshots`) or, on a failure only, to
a folder the failure names.
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from services.common.clock import SystemClock
from services.common.config import database_url, timezone_name
from services.common.db import Database
from services.console import accounts
from services.console.settings import account_settings
from services.simulate import identities
from tests import support
from tests.e2e.system_support import running_system

CENTER, OTHER_CENTER = "yushugou", "shuitashan"  # centers no other e2e test measures
PASSWORD = "browser test password"

system = pytest.fixture(scope="module", name="system")(running_system)


def district_today():
    """Today where the console counts days (the district's zone, not the machine's)."""
    return datetime.now(ZoneInfo(timezone_name())).date()


@pytest.fixture(scope="module")
def people(system):
    """Two clerks of two centers and one whose login the test locks, created as an admin would."""
    database = Database(database_url("console"), max_connections=2)
    store = accounts.PostgresAccountStore(database, SystemClock(), account_settings(), accounts.Passwords())
    suffix = random.Random().randrange(10**6)
    made = {}
    for key, name, role, center in (
        ("clerk", "张登记", "staff", CENTER),
        ("other_clerk", "李登记", "staff", OTHER_CENTER),
        ("locked", "王锁定", "staff", CENTER),
        ("head", "赵主任", "head", CENTER),
        ("district", "钱区级", "district", None),
        ("admin", "孙管理", "admin", None),
    ):
        login = f"{key}.{suffix}"
        accounts.create_account(store, login, name, role, center, password=PASSWORD)
        made[key] = {"login": login, "password": PASSWORD, "name": name}
    made["newcomer"] = {"login": f"newcomer.{suffix}", "password": "a new password", "name": "周新人"}
    yield made
    database.close()


@pytest.fixture(scope="module")
def screens():
    """`(folder, every_page)`: `TIAOJIE_SCREENSHOTS`, or a temporary folder that keeps only failures."""
    folder = os.environ.get("TIAOJIE_SCREENSHOTS")
    if folder:
        yield Path(folder).resolve(), True
        return
    temporary = Path(tempfile.mkdtemp(prefix=f"{support.NAMESPACE}-screens-"))
    yield temporary, False
    if not any(temporary.iterdir()):
        temporary.rmdir()


def run_journey(name, settings, screens):
    folder, every_page = screens
    settings = {**settings, "screens": str(folder), "all_screens": every_page}
    result = subprocess.run(
        [sys.executable, "-m", "tests.browser.journeys", name, json.dumps(settings, ensure_ascii=False)],
        cwd=support.ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert result.stdout.strip(), f"the browser printed nothing: {result.stderr[-3000:]}"
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"], f"{outcome['error']} at {outcome['url']}; screenshot: {outcome['failure_screen']}"
    return outcome["seen"]


def test_a_clerk_works_a_case_from_registration_to_agreement_in_the_browser(system, people, screens):
    rng = random.Random()
    applicant = identities.worker(rng, date.today())
    applicant["name"] = "浏览" + applicant["name"]
    mediator_id = system.mediator(CENTER)
    seen = run_journey(
        "clerk",
        {
            "base": system.url("console"),
            "clerk": people["clerk"],
            "applicant": {"name": applicant["name"], "id_number": applicant["id_number"], "phone": "13912345678"},
            "respondent": identities.employer(rng),
            "mediator_id": mediator_id,
            "performance_due": (district_today() + timedelta(days=2)).isoformat(),
            "documents": "documents" in system.processes,
        },
        screens,
    )
    case = system.call("intake", "GET", f"/api/v1/cases/{seen['case_id']}")
    assert case["case_number"] == seen["case_number"] and case["applicant"]["name"] == applicant["name"]
    assert [c["amount"] for c in case["claims"]] == ["12000.00", "3000.50"]
    assert system.mediation_case(seen["case_id"], status="agreement")["agreement"]["amount"] == "9000.00"
    # Every step names the clerk who took it, in the services' histories and on the page.
    history = system.call("intake", "GET", f"/api/v1/cases/{seen['case_id']}/history")["events"]
    assert {e["actor"]["login"] for e in history} == {people["clerk"]["login"]}
    assert people["clerk"]["name"] in seen["timeline"]
    if "documents" in system.processes:
        assert seen["document_pdf"] == [200, "application/pdf", "%PDF-"]


def test_another_centers_case_a_form_without_its_csrf_token_and_a_locked_login(system, people, screens):
    foreign = system.receive(CENTER)
    marker = f"无令牌{random.Random().randrange(10**6)}"
    seen = run_journey(
        "boundaries",
        {
            "base": system.url("console"),
            "other_clerk": people["other_clerk"],
            "locked": people["locked"],
            "foreign_case_id": foreign,
            "csrf_marker": marker,
        },
        screens,
    )
    assert seen["foreign_case_status"] == 403
    assert (
        system.call("intake", "GET", f"/api/v1/cases/{foreign}")["applicant"]["name"] not in seen["foreign_case_text"]
    )
    assert seen["without_csrf_status"] == 403
    assert (
        system.call("intake", "GET", "/api/v1/cases?" + urlencode({"q": marker}), token=system.district_token)["total"]
        == 0
    )
    assert "登录尝试过多，请于" in seen["locked_text"] and seen["locked_url"].endswith("/login")
    # A name that is no account is throttled with the same words (minutes aside).
    assert re.sub(r"\d+", "N", seen["unknown_locked_text"]) == re.sub(r"\d+", "N", seen["locked_text"])
    assert seen["session_cookies"] == []


def test_accounts_first_login_disabling_the_roster_and_the_district_view(system, people, screens):
    expires = district_today() + timedelta(days=20)
    seen = run_journey(
        "offices",
        {
            "base": system.url("console"),
            **{key: people[key] for key in ("admin", "head", "district", "newcomer")},
            "center_id": CENTER,
            "center_name": "榆树沟街道办事处",
            "mediator_name": "吴将到期",
            "certificate_no": f"BR{random.Random().randrange(10**6):06d}",
            "certificate_expires": expires.isoformat(),
        },
        screens,
    )
    assert seen["disabled_url"].endswith("/login")  # the disabled person's session ended with the account
    assert "证书将在 20 天后到期" in seen["roster_row"]
    assert not seen["district_can_register"]
    for words in (
        "已答复",
        "已安排专人接待，向您致歉",
        "答复时间",
        "答复人",
        f"{people['head']['name']}（中心负责人）",
    ):
        assert words in seen["complaint_answered"]
    assert "已安排专人接待，向您致歉" in seen["district_complaints"] and "待答复" in seen["district_complaints"]
    roster = system.call("mediation", "GET", f"/api/v1/mediators?center_id={CENTER}")["mediators"]
    assert any(m["name"] == "吴将到期" and m["certificate_expires"] == expires.isoformat() for m in roster)

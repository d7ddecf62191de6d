"""People's accounts across the real system: the console's store, `console.events`, every service.

Every service runs in one process (`tiaojie serve ...` of all of them), as `serve all`
does; accounts are made with the CLI and logged in through the accounts API on the
console's database, as the console's pages do. What is checked is what each service
answers to the person's bearer, and what its events say about who acted.
"""

import uuid
from datetime import date, timedelta
from pathlib import Path

import kombu
import psycopg2
import psycopg2.extras
import pytest

from services import registry
from services.common.clock import FileOffsetClock, clock_from_config
from services.common.config import database_url
from services.common.db import Database
from services.console import accounts
from tests import support

CENTER, OTHER_CENTER = "huaguangjie", "longshengjie"
CASE_SERVICES = ("intake", "mediation", "arbitration_link", "metrics")
PASSWORD = "初始口令-demo-1"
# How long a service may take to learn of a credential from the console's events (milliseconds
# when the machine is idle; much longer while other suites load it).
WAIT_SECONDS = 45


@pytest.fixture(scope="module")
def clock_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("clock") / "clock"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def system(infrastructure, tokens, clock_file):
    names = registry.available_services()
    with support.ServiceProcess(*names, env={"TIAOJIE_CLOCK_FILE": str(clock_file)}) as process:
        yield process


@pytest.fixture(scope="module")
def store(infrastructure, clock_file):
    database = Database(database_url("console"), max_connections=2)
    yield accounts.PostgresAccountStore(
        database, clock_from_config({"CLOCK_FILE": str(clock_file)}), passwords=accounts.Passwords()
    )
    database.close()


def cli(*args, clock_file=None, stdin=None):
    import subprocess
    import sys

    env = support.test_env(**({"TIAOJIE_CLOCK_FILE": str(clock_file)} if clock_file else {}))
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=support.ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def new_account(role, center=None, clock_file=None):
    """An account made by the CLI with a known password: its login."""
    login = f"{role}-{uuid.uuid4().hex[:8]}"
    args = ["account", "add", login, "--name", f"测试{role}", "--role", role, "--password-stdin"]
    result = cli(*args, *(["--center", center] if center else []), clock_file=clock_file, stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    return login


def call(system, service, method, path, bearer, body=None):
    status, payload, _ = support.http(method, system.url(service) + path, body=body, token=bearer)
    return status, payload


def known_everywhere(system, bearer):
    """What the console does after a login: waits until every service knows the bearer."""
    for service in system.services:
        support.wait_for(
            lambda service=service: call(system, service, "GET", "/api/v1/me", bearer)[0] == 200,
            timeout=WAIT_SECONDS,
            message=f"{service} knows the credential",
        )


def refused_everywhere(system, bearer):
    for service in system.services:
        support.wait_for(
            lambda service=service: call(system, service, "GET", "/api/v1/me", bearer)[0] == 401,
            timeout=WAIT_SECONDS,
            message=f"{service} refuses the credential",
        )


def logged_in(system, store, role, center=None):
    login = new_account(role, center)
    result = accounts.login(store, login, PASSWORD, store.clock.now())
    known_everywhere(system, result.session_secret)
    return result


def application(center_id=CENTER):
    return {
        "center_id": center_id,
        "channel": "walk_in",
        "source": "self",
        "category": "wages",
        "applicant": {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X"},
        "respondent": {"name": "某某建筑有限公司", "credit_code": "91350100M000100Y43"},
        "claims": [{"item": "拖欠工资", "amount": "12000.00"}],
        "workers_involved": 1,
        "description": "三个月工资未发",
    }


def case_count(center_id=CENTER):
    with psycopg2.connect(database_url("intake")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM intake_cases WHERE center_id = %s", (center_id,))
        return cur.fetchone()[0]


def console_events(event_type):
    conn = psycopg2.connect(database_url("console"), cursor_factory=psycopg2.extras.RealDictCursor)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT data FROM events WHERE event_type = %s ORDER BY position", (event_type,))
            return [row["data"] for row in cur.fetchall()]
    finally:
        conn.close()


# --- who did it ----------------------------------------------------------------------------


def test_the_history_names_the_person_behind_every_step(system, store):
    clerk = logged_in(system, store, "staff", CENTER)
    head = logged_in(system, store, "head", CENTER)
    person = {
        "account_id": clerk.account.account_id,
        "login": clerk.account.login,
        "name": "测试staff",
        "role": "staff",
    }
    me = call(system, "intake", "GET", "/api/v1/me", clerk.session_secret)[1]
    assert me["actor"] == person and me["center_id"] == CENTER

    status, created = call(system, "intake", "POST", "/api/v1/cases", clerk.session_secret, application())
    assert status == 201, created
    case_id = created["case_id"]
    status, _ = call(
        system, "intake", "POST", f"/api/v1/cases/{case_id}/acceptance", clerk.session_secret, {"decision": "accept"}
    )
    assert status == 200
    expires = (date.today() + timedelta(days=400)).isoformat()
    status, mediator = call(
        system,
        "mediation",
        "POST",
        "/api/v1/mediators",
        head.session_secret,
        {
            "center_id": CENTER,
            "name": "调解员甲",
            "certificate_no": f"T{uuid.uuid4().hex[:8]}",
            "certificate_expires": expires,
            "full_time": True,
        },
    )
    assert status == 201, mediator
    support.wait_for(
        lambda: call(system, "mediation", "GET", f"/api/v1/cases/{case_id}", clerk.session_secret)[0] == 200,
        message="mediation opened the case",
    )
    status, _ = call(
        system,
        "mediation",
        "POST",
        f"/api/v1/cases/{case_id}/assignment",
        clerk.session_secret,
        {"mediator_id": mediator["mediator_id"]},
    )
    assert status == 200

    status, history = call(system, "intake", "GET", f"/api/v1/cases/{case_id}/history", clerk.session_secret)
    assert status == 200
    assert [(e["event_type"], e["actor"]) for e in history["events"]] == [
        ("ApplicationReceived", person),
        ("CaseAccepted", person),
    ]
    with psycopg2.connect(database_url("mediation")) as conn, conn.cursor() as cur:
        cur.execute("SELECT event_type, actor FROM events WHERE case_id = %s ORDER BY position", (case_id,))
        steps = cur.fetchall()
    # Mediation opens the case because of the clerk's acceptance: the same person; the clerk's
    # read of the mediation is a look by them too (MediationViewed).
    assert steps == [("MediationOpened", person), ("MediationViewed", person), ("MediatorAssigned", person)]


def test_a_machine_token_is_named_as_a_token(system, tokens):
    status, created = call(system, "intake", "POST", "/api/v1/cases", tokens[CENTER], application())
    assert status == 201
    history = call(system, "intake", "GET", f"/api/v1/cases/{created['case_id']}/history", tokens[CENTER])[1]
    assert history["events"][0]["actor"] == {"token": f"center:{CENTER}"}


# --- rights by role --------------------------------------------------------------------------


def test_each_role_has_the_rights_of_contracts_7(system, store):
    clerk = logged_in(system, store, "staff", CENTER)
    district = logged_in(system, store, "district")
    admin = logged_in(system, store, "admin")
    mediator = {
        "center_id": CENTER,
        "name": "调解员乙",
        "certificate_no": "T1",
        "certificate_expires": (date.today() + timedelta(days=400)).isoformat(),
        "full_time": True,
    }
    before = case_count(OTHER_CENTER)
    assert call(system, "intake", "POST", "/api/v1/cases", clerk.session_secret, application(OTHER_CENTER))[0] == 403
    assert call(system, "mediation", "POST", "/api/v1/mediators", clerk.session_secret, mediator)[0] == 403
    assert call(system, "intake", "GET", f"/api/v1/cases?center_id={OTHER_CENTER}", district.session_secret)[0] == 200
    assert call(system, "intake", "POST", "/api/v1/cases", district.session_secret, application())[0] == 403
    assert call(system, "intake", "GET", f"/api/v1/cases?center_id={CENTER}", admin.session_secret)[0] == 403
    assert call(system, "intake", "POST", "/api/v1/cases", admin.session_secret, application())[0] == 403
    assert case_count(OTHER_CENTER) == before


# --- ending credentials --------------------------------------------------------------------------


def test_disabling_an_account_refuses_its_session_and_token_in_every_service(system, store):
    clerk = logged_in(system, store, "staff", CENTER)
    token = cli("token", "issue", "--account", clerk.account.login).stdout.strip().splitlines()[-1]
    known_everywhere(system, token)
    result = cli("account", "disable", clerk.account.login)
    assert result.returncode == 0, result.stderr
    refused_everywhere(system, clerk.session_secret)
    refused_everywhere(system, token)
    before = case_count()
    assert call(system, "intake", "POST", "/api/v1/cases", token, application())[0] == 401
    assert case_count() == before
    with pytest.raises(accounts.LoginRefused):
        accounts.login(store, clerk.account.login, PASSWORD, store.clock.now())


def test_a_session_used_after_logout_gets_401_and_stores_nothing(system, store):
    clerk = logged_in(system, store, "staff", CENTER)
    accounts.end_session(store, clerk.session_secret, store.clock.now())
    refused_everywhere(system, clerk.session_secret)
    before = case_count()
    assert call(system, "intake", "POST", "/api/v1/cases", clerk.session_secret, application())[0] == 401
    assert case_count() == before
    assert accounts.session(store, clerk.session_secret, store.clock.now()) is None


@pytest.mark.parametrize("who", ["wrong password", "unknown login"])
def test_a_refused_login_starts_no_session(system, store, who):
    login = new_account("staff", CENTER)
    sessions = len(console_events("SessionStarted"))
    with pytest.raises(accounts.LoginRefused):
        if who == "wrong password":
            accounts.login(store, login, "not the password", store.clock.now())
        else:
            accounts.login(store, "nobody-" + login, PASSWORD, store.clock.now())
    assert len(console_events("SessionStarted")) == sessions


def test_a_revoked_personal_token_gets_401_everywhere(system, store):
    login = new_account("staff", CENTER)
    token = cli("token", "issue", "--account", login, "--days", "5").stdout.strip().splitlines()[-1]
    known_everywhere(system, token)
    result = cli("token", "revoke", token[:11])
    assert result.returncode == 0 and "revoked 1 token(s)" in result.stdout, result.stdout + result.stderr
    refused_everywhere(system, token)


def test_a_machine_token_is_revoked_in_every_service_by_one_command(system):
    token = support.issue_token("--center", CENTER)
    assert all(call(system, s, "GET", "/api/v1/me", token)[0] == 200 for s in system.services)
    result = cli("token", "revoke", token[3:12])
    assert result.returncode == 0, result.stderr
    refused_everywhere(system, token)


def test_sessions_and_tokens_expire_in_every_service(system, store, clock_file):
    clerk = logged_in(system, store, "staff", CENTER)
    login = new_account("staff", CENTER)
    token = cli("token", "issue", "--account", login, "--days", "1", clock_file=clock_file)
    token = token.stdout.strip().splitlines()[-1]
    known_everywhere(system, token)
    try:
        FileOffsetClock.move(str(clock_file), 12 * 3600 + 60)
        refused_everywhere(system, clerk.session_secret)
        assert accounts.session(store, clerk.session_secret, store.clock.now()) is None
        FileOffsetClock.move(str(clock_file), 24 * 3600 + 60)
        refused_everywhere(system, token)
    finally:
        FileOffsetClock.move(str(clock_file), 0)


def test_passwords_and_secrets_never_reach_a_log_or_the_bus(system, store):
    with support.amqp_connection() as conn:
        channel = conn.channel()
        queue = kombu.Queue(
            f"test-console-events-{uuid.uuid4().hex[:8]}",
            exchange=kombu.Exchange("console.events", type="topic", durable=True),
            routing_key="#",
            exclusive=True,
        )
        queue = queue(channel)
        queue.declare()
        clerk = logged_in(system, store, "staff", CENTER)
        accounts.change_password(store, clerk.account.account_id, PASSWORD, "另一个新的口令-2", store.clock.now())
        accounts.end_session(store, clerk.session_secret, store.clock.now())
        refused_everywhere(system, clerk.session_secret)
        bodies = []

        def drained():
            while (message := queue.get(no_ack=True)) is not None:
                bodies.append(message.body if isinstance(message.body, str) else message.body.decode())
            return any('"SessionEnded"' in body for body in bodies)

        support.wait_for(drained, message="the console's events on the bus")
    published = "\n".join(bodies)
    assert '"PasswordChanged"' in published and '"SessionStarted"' in published
    for secret in (PASSWORD, "另一个新的口令-2", clerk.session_secret, "password_hash", "$argon2"):
        assert secret not in published
    log = Path(system.log_path).read_text(errors="replace")
    assert PASSWORD not in log and clerk.session_secret not in log

"""Failed logins through the running console (real PostgreSQL): a login name that is no
account is throttled as an account is, and known and unknown names get the same answer.

The console runs as `tiaojie serve console`; the form is posted as a browser does (the
pre-login cookie and its CSRF token). The accounts are made in the console's store with
the service's own argon2 parameters, so the timing compared is the real one.
"""

import http.cookies
import re
import statistics
import time
import urllib.parse
import uuid

import psycopg2
import pytest

from services.common.config import database_url
from services.common.db import Database
from services.console import accounts
from tests import support

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def console(infrastructure):
    # The address limit (50) is the unit tests' business: here every request comes from 127.0.0.1.
    with support.ServiceProcess("console", env={"TIAOJIE_LOGIN_FAILURES_PER_ADDRESS": "1000"}) as process:
        yield process


@pytest.fixture(scope="module")
def store(infrastructure):
    database = Database(database_url("console"), max_connections=2)
    yield accounts.PostgresAccountStore(database, passwords=accounts.Passwords())
    database.close()


def new_login(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def known(store):
    login = new_login("known")
    accounts.create_account(store, login, "测试人员", "staff", "huaguangjie", password=PASSWORD)
    return login


class Browser:
    """The pre-login cookie and its CSRF token, as the login page hands them out."""

    def __init__(self, console):
        self.url = console.url() + "/login"
        status, page, headers = support.http("GET", self.url)
        assert status == 200
        cookie = http.cookies.SimpleCookie(headers["Set-Cookie"])
        self.cookie = f"tj_login={cookie['tj_login'].value}"
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def login(self, name, password):
        form = urllib.parse.urlencode({"login": name, "password": password, "csrf_token": self.csrf})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie}
        started = time.perf_counter()
        status, page, response_headers = support.http("POST", self.url, body=form, headers=headers)
        return status, page, response_headers, time.perf_counter() - started


def problem(page):
    found = re.search(r'<div class="error-summary".*?<p>(.*?)</p>', page, re.S)
    return found.group(1) if found else None


def without_clock_time(messages):
    return [re.sub(r"（\d\d:\d\d 以后）", "（HH:MM 以后）", message) for message in messages]


def test_the_sixth_failure_of_an_unknown_name_is_throttled_as_a_known_ones(console, store):
    browser = Browser(console)
    unknown, account = new_login("nobody"), known(store)
    seen = {}
    for name in (unknown, account):
        seen[name] = [problem(browser.login(name, "wrong password")[1]) for _ in range(6)]
    # The clock time in the lock message is when that name's lock ends: the two names were
    # locked a moment apart, on either side of a minute's turn at times.
    assert without_clock_time(seen[unknown]) == without_clock_time(seen[account])
    assert seen[unknown][:4] == ["登录名或密码不正确"] * 4
    assert re.fullmatch(r"登录尝试过多，请于 1[45] 分钟后（\d\d:\d\d 以后）再试。", seen[unknown][5])
    # While locked, the right password of the account does not get in either.
    status, page, headers, _ = browser.login(account, PASSWORD)
    assert status == 200 and problem(page).startswith("登录尝试过多") and "tj_session" not in str(headers)


def test_known_and_unknown_names_get_the_same_answer(console, store):
    browser = Browser(console)
    answers = []
    for name in (known(store), new_login("nobody")):
        status, page, headers, _ = browser.login(name, "wrong password")
        answers.append((status, page.replace(name, "NAME"), headers.get("Set-Cookie")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and problem(answers[0][1]) == "登录名或密码不正确"


def test_an_unknown_name_takes_about_as_long_as_a_wrong_password(console, store):
    browser = Browser(console)
    names = [known(store) for _ in range(3)]
    timings = {"known": [], "unknown": []}
    for _ in range(3):  # interleaved, three failures per name: none locks
        for name in names:
            timings["known"].append(browser.login(name, "wrong password")[3])
            timings["unknown"].append(browser.login(new_login("nobody"), "wrong password")[3])
    known_time, unknown_time = (statistics.median(timings[k]) for k in ("known", "unknown"))
    # argon2 dominates both; without the decoy an unknown name answered in a fraction of it.
    assert unknown_time > 0.5 * known_time, timings


def test_the_counters_hold_no_name_in_clear(console, store):
    name = new_login("nobody")
    Browser(console).login(name, "wrong password")
    with psycopg2.connect(database_url("console")) as conn, conn.cursor() as cur:
        cur.execute("SELECT key FROM console_login_failures")
        keys = [row[0] for row in cur.fetchall()]
    assert keys and all(re.fullmatch(r"(name|address):[0-9a-f]{64}", key) for key in keys)
    assert not any(name in key or "127.0.0.1" in key for key in keys)

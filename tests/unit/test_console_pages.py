"""The console's pages on the in-memory account store and a fake of the services' APIs.

Each page method is called as nameko would call it, with a werkzeug request; the fake
services behave (they store a registered case and answer for it) and record every call,
so a test can say "nothing was sent".
"""

import re
from datetime import UTC, datetime

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.clock import FixedClock
from services.console import accounts
from services.console.backend import Answer
from services.console.pages import ConsolePages
from services.console.web import LOGIN_COOKIE, SESSION_COOKIE, WebSettings, csrf_token

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


class FakeServices:
    """intake's and mediation's APIs, just enough to behave: a case registered can be read back."""

    def __init__(self):
        self.calls = []
        self.queries = []  # (service, path, params) of each GET
        self.cases = {}
        self.refuse = {}  # (method, path) -> Answer
        self.answers = {}  # (service, method, path) -> Answer
        self.issued = {}
        self.looks = {}  # case_id -> [look]
        self.mediations = {}  # case_id -> the mediation as mediation's GET answers it
        self.mediation_rows = []  # the lines of mediation's case list (the workbench's)
        self.documents = documents_of(self)

    def backends(self, bearer):
        services = self

        class Bound:
            def get(self, service, path, **params):
                return services.handle(bearer, service, "GET", path, None, params)

            def post(self, service, path, body, idempotency_key=None):
                return services.handle(bearer, service, "POST", path, body, {})

        return Bound()

    def handle(self, bearer, service, method, path, body, params):
        self.calls.append((service, method, path, body))
        if method == "GET":
            self.queries.append((service, path, params))
        if (method, path) in self.refuse:
            return self.refuse[(method, path)]
        if (service, method, path) in self.answers:  # one service's answer to one call
            return self.answers[(service, method, path)]
        if path == "/api/v1/me":
            return Answer(200, {})
        if service == "intake" and method == "POST" and path == "/api/v1/cases":
            errors = {}
            if not body.get("applicant", {}).get("name"):
                errors["applicant.name"] = ["Missing data for required field."]
            for i, claim in enumerate(body.get("claims", [])):
                if "amount" in claim and not re.match(r"^\d+(\.\d{1,2})?$", claim["amount"]):
                    errors[f"claims.{i}.amount"] = ["Must be a non-negative amount with at most two decimal places."]
            if errors:
                return Answer(422, {"errors": errors})
            case_id = f"00000000-0000-0000-0000-{len(self.cases) + 1:012d}"
            self.cases[case_id] = {
                **body,
                "case_id": case_id,
                "case_number": f"HGJ-2026-{len(self.cases) + 1:04d}",
                "status": "received",
                "received_at": NOW.isoformat(),
                "mediation_deadline": "2026-03-17T10:00:00+08:00",
                "claimed_total": "0.00",
                "collective": False,
                "decision": None,
                "withdrawal": None,
            }
            return Answer(201, {"case_id": case_id})
        if service == "intake" and method == "GET" and path == "/api/v1/cases":
            rows = [c for c in self.cases.values() if params.get("status") in (None, c["status"])]
            return Answer(200, {"cases": rows, "total": len(rows), "page": 1})
        found = re.match(r"/api/v1/cases/([^/]+)(/.*)?$", path)
        if found and service == "intake":
            case = self.cases.get(found.group(1))
            if case is None:
                return Answer(404, {})
            if found.group(2) == "/history":
                return Answer(200, {"events": []})
            if found.group(2) == "/looks":
                return Answer(200, {"case_id": case["case_id"], "looks": self.looks.get(case["case_id"], [])})
            if found.group(2) == "/acceptance":
                case["status"] = "accepted"
            return Answer(200, case)
        if service == "documents":
            return self.documents(method, path, body)
        if service == "mediation" and method == "GET" and path == "/api/v1/cases":
            return Answer(200, {"cases": [m for m in self.mediation_rows if m["status"] == params.get("status")]})
        if found and service == "mediation" and found.group(1) in self.mediations:
            if method == "GET" and found.group(2) == "/history":
                return Answer(200, {"events": []})
            if method == "GET" and not found.group(2):
                return Answer(200, self.mediations[found.group(1)])
        if service == "arbitration_link":
            return Answer(200, {"referrals": []})
        return Answer(404, {})


def documents_of(services):
    """The documents service of §8 in the fake: one notice per accepted case, its PDF by id."""

    def handle(method, path, body):
        found = re.match(r"/api/v1/cases/([^/]+)/documents$", path)
        if found and method == "GET":
            case = services.cases.get(found.group(1))
            if case is None:
                return Answer(404, {})
            allowed = ["acceptance_notice"] if case["status"] == "accepted" else []
            return Answer(200, {"documents": services.issued.get(case["case_id"], []), "kinds_allowed": allowed})
        if found and method == "POST":
            case = services.cases[found.group(1)]
            if body["kind"] != "acceptance_notice" or case["status"] != "accepted":
                return Answer(409, {"error": "conflict", "status": case["status"]})
            document = {
                "document_id": "d-1",
                "kind": body["kind"],
                "number": "华光街劳调受字〔2026〕第1号",
                "issued_at": NOW.isoformat(),
                "actor": {"name": "李明"},
            }
            services.issued.setdefault(case["case_id"], []).append(document)
            return Answer(201, document)
        if path == "/api/v1/documents/d-1.pdf":
            return Answer(200, {}, b"%PDF-1.7 notice", "application/pdf", 'inline; filename="notice.pdf"')
        return Answer(404, {})

    return handle


class Console(ConsolePages):
    """The pages with the fakes where the service has its dependencies."""

    def __init__(self, services):
        self.accounts = accounts.InMemoryAccountStore(clock=FixedClock(NOW))
        self.web = WebSettings(env={}, zone_name="Asia/Shanghai")
        self.web.backends = services.backends


@pytest.fixture
def services():
    return FakeServices()


@pytest.fixture
def console(services):
    console = Console(services)
    accounts.create_account(console.accounts, "li.ming", "李明", "staff", "huaguangjie", password="correct horse")
    return console


def request(method, path, form=None, cookies=None):
    builder = EnvironBuilder(method=method, path=path, data=form)
    for name, value in (cookies or {}).items():
        builder.headers.add("Cookie", f"{name}={value}")
    return Request(builder.get_environ())


def signed_in(console):
    return accounts.login(console.accounts, "li.ming", "correct horse", NOW).session_secret


def text(response):
    return response.get_data(as_text=True)


def test_a_login_sets_an_httponly_lax_session_cookie_and_goes_to_the_workbench(console):
    response = console.login(
        request(
            "POST",
            "/login",
            {"login": "li.ming", "password": "correct horse", "csrf_token": csrf_token("pre")},
            {LOGIN_COOKIE: "pre"},
        )
    )
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_when_configured(console):
    console.web.cookie_secure = True
    response = console.login(
        request(
            "POST",
            "/login",
            {"login": "li.ming", "password": "correct horse", "csrf_token": csrf_token("pre")},
            {LOGIN_COOKIE: "pre"},
        )
    )
    assert all("Secure" in c for c in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("login, password", [("li.ming", "wrong"), ("nobody", "correct horse")])
def test_a_failed_login_shows_one_message_and_sets_no_session(console, login, password):
    response = console.login(
        request(
            "POST",
            "/login",
            {"login": login, "password": password, "csrf_token": csrf_token("pre")},
            {LOGIN_COOKIE: "pre"},
        )
    )
    assert response.status_code == 200
    assert "登录名或密码不正确" in text(response)
    assert not any(c.startswith(SESSION_COOKIE) for c in response.headers.getlist("Set-Cookie"))


def test_a_login_without_its_csrf_token_is_refused(console):
    response = console.login(
        request("POST", "/login", {"login": "li.ming", "password": "correct horse"}, {LOGIN_COOKIE: "pre"})
    )
    assert response.status_code == 403
    assert "SessionStarted" not in [e.event_type for e in console.accounts.events]


def test_the_login_form_has_labelled_fields_and_a_csrf_token(console):
    response = console.login_form(request("GET", "/login"))
    page = text(response)
    for name in ("login", "password"):
        assert f'<label for="{name}">' in page and f'name="{name}"' in page
    assert 'name="csrf_token"' in page and 'lang="zh-CN"' in page
    assert any(c.startswith(LOGIN_COOKIE) for c in response.headers.getlist("Set-Cookie"))


def test_without_a_session_every_page_goes_to_login(console):
    for page, path in ((console.workbench, "/"), (console.registration_form, "/cases/new")):
        response = page(request("GET", path, cookies={SESSION_COOKIE: "not-a-session"}))
        assert response.status_code == 303 and response.headers["Location"] == "/login"


def test_a_form_without_the_sessions_csrf_token_is_refused_and_nothing_is_sent(console, services):
    secret = signed_in(console)
    form = {"applicant.name": "张三", "claims.0.item": "工资", "claims.0.amount": "100.00"}
    response = console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    assert response.status_code == 403
    response = console.register(
        request("POST", "/cases/new", {**form, "csrf_token": csrf_token("other")}, {SESSION_COOKIE: secret})
    )
    assert response.status_code == 403
    assert not [c for c in services.calls if c[1] == "POST"]


def test_registration_sends_the_nested_application_and_confirms_with_number_and_deadline(console, services):
    secret = signed_in(console)
    form = {
        "csrf_token": csrf_token(secret),
        "form_key": "k1",
        "channel": "walk_in",
        "source": "self",
        "category": "wages",
        "applicant.name": "张三",
        "applicant.id_type": "resident_id",
        "applicant.id_number": "11010519491231002X",
        "applicant.phone": "",
        "respondent.name": "某某公司",
        "claims.0.item": "拖欠工资",
        "claims.0.amount": "12000.00",
        "claims.1.item": "",
        "claims.1.amount": "",
        "claims.2.item": "经济补偿",
        "claims.2.amount": "3000.50",
        "workers_involved": "12",
        "received_at": "2026-03-02T09:30",
        "description": "",
    }
    response = console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    assert response.status_code == 303
    sent = [c[3] for c in services.calls if c[:3] == ("intake", "POST", "/api/v1/cases")][0]
    assert sent["applicant"] == {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X"}
    assert sent["claims"] == [{"item": "拖欠工资", "amount": "12000.00"}, {"item": "经济补偿", "amount": "3000.50"}]
    assert sent["workers_involved"] == 12 and sent["center_id"] == "huaguangjie"
    assert sent["received_at"] == "2026-03-02T09:30:00+08:00"
    confirmation = console.case_page(
        request("GET", response.headers["Location"], cookies={SESSION_COOKIE: secret}),
        case_id=response.headers["Location"].split("/")[2].split("?")[0],
    )
    page = text(confirmation)
    assert "申请已登记" in page and "HGJ-2026-0001" in page and "2026-03-17" in page


def test_a_refused_registration_shows_chinese_errors_beside_the_fields_and_keeps_what_was_typed(console, services):
    secret = signed_in(console)
    form = {
        "csrf_token": csrf_token(secret),
        "applicant.name": "",
        "respondent.name": "某某公司",
        "claims.0.item": "",
        "claims.0.amount": "",
        "claims.1.item": "加班费",
        "claims.1.amount": "12,000",
    }
    response = console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    page = text(response)
    assert response.status_code == 422
    assert 'href="#applicant.name"' in page and 'href="#claims.1.amount"' in page  # the summary links to the fields
    assert "此项必须填写" in page and "金额应为不小于 0 的数字" in page
    assert 'id="claims.1.amount-error"' in page
    assert 'value="12,000"' in page and 'value="某某公司"' in page
    assert "Missing data" not in page and "at most two decimal places" not in page
    assert not services.cases


def test_the_workbench_lists_a_case_awaiting_acceptance_with_its_deadline_in_words(console, services):
    secret = signed_in(console)
    form = {
        "csrf_token": csrf_token(secret),
        "applicant.name": "张三",
        "respondent.name": "某某公司",
        "claims.0.item": "工资",
        "claims.0.amount": "1.00",
        "category": "wages",
        "channel": "walk_in",
    }
    console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    page = text(console.workbench(request("GET", "/", cookies={SESSION_COOKIE: secret})))
    assert "待受理" in page and "HGJ-2026-0001" in page and "还剩 15 天" in page


def test_an_irreversible_step_asks_once_more_before_anything_is_sent(console, services):
    secret = signed_in(console)
    form = {
        "csrf_token": csrf_token(secret),
        "applicant.name": "张三",
        "respondent.name": "某某公司",
        "claims.0.item": "工资",
        "claims.0.amount": "1.00",
    }
    console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    case_id = next(iter(services.cases))
    before = len(services.calls)
    reject = {"csrf_token": csrf_token(secret), "reason": "不属于受理范围", "form_key": "r1"}
    page = text(
        console.case_action(
            request("POST", f"/cases/{case_id}/actions/reject", reject, {SESSION_COOKIE: secret}),
            case_id=case_id,
            action="reject",
        )
    )
    assert "请确认" in page and 'name="confirmed" value="1"' in page and "不属于受理范围" in page
    assert not [c for c in services.calls[before:] if c[1] == "POST"]
    response = console.case_action(
        request("POST", f"/cases/{case_id}/actions/reject", {**reject, "confirmed": "1"}, {SESSION_COOKIE: secret}),
        case_id=case_id,
        action="reject",
    )
    assert response.status_code == 303
    posted = [c for c in services.calls[before:] if c[1] == "POST"]
    assert posted == [
        ("intake", "POST", f"/api/v1/cases/{case_id}/acceptance", {"reason": "不属于受理范围", "decision": "reject"})
    ]


def test_a_person_with_an_initial_password_must_change_it_first(console):
    initial = accounts.create_account(console.accounts, "new.clerk", "新人", "staff", "huaguangjie")
    secret = accounts.login(console.accounts, "new.clerk", initial, NOW).session_secret
    response = console.workbench(request("GET", "/", cookies={SESSION_COOKIE: secret}))
    assert response.status_code == 303 and response.headers["Location"] == "/password"
    response = console.change_password(
        request(
            "POST",
            "/password",
            {
                "csrf_token": csrf_token(secret),
                "old_password": initial,
                "new_password": "a long secret",
                "new_password_again": "a long secret",
            },
            {SESSION_COOKIE: secret},
        )
    )
    assert response.status_code == 303
    assert console.workbench(request("GET", "/", cookies={SESSION_COOKIE: secret})).status_code == 200


def test_logout_ends_the_session_so_the_cookie_no_longer_works(console):
    secret = signed_in(console)
    response = console.logout(request("POST", "/logout", {"csrf_token": csrf_token(secret)}, {SESSION_COOKIE: secret}))
    assert response.status_code == 303
    assert console.workbench(request("GET", "/", cookies={SESSION_COOKIE: secret})).status_code == 303


def test_the_workbench_sorts_each_list_by_urgency_and_says_how_long_is_left():
    from datetime import date
    from zoneinfo import ZoneInfo

    from services.console import workbench

    zone, today = ZoneInfo("Asia/Shanghai"), date(2026, 3, 10)
    mediations = [
        {
            "case_id": "a",
            "case_number": "A",
            "status": "mediating",
            "deadline": "2026-03-12T10:00:00+08:00",
            "mediator_id": "m",
        },
        {
            "case_id": "b",
            "case_number": "B",
            "status": "mediating",
            "deadline": "2026-03-08T10:00:00+08:00",
            "mediator_id": None,
        },
        {
            "case_id": "c",
            "case_number": "C",
            "status": "mediating",
            "deadline": "2026-03-30T10:00:00+08:00",
            "mediator_id": None,
        },
        {
            "case_id": "d",
            "case_number": "D",
            "status": "agreement",
            "deadline": "2026-03-01T10:00:00+08:00",
            "performance_due": "2026-03-09",
        },
        {"case_id": "e", "case_number": "E", "status": "under_review", "deadline": "2026-03-01T10:00:00+08:00"},
        {
            "case_id": "h",
            "case_number": "H",
            "status": "confirmed",
            "deadline": "2026-03-01T10:00:00+08:00",
            "performance_due": "2026-03-03",
        },
    ]
    referrals = [
        {"case_id": "f", "case_number": "F", "status": "pending", "opened_at": "2026-03-01T09:00:00+08:00"},
        {"case_id": "g", "case_number": "G", "status": "docketed", "opened_at": "2026-03-01T09:00:00+08:00"},
    ]
    lists = {s.key: s for s in workbench.sections([], mediations, referrals, {}, zone, today)}
    assert [r["case_number"] for r in lists["awaiting_assignment"].rows] == ["B", "C"]
    assert [r["case_number"] for r in lists["due_soon"].rows] == ["A"]
    assert lists["due_soon"].rows[0]["deadline"].words == "还剩 2 天"
    assert [r["case_number"] for r in lists["overdue"].rows] == ["B"]
    assert lists["overdue"].rows[0]["deadline"].words == "已超期 2 天"
    assert [r["case_number"] for r in lists["performance_due"].rows] == ["H", "D"]  # a 调解书 too (finding 3)
    assert [r["case_number"] for r in lists["under_review"].rows] == ["E"]
    assert [r["case_number"] for r in lists["referrals_unanswered"].rows] == ["F"]
    # A period ending at 24:00 is stored as the next day's midnight: its last day is the day before.
    assert workbench.last_day("2026-03-18T00:00:00+08:00", zone) == date(2026, 3, 17)


@pytest.mark.parametrize(
    "intake_status, mediation, expected",
    [
        ("received", None, ["accept", "reject", "withdraw_application"]),
        ("accepted", None, []),
        (
            "accepted",
            {"status": "mediating", "mediator": None},
            ["assign", "extension", "failure", "withdraw_mediation"],
        ),
        (
            "accepted",
            {"status": "mediating", "mediator": {"mediator_id": "m"}},
            ["assign", "session", "agreement", "extension", "failure", "withdraw_mediation"],
        ),
        (
            "accepted",
            {"status": "agreement", "review": None, "survey": None},
            ["review_request", "performance", "survey"],
        ),
        ("accepted", {"status": "under_review", "review": {}, "survey": None}, ["survey"]),
        # finding 3: a confirmed agreement (调解书) awaits performance; no second review
        (
            "accepted",
            {"status": "confirmed", "review": {"decision": "confirmed"}, "survey": None},
            ["performance", "survey"],
        ),
        ("accepted", {"status": "performed", "survey": {"score": 5}}, []),
        ("not_accepted", None, []),
    ],
)
def test_a_case_offers_exactly_the_actions_its_state_allows(intake_status, mediation, expected):
    from services.console.case_actions import allowed_actions

    assert allowed_actions(intake_status, mediation) == expected


def test_a_district_account_reads_but_gets_no_action_forms(console, services):
    secret = signed_in(console)
    form = {
        "csrf_token": csrf_token(secret),
        "applicant.name": "张三",
        "respondent.name": "某某公司",
        "claims.0.item": "工资",
        "claims.0.amount": "1.00",
    }
    console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    case_id = next(iter(services.cases))
    accounts.create_account(console.accounts, "wang", "王芳", "district", password="correct horse")
    district = accounts.login(console.accounts, "wang", "correct horse", NOW).session_secret
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: district}), case_id=case_id)
    )
    assert "区级账号只能查看" in page and "/actions/" not in page
    refused = console.case_action(
        request(
            "POST", f"/cases/{case_id}/actions/accept", {"csrf_token": csrf_token(district)}, {SESSION_COOKIE: district}
        ),
        case_id=case_id,
        action="accept",
    )
    assert refused.status_code == 403
    assert services.cases[case_id]["status"] == "received"


@pytest.mark.parametrize("name", ["li.ming", "no.such.person"])
def test_a_locked_login_stays_locked_and_says_when_to_try_again_in_the_districts_time(console, name):
    def attempt(password):
        return text(
            console.login(
                request(
                    "POST",
                    "/login",
                    {"login": name, "password": password, "csrf_token": csrf_token("pre")},
                    {LOGIN_COOKIE: "pre"},
                )
            )
        )

    for _ in range(5):
        attempt("wrong")
    page = attempt("correct horse")
    # 10:00 in Shanghai, locked 15 minutes; the same words whether the name is an account or not
    assert "登录尝试过多，请于 15 分钟后（10:15 以后）再试。" in page
    assert "账号" not in page.split("无法登录")[1].split("</div>")[0]
    assert "SessionStarted" not in [e.event_type for e in console.accounts.events]


def test_a_known_and_an_unknown_name_get_the_same_page(console):
    def attempt(name):
        response = console.login(
            request(
                "POST",
                "/login",
                {"login": name, "password": "wrong", "csrf_token": csrf_token("pre")},
                {LOGIN_COOKIE: "pre"},
            )
        )
        return response.status_code, text(response).replace(name, "NAME"), sorted(response.headers.keys())

    assert attempt("li.ming") == attempt("no.such.person")


def test_a_case_page_issues_the_documents_its_state_allows_and_serves_them_with_the_persons_rights(console, services):
    secret = signed_in(console)
    form = {
        "csrf_token": csrf_token(secret),
        "applicant.name": "张三",
        "respondent.name": "某某公司",
        "claims.0.item": "工资",
        "claims.0.amount": "1.00",
    }
    console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    case_id = next(iter(services.cases))
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "尚未出具文书" in page and "出具受理通知书" not in page
    services.cases[case_id]["status"] = "accepted"
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "出具受理通知书" in page
    issued = console.issue_document(
        request(
            "POST",
            f"/cases/{case_id}/documents",
            {"csrf_token": csrf_token(secret), "kind": "acceptance_notice", "form_key": "k"},
            {SESSION_COOKIE: secret},
        ),
        case_id=case_id,
    )
    assert issued.status_code == 303
    page = text(
        console.case_page(
            request("GET", f"/cases/{case_id}?issued=acceptance_notice", cookies={SESSION_COOKIE: secret}),
            case_id=case_id,
        )
    )
    assert (
        "已出具：受理通知书" in page and "华光街劳调受字〔2026〕第1号" in page and 'href="/documents/d-1.pdf"' in page
    )
    refused = console.issue_document(
        request(
            "POST",
            f"/cases/{case_id}/documents",
            {"csrf_token": csrf_token(secret), "kind": "agreement"},
            {SESSION_COOKIE: secret},
        ),
        case_id=case_id,
    )
    assert refused.status_code == 409 and "不能出具调解协议书" in text(refused)
    pdf = console.document_file(
        request("GET", "/documents/d-1.pdf", cookies={SESSION_COOKIE: secret}), document_id="d-1", extension="pdf"
    )
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.get_data() == b"%PDF-1.7 notice"


def test_the_timeline_names_the_person_and_role_or_the_machine_token_behind_each_step():
    from services.console.case_timeline import actor_words

    assert actor_words({"name": "李明", "role": "staff", "login": "li.ming"}) == "李明（登记员/调解员）"
    assert actor_words({"name": "王芳", "role": "head"}) == "王芳（中心负责人）"
    assert actor_words({"token": "center:huaguangjie"}) == "中心令牌 huaguangjie"
    assert actor_words({}, "MediationExpired") == "系统自动"
    assert actor_words({}, "CaseAccepted") == "（未记录）"


def test_the_timeline_says_what_each_step_recorded():
    from services.console.case_timeline import event_detail

    assert event_detail({"kind": "acceptance_notice", "number": "榆树沟劳调受字〔2026〕第1号"}) == (
        "受理通知书 榆树沟劳调受字〔2026〕第1号"
    )
    assert event_detail({"reason": "不属于受理范围"}) == "理由：不属于受理范围"
    assert event_detail({"performed": False}) == "未履行"


def test_the_timeline_shows_a_refused_withdrawal_once_in_chinese():
    # issue 15 finding 4: intake's copies of mediation's steps are not shown a second time
    from services.console.case_timeline import timeline

    ended = {"ended_with": "agreement", "ended_at": "2026-03-05T17:00:00+00:00"}
    intake = [
        {"event_type": "ApplicationWithdrawn", "occurred_at": "2026-03-06T09:00:00+08:00", "data": {"reason": "和解"}},
        {"event_type": "WithdrawalOverruled", "occurred_at": "2026-03-06T09:01:00+08:00", "data": ended},
        {"event_type": "MediationOutcomeNoted", "occurred_at": "2026-03-06T01:00:00+08:00", "data": {}},
    ]
    refused = {"reason": "the mediation had already ended with an agreement", **ended}
    mediation = [{"event_type": "WithdrawalRefused", "occurred_at": "2026-03-06T09:00:30+08:00", "data": refused}]
    settings = WebSettings(env={}, zone_name="Asia/Shanghai")

    entries = timeline([("intake", intake), ("mediation", mediation)], settings)

    assert [e["what"] for e in entries] == ["撤回申请", "撤回申请未生效"]
    assert entries[1]["detail"] == "调解已于 2026-03-06 达成调解协议而结束，没有可撤回的申请"  # the day in the district


def test_the_case_page_shows_who_looked_at_personal_data_to_those_intake_lets_see_it(console, services):
    secret = signed_in(console)
    form = {
        "csrf_token": csrf_token(secret),
        "applicant.name": "张三",
        "respondent.name": "某某公司",
        "claims.0.item": "工资",
        "claims.0.amount": "1.00",
    }
    console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    case_id = next(iter(services.cases))
    services.looks[case_id] = [
        {
            "looked_at": "2026-03-02T02:00:00+00:00",
            "actor": {"name": "李登记", "role": "staff", "login": "li"},
            "route": "GET /api/v1/cases",
        },
        {"looked_at": "2026-03-02T03:00:00+00:00", "actor": {"operator": "x"}, "route": "tiaojie privacy export"},
        {
            "looked_at": "2026-03-02T04:00:00+00:00",
            "actor": {"name": "王调解", "role": "staff", "login": "wang"},
            "route": "GET /api/v1/documents/{document_id}.pdf",
        },
        {
            "looked_at": "2026-03-02T04:00:02+00:00",
            "actor": {"name": "王调解", "role": "staff", "login": "wang"},
            "route": "mediation GET /api/v1/cases/{case_id}/history",
        },
    ]
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "个人信息查看记录" in page and "李登记" in page and "案件查询结果" in page
    assert "下载文书（PDF）" in page and "调解经过" in page and "{document_id}" not in page
    assert page.count("王调解") == 1  # one visit (its looks seconds apart) is one row
    assert page.index("个人信息导出") < page.index("案件查询结果")  # the newest first
    services.refuse[("GET", f"/api/v1/cases/{case_id}/looks")] = Answer(403, {"error": "forbidden"})
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "个人信息查看记录" not in page


def registered_case(console, services, secret):
    form = {
        "csrf_token": csrf_token(secret),
        "applicant.name": "张三",
        "respondent.name": "某某公司",
        "claims.0.item": "工资",
        "claims.0.amount": "1.00",
    }
    console.register(request("POST", "/cases/new", form, {SESSION_COOKIE: secret}))
    case_id = next(iter(services.cases))
    services.cases[case_id]["status"] = "accepted"
    return case_id


def mediation_of(case_id, status, **facts):
    return {
        "case_id": case_id,
        "status": status,
        "deadline": "2026-03-17T10:00:00+08:00",
        "mediator": {"mediator_name": "王调解", "certificate_no": "TJ-1"},
        "sessions": [],
        "extensions": [],
        "agreement": {
            "terms": "一次性支付",
            "amount": "9000.00",
            "performance_due": "2026-03-20",
            "review_window_ends": "2026-03-17",
        },
        "review": None,
        "performance": None,
        "failure": None,
        "withdrawal": None,
        "survey": None,
        **facts,
    }


def test_finding3_the_case_page_of_a_confirmed_and_defaulted_agreement_says_go_to_court(console, services):
    secret = signed_in(console)
    case_id = registered_case(console, services, secret)
    review = {"requested_at": NOW.isoformat(), "decision": "confirmed", "document_no": "WLZ-2026-7"}
    services.mediations[case_id] = mediation_of(case_id, "confirmed", review=review)
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "已确认（调解书）" in page and 'id="action-performance"' in page and 'id="action-review_request"' not in page
    services.mediations[case_id] = mediation_of(
        case_id,
        "defaulted",
        review=review,
        performance={
            "performed": False,
            "at": NOW.isoformat(),
            "reported": True,
            "confirmed": True,
            "document_no": "WLZ-2026-7",
            "guidance": "court_enforcement",
            "payment_order_possible": False,
        },
    )
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "调解书已确认：对方不履行的，可向人民法院申请强制执行" in page and "调解书文号：WLZ-2026-7" in page
    assert "支付令" not in page


def test_the_case_page_gives_the_institutes_reasons_for_refusing_a_review_and_declining_a_referral(console, services):
    secret = signed_in(console)
    case_id = registered_case(console, services, secret)
    review = {"requested_at": NOW.isoformat(), "decision": "refused", "reason": "协议第二条约定不明确"}
    services.mediations[case_id] = mediation_of(case_id, "agreement", review=review)
    declined = {"event_type": "ReferralDeclined", "reason": "不属于本院管辖", "declined_at": NOW.isoformat()}
    referral = {"referral_id": "r-1", "case_id": case_id, "type": "referral", "status": "declined", "sends": 1}
    listed = {"referrals": [{**referral, "history": [{"event_type": "ReferralOpened"}, declined]}]}
    services.answers[("arbitration_link", "GET", "/api/v1/referrals")] = Answer(200, listed)
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "仲裁院不予确认，理由：协议第二条约定不明确" in page
    assert "移送仲裁：仲裁院不予立案，理由：不属于本院管辖，已发送 1 次" in page


def test_finding3_the_case_page_of_an_unconfirmed_wage_default_offers_the_payment_order(console, services):
    secret = signed_in(console)
    case_id = registered_case(console, services, secret)
    performance = {"performed": False, "at": NOW.isoformat(), "reported": False, "confirmed": False}
    performance.update(document_no=None, guidance="arbitration", payment_order_possible=True)
    services.mediations[case_id] = mediation_of(case_id, "defaulted", performance=performance)
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "已移送劳动人事争议仲裁" in page and "可依法向人民法院申请支付令" in page
    assert "强制执行" not in page


def test_finding3_the_timeline_says_what_may_follow_a_default():
    from services.console.case_timeline import event_detail

    detail = event_detail({"performance_due": "2026-03-20", "guidance": "court_enforcement", "confirmed": True})
    assert "可向人民法院申请强制执行" in detail


def unassigned_case_page(console, services, secret):
    """A case in mediation with no mediator assigned, and the text of its page."""
    case_id = registered_case(console, services, secret)
    services.mediations[case_id] = mediation_of(case_id, "mediating", mediator=None, agreement=None)
    page = console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    return case_id, text(page)


def refused_step(console, services, secret, case_id, step, form, message):
    """The console's answer to the form of `step` (action, mediation's route) when mediation answers 409 `message`."""
    action, route = step
    services.refuse[("POST", f"/api/v1/cases/{case_id}/{route}")] = Answer(
        409, {"error": "conflict", "status": "mediating", "message": message}
    )
    form = {"csrf_token": csrf_token(secret), **form}
    return console.case_action(
        request("POST", f"/cases/{case_id}/actions/{action}", form, {SESSION_COOKIE: secret}),
        case_id=case_id,
        action=action,
    )


def test_finding5_the_failure_form_asks_why_and_a_409_says_a_mediator_is_needed(console, services):
    secret = signed_in(console)
    case_id, page = unassigned_case_page(console, services, secret)
    assert 'name="reason_code"' in page and "被申请人拒绝调解" in page
    message = "a failure needs an assigned mediator unless the respondent refused mediation"
    form = {"confirmed": "1", "reason": "分歧", "reason_code": "no_agreement"}
    refused = refused_step(console, services, secret, case_id, ("failure", "failure"), form, message)
    assert refused.status_code == 409
    assert "尚未指派调解员" in text(refused)
    sent = [body for service, method, path, body in services.calls if path.endswith("/failure")]
    assert sent == [{"reason": "分歧", "reason_code": "no_agreement"}]


def test_a_session_refused_for_want_of_a_mediator_reads_in_chinese_next_to_the_form(console, services):
    secret = signed_in(console)
    case_id, page = unassigned_case_page(console, services, secret)
    assert 'action="/cases/' + case_id + '/actions/session"' not in page  # offered once a mediator is assigned
    message = "a session needs an assigned mediator: assign one first"
    refused = refused_step(
        console, services, secret, case_id, ("session", "sessions"), {"summary": "双方陈述"}, message
    )
    assert refused.status_code == 409
    assert "尚未指派调解员：调解须由持证调解员主持，请先指派调解员，再记录调解。" in text(refused)


def test_finding5_an_expired_certificate_on_the_day_of_the_step_reads_in_chinese():
    from services.console.labels import message

    english = (
        "the assigned mediator cannot act on 2026-03-04: the mediator's certificate TJ-1 expired on 2026-03-03;"
        " assign another mediator with a valid certificate or renew the certificate"
    )
    assert message(english) == "指派的调解员在 2026-03-04 没有有效的调解员证书：请改派持证调解员，或先为其续期证书"


def mediating_case(console, services, secret):
    """A case registered, accepted and in mediation with a mediator, its deadline 24:00 of 17 March."""
    case_id = registered_case(console, services, secret)
    services.mediations[case_id] = mediation_of(
        case_id,
        "mediating",
        deadline="2026-03-18T00:00:00+08:00",
        agreement=None,
        mediator={"mediator_id": "m-1", "mediator_name": "王芳", "certificate_no": "TJ-1"},
    )
    return case_id


def record_failure(console, services, secret, case_id, occurred_at, answer):
    """The 调解不成 form sent (confirmed) with `occurred_at` as typed; mediation answers `answer`."""
    services.answers[("mediation", "POST", f"/api/v1/cases/{case_id}/failure")] = answer
    form = {"csrf_token": csrf_token(secret), "reason": "双方分歧较大", "occurred_at": occurred_at, "confirmed": "1"}
    return console.case_action(
        request("POST", f"/cases/{case_id}/actions/failure", form, {SESSION_COOKIE: secret}),
        case_id=case_id,
        action="failure",
    )


def test_every_step_form_asks_when_it_happened_and_sends_it_in_the_districts_time(console, services):
    secret = signed_in(console)
    case_id = mediating_case(console, services, secret)
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    for step in ("assign", "extension", "agreement", "failure", "withdraw_mediation"):
        assert f'<label for="{step}-occurred_at">发生时间（可不填）</label>' in page, step
        assert f'type="datetime-local" id="{step}-occurred_at" name="occurred_at"' in page, step
    assert 'name="held_at"' in page  # a session's time is its held_at
    before = len(services.calls)
    response = record_failure(console, services, secret, case_id, "2026-03-01T18:30", Answer(200, {}))
    assert response.status_code == 303
    [posted] = [c for c in services.calls[before:] if c[1] == "POST"]
    assert posted[3] == {"reason": "双方分歧较大", "occurred_at": "2026-03-01T18:30:00+08:00"}


@pytest.mark.parametrize(
    ("status", "answer", "shown"),
    [
        (
            422,
            {"errors": {"occurred_at": ["Must not be more than 7 days back (TIAOJIE_BACKDATE_DAYS)."]}},
            "只能补录 7 天以内发生的事项",
        ),
        (422, {"errors": {"occurred_at": ["Must not be in the future."]}}, "不能晚于现在"),
        (
            422,
            {"errors": {"occurred_at": ["Must not be before the step before it (2026-03-02T10:00:00+08:00)."]}},
            "不能早于本案上一步的发生时间",
        ),
        (
            409,
            {
                "error": "conflict",
                "status": "mediating",
                "message": "cannot record the failure of this mediation at 2026-03-18T09:00:00+08:00: its deadline"
                " passed at 2026-03-18T00:00:00+08:00 (only steps that happened by then may still be entered)",
            },
            "调解期限已于 2026-03-17 24:00 届满：只能补录期限届满前发生的事项，请核对发生时间",
        ),
    ],
    ids=["backdate window", "future", "before the step before it", "after the deadline"],
)
def test_a_refused_time_is_said_in_chinese_beside_the_field_and_what_was_typed_stays(
    console, services, status, answer, shown
):
    secret = signed_in(console)
    case_id = mediating_case(console, services, secret)
    response = record_failure(console, services, secret, case_id, "2026-02-01T18:30", Answer(status, answer))
    page = text(response)
    assert response.status_code == status
    field = page[page.index('<label for="failure-occurred_at">') : page.index('id="failure-occurred_at"')]
    assert shown in field
    assert 'value="2026-02-01T18:30"' in page and "双方分歧较大" in page
    assert "Must not" not in page and "deadline passed" not in page


def test_an_agreement_after_the_grace_reads_that_the_case_expired_and_when():
    from zoneinfo import ZoneInfo

    from services.console import labels

    message = (
        "cannot sign an agreement in this mediation: it expired at 2026-03-18T00:00:00+08:00"
        " and the grace for entering steps that happened by then has passed"
    )
    assert (
        labels.late_step(message, ZoneInfo("Asia/Shanghai"))
        == "本案调解期限已于 2026-03-17 24:00 届满，补录期限也已过去，不能再办理"
    )
    assert labels.late_step("cannot extend a mediation that is failed", ZoneInfo("Asia/Shanghai")) is None


def test_the_timeline_shows_a_step_at_when_it_happened_and_when_it_was_keyed_in_later(console, services):
    secret = signed_in(console)
    case_id = mediating_case(console, services, secret)
    history = [
        {
            "event_type": "MediatorAssigned",
            "occurred_at": "2026-03-02T10:00:00+08:00",
            "recorded_at": "2026-03-02T10:00:01+08:00",
            "data": {"mediator_name": "王芳"},
        },
        {
            "event_type": "AgreementReached",
            "occurred_at": "2026-03-17T16:00:00+08:00",  # a paper agreement of the last day
            "recorded_at": "2026-03-18T09:05:00+08:00",  # keyed in the next morning
            "data": {"amount": "9000.00", "performance_due": "2026-03-20"},
        },
        {
            "event_type": "MediationExpired",  # the system's: no "keyed in" note
            "occurred_at": "2026-03-18T00:00:00+08:00",
            "recorded_at": "2026-03-19T00:00:05+08:00",
            "data": {},
        },
    ]
    services.answers[("mediation", "GET", f"/api/v1/cases/{case_id}/history")] = Answer(200, {"events": history})
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    timeline_html = page[page.index('id="timeline-title"') :]
    timeline_html = timeline_html[: timeline_html.index("</section>")]
    assert "2026-03-17 16:00" in timeline_html and "2026-03-18 09:05 补录" in timeline_html
    assert timeline_html.count("补录") == 1


def test_the_case_list_says_how_a_mediation_ended_next_to_the_acceptance(console, services):
    secret = signed_in(console)
    outcomes = {"agreement": "已受理 · 达成调解协议", "failed": "已受理 · 调解不成", "expired": "已受理 · 调解期满"}
    first = services.cases[registered_case(console, services, secret)]
    lines = [("accepted", outcome) for outcome in (None, *outcomes)] + [("withdrawn", "withdrawn")]  # in mediation
    for n, (status, outcome) in enumerate(lines):
        case_id = f"case-{n}"
        services.cases[case_id] = {**first, "case_id": case_id, "status": status, "mediation_outcome": outcome}
    del services.cases[first["case_id"]]
    page = text(console.search(request("GET", "/cases", cookies={SESSION_COOKIE: secret})))
    cells = re.findall(r"<td>([^<]*)</td>\s*</tr>", page)
    assert cells == ["已受理", *outcomes.values(), "已撤回"]


def test_a_case_past_its_deadline_still_mediating_says_it_awaits_late_entries_or_the_expiry(console, services):
    # Mediation records the expiry only after TIAOJIE_EXPIRY_GRACE_HOURS: meanwhile staff may key in
    # a step that happened by the deadline. Today is 2026-03-02; the deadline was 24:00 of 1 March.
    secret = signed_in(console)
    case_id = registered_case(console, services, secret)
    lapsed = "2026-03-02T00:00:00+08:00"
    services.mediations[case_id] = mediation_of(case_id, "mediating", deadline=lapsed, agreement=None)
    services.mediation_rows = [
        {"case_id": case_id, "case_number": "HGJ-2026-0001", "status": "mediating", "deadline": lapsed}
    ]
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert '<span class="deadline overdue">已过调解期限，待补录或将自动终结</span>' in page
    workbench = text(console.workbench(request("GET", "/", cookies={SESSION_COOKIE: secret})))
    overdue = workbench[
        workbench.index('id="overdue"') : workbench.index("</section>", workbench.index('id="overdue"'))
    ]
    assert "HGJ-2026-0001" in overdue and "已过调解期限，待补录或将自动终结" in overdue
    assert "期限内已办理的事项请尽快补录" in overdue

    services.mediations[case_id]["deadline"] = "2026-03-03T00:00:00+08:00"  # its last day is today
    page = text(
        console.case_page(request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret}), case_id=case_id)
    )
    assert "今天到期" in page and "已过调解期限" not in page


def test_the_case_page_lists_the_complaints_about_the_case_for_those_who_read_complaints(console, services):
    accounts.create_account(console.accounts, "wang.head", "王主任", "head", "huaguangjie", password="correct horse")
    staff = signed_in(console)
    case_id = registered_case(console, services, staff)
    services.answers[("mediation", "GET", "/api/v1/complaints")] = Answer(
        200,
        {
            "complaints": [
                {"complaint_id": "k-2", "status": "open", "filed_at": "2026-03-02T09:00:00+08:00", "answered_at": None},
                {
                    "complaint_id": "k-1",
                    "status": "answered",
                    "filed_at": "2026-02-27T09:00:00+08:00",
                    "answered_at": "2026-02-28T15:30:00+08:00",
                },
            ]
        },
    )

    def case_page(secret):
        request_ = request("GET", f"/cases/{case_id}", cookies={SESSION_COOKIE: secret})
        return text(console.case_page(request_, case_id=case_id))

    page = case_page(staff)  # staff read no complaints (403 by design): nothing shown, nothing asked
    assert 'id="complaints-title"' not in page
    assert not [q for q in services.queries if q[1] == "/api/v1/complaints"]

    head = accounts.login(console.accounts, "wang.head", "correct horse", NOW).session_secret
    page = case_page(head)
    section = page[page.index('id="complaints-title"') : page.index("</section>", page.index('id="complaints-title"'))]
    assert "2026-03-02 09:00 登记：待答复" in section
    assert "2026-02-27 09:00 登记：已答复（2026-02-28 15:30 答复）" in section
    assert 'href="/complaints?status=open#complaint-k-2"' in section
    [(_, _, params)] = [q for q in services.queries if q[1] == "/api/v1/complaints"]
    assert params == {"case_id": case_id, "center_id": "huaguangjie"}

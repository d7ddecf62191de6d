"""The console's 投诉 page: staff file, the center's head lists and answers its complaints, the
district every center's, each through mediation's complaints API with the person's own bearer."""

import re

import pytest

from services.console import accounts
from services.console.backend import Answer
from services.console.web import SESSION_COOKIE, csrf_token
from tests.unit.test_console_pages import NOW, Console, FakeServices, request, text

PASSWORD = "correct horse"
OPEN_ID = "11111111-1111-4111-8111-111111111111"
ANSWERED_ID = "22222222-2222-4222-8222-222222222222"


class ComplaintServices(FakeServices):
    """The fake services with mediation's complaints: one open, one answered, of huaguangjie."""

    def __init__(self):
        super().__init__()
        self.complaints = {
            OPEN_ID: complaint(OPEN_ID, "调解员态度不好，多次打电话没人接"),
            ANSWERED_ID: {
                **complaint(ANSWERED_ID, "等待时间过长"),
                "status": "answered",
                "answer": "已调整排班，向您致歉",
                "answered_at": "2026-03-01T16:30:00+08:00",
                "answered_by": {"account_id": "a1", "login": "wang.head", "name": "王主任", "role": "head"},
            },
        }

    def handle(self, bearer, service, method, path, body, params):
        if service != "mediation" or not path.startswith("/api/v1/complaints"):
            return super().handle(bearer, service, method, path, body, params)
        self.calls.append((service, method, path, body, params))
        if (method, path) in self.refuse:
            return self.refuse[(method, path)]
        if method == "GET" and path == "/api/v1/complaints":
            rows = [
                c
                for c in self.complaints.values()
                if params.get("status") in (None, c["status"]) and params.get("center_id") in (None, c["center_id"])
            ]
            counts = {s: sum(1 for c in rows if c["status"] == s) for s in ("open", "answered")}
            return Answer(200, {"complaints": rows, "counts": counts, "page": params.get("page", 1)})
        found = re.match(r"/api/v1/complaints/([^/]+)/answer$", path)
        if found and method == "POST":
            row = self.complaints.get(found.group(1))
            if row is None:
                return Answer(404, {"error": "not_found"})
            if not body.get("answer", "").strip():
                return Answer(422, {"errors": {"answer": ["Shorter than minimum length 1."]}})
            if len(body["answer"]) > 5000:
                return Answer(422, {"errors": {"answer": ["Longer than maximum length 5000."]}})
            if row["status"] == "answered":
                return Answer(409, {"error": "conflict", "status": "answered"})
            row.update(status="answered", answer=body["answer"], answered_at=NOW.isoformat())
            return Answer(200, row)
        return Answer(404, {})


def complaint(complaint_id, words):
    return {
        "complaint_id": complaint_id,
        "center_id": "huaguangjie",
        "case_id": "00000000-0000-0000-0000-000000000009",
        "case_number": "HGJ-2026-0009",
        "status": "open",
        "text": words,
        "filed_at": "2026-02-27T09:15:00+08:00",
        "answer": None,
        "answered_at": None,
        "answered_by": None,
    }


@pytest.fixture
def services():
    return ComplaintServices()


@pytest.fixture
def console(services):
    console = Console(services)
    accounts.create_account(console.accounts, "li.ming", "李明", "staff", "huaguangjie", password=PASSWORD)
    accounts.create_account(console.accounts, "wang.head", "王主任", "head", "huaguangjie", password=PASSWORD)
    accounts.create_account(console.accounts, "zhao.district", "赵科长", "district", None, password=PASSWORD)
    return console


def session_of(console, login):
    return accounts.login(console.accounts, login, PASSWORD, NOW).session_secret


def get(console, login, query=""):
    secret = session_of(console, login)
    return console.complaints(request("GET", f"/complaints{query}", cookies={SESSION_COOKIE: secret}))


def answer(console, login, complaint_id, words, query="", csrf=True):
    secret = session_of(console, login)
    form = {"answer": words, "form_key": "k-1"}
    if csrf:
        form["csrf_token"] = csrf_token(secret)
    path = f"/complaints/{complaint_id}/answer{query}"
    return console.answer_complaint(
        request("POST", path, form, cookies={SESSION_COOKIE: secret}), complaint_id=complaint_id
    )


def answer_posts(services):
    return [c for c in services.calls if c[1] == "POST" and c[2].endswith("/answer")]


def test_the_head_sees_the_centers_complaints_with_their_state_and_answers_the_open_one(console, services):
    page = text(get(console, "wang.head"))
    assert "待答复 1 件" in page and "已答复 1 件" in page
    assert "调解员态度不好，多次打电话没人接" in page and 'href="/cases/00000000-0000-0000-0000-000000000009"' in page
    for words in ("答复", "答复时间", "答复人", "已调整排班，向您致歉", "王主任（中心负责人）"):
        assert words in page
    # one answer form, for the open complaint, with its label and the session's CSRF token
    assert page.count('name="answer"') == 1 and f'<label for="answer-{OPEN_ID}">答复' in page
    assert f'action="/complaints/{OPEN_ID}/answer"' in page and 'name="csrf_token"' in page
    # the head's list asks for its own center (mediation's default), never another
    [listed] = [c for c in services.calls if c[2] == "/api/v1/complaints"]
    assert "center_id" not in listed[4]

    response = answer(console, "wang.head", OPEN_ID, "已约谈调解员，向您致歉")
    assert response.status_code == 303 and response.headers["Location"] == "/complaints?answered=1"
    assert answer_posts(services)[0][3] == {"answer": "已约谈调解员，向您致歉"}
    assert services.complaints[OPEN_ID]["status"] == "answered"


def test_an_empty_answer_is_shown_beside_its_field_in_chinese_and_a_second_answer_says_so(console, services):
    response = answer(console, "wang.head", OPEN_ID, "   ")
    page = text(response)
    assert response.status_code == 422 and "此项必须填写" in page
    assert f'id="answer-{OPEN_ID}-error"' in page and services.complaints[OPEN_ID]["status"] == "open"
    response = answer(console, "wang.head", OPEN_ID, "长" * 5001)
    assert response.status_code == 422 and "内容过长，最多 5000 个字" in text(response)
    assert "长" * 5001 in text(response)  # what was typed is kept

    response = answer(console, "zhao.district", ANSWERED_ID, "再答复一次")
    assert response.status_code == 409 and "这件投诉已经答复过了" in text(response)


def test_an_answer_without_the_sessions_csrf_token_is_403_and_nothing_is_sent(console, services):
    response = answer(console, "wang.head", OPEN_ID, "已处理", csrf=False)
    assert response.status_code == 403 and answer_posts(services) == []


def test_staff_file_complaints_but_neither_list_nor_answer_them(console, services):
    page = text(get(console, "li.ming"))
    assert "登记投诉" in page and 'name="answer"' not in page and "调解员态度不好" not in page
    assert not [c for c in services.calls if c[2] == "/api/v1/complaints"]
    response = answer(console, "li.ming", OPEN_ID, "已处理")
    assert response.status_code == 403 and answer_posts(services) == []


def test_the_district_filters_by_center_and_state_and_answers_with_the_filter_kept(console, services):
    page = text(get(console, "zhao.district", "?center_id=huaguangjie&status=open"))
    [listed] = [c for c in services.calls if c[2] == "/api/v1/complaints"]
    assert listed[4] == {"center_id": "huaguangjie", "status": "open", "page": 1}
    assert "全部中心" in page and "华光街" in page and "登记投诉" not in page
    assert f'action="/complaints/{OPEN_ID}/answer?center_id=huaguangjie&amp;status=open"' in page
    response = answer(console, "zhao.district", OPEN_ID, "区里已督办", "?center_id=huaguangjie&status=open")
    assert response.headers["Location"] == "/complaints?center_id=huaguangjie&status=open&answered=1"


def test_a_refusal_by_mediation_is_a_chinese_page(console, services):
    services.refuse[("POST", f"/api/v1/complaints/{OPEN_ID}/answer")] = Answer(403, {"error": "forbidden"})
    response = answer(console, "wang.head", OPEN_ID, "已处理")
    assert response.status_code == 403 and "只有本中心负责人或区级账号可以答复这件投诉" in text(response)


def test_the_report_shows_each_centers_complaints_open_and_answered_and_the_districts(console, services):
    row = {
        "center_id": "huaguangjie",
        "center_name": "华光街街道办事处",
        "success_rate": None,
        **dict.fromkeys(("received", "accepted", "closed_agreement", "closed_by_mediation"), 0),
        **dict.fromkeys(("on_time_closure_rate", "agreement_performance_rate"), None),
        "amount_agreed": "0.00",
        "complaints": 3,
        "complaints_open": 1,
        "complaints_answered": 2,
        "complaints_mean_days_to_answer": 8.0,
    }
    totals = {"filed": 4, "open": 2, "answered": 2, "mean_days_to_answer": 8.0}
    body = {"centers": [row, {**row, "center_id": "qifang"}], "target": 0.6, "summary": {"complaints": totals}}
    services.refuse[("GET", "/api/v1/report")] = Answer(200, body)
    secret = session_of(console, "zhao.district")
    page = text(console.report(request("GET", "/report", cookies={SESSION_COOKIE: secret})))
    assert '<th scope="col" class="num">待答复</th><th scope="col" class="num">已答复</th>' in page
    assert '<td class="num">1</td><td class="num">2</td><td class="num">8.0</td>' in page
    assert "全区投诉：2026 年登记 4 件，待答复 2 件，已答复 2 件，平均 8.0 天答复" in page

"""What people do in the console, driven through Chromium by Playwright: clicking and typing.

Run as its own process (`python -m tests.browser.journeys JOURNEY SETTINGS_JSON`), since
Playwright's sync API does not stop under the eventlet the test suite patches in. It
prints one JSON object: what the journey saw, for the test to check against the services.
Every page is photographed into `screens` when `all_screens` is set (`make screenshots`),
and the page in view when a step fails, always.
"""

import json
import os
import re
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
]
VIEWPORT = {"width": 1366, "height": 768}


class Camera:
    def __init__(self, page, folder, journey, every_page):
        self.page = page
        self.folder = Path(folder)
        self.journey = journey
        self.every_page = every_page
        self.taken = []
        self.count = 0

    def shot(self, name, force=False):
        if not (self.every_page or force):
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path = self.folder / f"{self.journey}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(str(path))
        return str(path)


def confirmation(page):
    """The notice that confirms the step just taken (`role="status"`); the case page may show
    others beside it (mediation has not opened the accepted case yet)."""
    return page.locator('.notice[role="status"]').first


def log_in(page, base, login, password):
    page.goto(base + "/login")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def case_action(page, key, title):
    """Clicks the button of one action form on the case page."""
    page.locator(f"#action-{key}").get_by_role("button", name=title, exact=True).click()


def clerk_journey(page, camera, settings):
    """A clerk registers a case, accepts it, assigns a mediator, records a session and an agreement."""
    base, person = settings["base"], settings["clerk"]
    applicant, respondent = settings["applicant"], settings["respondent"]
    seen = {}
    log_in(page, base, person["login"], person["password"])
    expect(page.get_by_role("heading", name=re.compile("工作台"))).to_be_visible()
    camera.shot("workbench-before")

    page.get_by_role("link", name="案件登记").click()
    camera.shot("registration-empty")
    page.get_by_label("申请方式").select_option(label="来访")
    page.get_by_label("争议类别").select_option(label="劳动报酬")
    page.get_by_label("姓名").fill(applicant["name"])
    page.get_by_label("证件号码").fill(applicant["id_number"])
    page.get_by_label("联系电话").fill(applicant["phone"])
    page.get_by_label("单位名称").fill(respondent["name"])
    page.get_by_label("统一社会信用代码").fill(respondent["credit_code"])
    page.get_by_label("第 1 项请求事项").fill("拖欠工资")
    page.get_by_label("第 1 项金额（元）").fill("12,000")  # a comma: refused, with the message beside it
    page.get_by_label("第 2 项请求事项").fill("加班费")
    page.get_by_label("第 2 项金额（元）").fill("3000.5")
    page.get_by_label("争议事实和理由").fill("三个月工资未发放")
    page.get_by_role("button", name="登记申请").last.click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("请求事项第 1 项金额")
    expect(page.locator("#claims\\.0\\.amount-error")).to_contain_text("金额应为")
    expect(page.get_by_label("第 2 项请求事项")).to_have_value("加班费")  # what was typed is kept
    camera.shot("registration-refused")
    page.get_by_label("第 1 项金额（元）").fill("12000.00")
    page.get_by_role("button", name="登记申请").last.click()

    expect(page.get_by_role("heading", name="申请已登记")).to_be_visible()
    camera.shot("registration-confirmed")
    seen["case_number"] = page.locator(".panel-confirm strong.big").inner_text().strip()
    seen["case_id"] = page.url.split("/cases/")[1].split("?")[0]
    seen["deadline_shown"] = page.locator(".panel-confirm").inner_text()

    page.get_by_role("link", name="工作台").click()
    expect(page.locator("#awaiting_acceptance")).to_contain_text(seen["case_number"])
    camera.shot("workbench-awaiting-acceptance")
    page.locator("#awaiting_acceptance").get_by_role("link", name=seen["case_number"]).click()

    case_action(page, "accept", "受理")
    expect(confirmation(page)).to_contain_text("已办理：受理")
    # Mediation opens the case when intake's event reaches it: the page says so until then.
    deadline = time.monotonic() + 30
    while not page.locator("#action-assign").count():
        assert time.monotonic() < deadline, "the accepted case never opened in mediation"
        time.sleep(0.5)
        page.reload()
    camera.shot("case-accepted")
    if settings.get("documents"):
        # The documents service builds the case file from the events: its button comes when it has.
        deadline = time.monotonic() + 30
        while not page.get_by_role("button", name="出具受理通知书").count():
            assert time.monotonic() < deadline, "the documents service never offered the acceptance notice"
            time.sleep(0.5)
            page.reload()
        page.get_by_role("button", name="出具受理通知书").click()
        expect(page.locator("#documents")).to_contain_text("已出具：受理通知书")
        camera.shot("case-document-issued")
        link = page.locator("#documents").get_by_role("link", name="PDF").first.get_attribute("href")
        pdf = page.request.get(base + link)
        seen["document_pdf"] = [pdf.status, pdf.headers.get("content-type"), pdf.body()[:5].decode("latin-1")]
    page.get_by_label("调解员").select_option(value=settings["mediator_id"])
    case_action(page, "assign", "指派调解员")
    expect(confirmation(page)).to_contain_text("已办理：指派调解员")

    page.get_by_label("调解情况").fill("双方到场陈述，被申请人同意分期支付")
    case_action(page, "session", "记录调解")
    expect(confirmation(page)).to_contain_text("已办理：记录调解")
    camera.shot("case-session-recorded")

    page.get_by_label("协议内容").fill("被申请人于履行期限前一次性支付工资")
    page.get_by_label("协议金额（元）").fill("9000.00")
    page.get_by_label("履行期限").fill(settings["performance_due"])
    case_action(page, "agreement", "达成协议")
    expect(page.get_by_role("heading", name="请确认：达成协议")).to_be_visible()
    camera.shot("agreement-confirm")
    page.get_by_role("button", name="确认达成协议").click()
    expect(page.locator(".status")).to_contain_text("已达成协议")
    camera.shot("case-agreement")
    timeline = page.locator("table.timeline").inner_text()
    seen["timeline"] = timeline

    page.get_by_role("link", name="工作台").click()
    expect(page.locator("#performance_due")).to_contain_text(seen["case_number"])
    camera.shot("workbench-performance-due")

    page.get_by_role("link", name="案件查询").click()
    page.get_by_label(re.compile("案件编号、姓名")).fill(applicant["name"][1:])  # part of the name
    page.get_by_role("button", name="查询").click()
    expect(page.locator("table.results")).to_contain_text(seen["case_number"])
    camera.shot("search-by-name")
    page.get_by_label(re.compile("案件编号、姓名")).fill(applicant["id_number"])
    page.get_by_role("button", name="查询").click()
    expect(page.locator("table.results")).to_contain_text(seen["case_number"])

    for link, heading in (("调解员名册", "调解员名册"), ("投诉", "投诉"), ("统计", "调解工作统计")):
        page.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=re.compile(f"^{heading}"), level=1)).to_be_visible()
        camera.shot(f"page-{link}")

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    return seen


def boundaries_journey(page, camera, settings):
    """Another center's case, a form without its CSRF token, a locked login."""
    base, other = settings["base"], settings["other_clerk"]
    seen = {}
    log_in(page, base, other["login"], other["password"])
    expect(page.get_by_role("heading", name=re.compile("工作台"))).to_be_visible()
    response = page.goto(f"{base}/cases/{settings['foreign_case_id']}")
    seen["foreign_case_status"] = response.status
    expect(page.get_by_role("heading", name="无权查看")).to_be_visible()
    camera.shot("foreign-case")
    seen["foreign_case_text"] = page.locator("main").inner_text()

    # The same browser, its session cookie sent, but no CSRF token in the form.
    answer = page.request.post(
        f"{base}/cases/new",
        form={
            "channel": "walk_in",
            "category": "wages",
            "applicant.name": settings["csrf_marker"],
            "applicant.id_type": "passport",
            "applicant.id_number": "E0000001",
            "respondent.name": "某某公司",
            "claims.0.item": "工资",
            "claims.0.amount": "1.00",
        },
        max_redirects=0,
    )
    seen["without_csrf_status"] = answer.status
    page.get_by_role("button", name="退出").click()

    locked = settings["locked"]
    for _ in range(5):
        log_in(page, base, locked["login"], "not the password")
        expect(page.locator("#error-summary")).to_be_visible()
    camera.shot("login-locked")
    log_in(page, base, locked["login"], locked["password"])  # the right password, while locked
    seen["locked_text"] = page.locator("#error-summary").inner_text()
    seen["locked_url"] = page.url
    camera.shot("login-still-locked")
    seen["session_cookies"] = [c["name"] for c in page.context.cookies() if c["name"] == "tj_session" and c["value"]]

    unknown = f"nobody.{locked['login']}"  # a name that is no account locks just the same
    for _ in range(5):
        log_in(page, base, unknown, "not the password")
        expect(page.locator("#error-summary")).to_be_visible()
    log_in(page, base, unknown, "not the password")
    seen["unknown_locked_text"] = page.locator("#error-summary").inner_text()
    camera.shot("login-unknown-locked")
    return seen


def offices_journey(page, camera, settings):
    """An admin makes an account; its first login changes the password; the admin disables it;
    a center's head registers a mediator; a district account reads a center through the switcher."""
    base, admin, head, district = settings["base"], settings["admin"], settings["head"], settings["district"]
    newcomer = settings["newcomer"]
    seen = {}
    log_in(page, base, admin["login"], admin["password"])
    expect(page.get_by_role("heading", name="账号管理")).to_be_visible()
    page.get_by_label("登录名").fill(newcomer["login"])
    page.get_by_label("姓名").fill(newcomer["name"])
    page.get_by_label("角色").select_option(value="staff")
    page.get_by_label("所属中心").select_option(value=settings["center_id"])
    page.get_by_role("button", name="建立账号").click()
    expect(page.locator(".panel-confirm")).to_contain_text("初始密码")
    camera.shot("account-created")
    initial = page.locator(".panel-confirm strong.big").inner_text().strip()
    page.get_by_role("button", name="退出").click()

    log_in(page, base, newcomer["login"], initial)
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    camera.shot("first-login-password")
    page.get_by_label("原密码（初始密码）").fill(initial)
    page.get_by_label(re.compile(r"^新密码")).fill(newcomer["password"])
    page.get_by_label("再次输入新密码").fill(newcomer["password"])
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("heading", name=re.compile("工作台"))).to_be_visible()
    newcomer_cookies = page.context.cookies()
    page.context.clear_cookies()

    log_in(page, base, admin["login"], admin["password"])
    page.locator("tr", has_text=newcomer["login"]).get_by_role("button", name="停用").click()
    expect(page.get_by_role("heading", name=re.compile("请确认：停用账号"))).to_be_visible()
    camera.shot("account-disable-confirm")
    page.get_by_role("button", name="确认停用").click()
    expect(page.locator("tr", has_text=newcomer["login"])).to_contain_text("已停用")
    camera.shot("accounts-after-disable")
    page.context.clear_cookies()
    page.context.add_cookies(newcomer_cookies)  # the disabled person's browser, still holding its cookie
    page.goto(base + "/")
    seen["disabled_url"] = page.url
    page.context.clear_cookies()

    log_in(page, base, head["login"], head["password"])
    page.get_by_role("link", name="调解员名册").click()
    page.get_by_label("姓名").fill(settings["mediator_name"])
    page.get_by_label("调解员证书编号").fill(settings["certificate_no"])
    page.get_by_label("证书有效期至").fill(settings["certificate_expires"])
    page.get_by_label("专职调解员").check()
    page.get_by_role("button", name="登记调解员").click()
    expect(page.locator("tr.expiring")).to_contain_text(settings["mediator_name"])
    seen["roster_row"] = page.locator("tr.expiring", has_text=settings["mediator_name"]).inner_text()
    camera.shot("roster-expiring")
    page.get_by_role("link", name="投诉").click()
    page.get_by_label("投诉内容").fill("等候时间过长，无人接待")
    page.get_by_role("button", name="登记投诉").click()
    expect(confirmation(page)).to_contain_text("投诉已登记")
    filed = page.locator("article.complaint", has_text="等候时间过长，无人接待")
    expect(filed).to_contain_text("待答复")
    camera.shot("complaint-filed")
    filed.get_by_label("答复").fill("已安排专人接待，向您致歉")
    filed.get_by_role("button", name="提交答复").click()
    expect(confirmation(page)).to_contain_text("答复已提交")
    answered = page.locator("article.complaint", has_text="等候时间过长，无人接待")
    expect(answered).to_contain_text("已答复")
    seen["complaint_answered"] = answered.inner_text()
    camera.shot("complaint-answered")
    page.get_by_role("button", name="退出").click()

    log_in(page, base, district["login"], district["password"])
    expect(page.get_by_text("请在上方选择要查看的中心")).to_be_visible()
    page.get_by_label("查看中心（区级只读）").select_option(value=settings["center_id"])
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("heading", name=re.compile("工作台"))).to_contain_text(settings["center_name"])
    camera.shot("district-workbench")
    page.get_by_role("link", name="案件查询").click()
    page.get_by_role("button", name="查询").click()
    camera.shot("district-search")
    seen["district_can_register"] = page.get_by_role("link", name="案件登记").count() > 0
    page.get_by_role("link", name="投诉").click()
    page.get_by_label("中心").select_option(value=settings["center_id"])
    page.get_by_label("状态").select_option(value="answered")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("article.complaint", has_text="等候时间过长，无人接待")).to_contain_text("已答复")
    seen["district_complaints"] = page.locator("main").inner_text()
    camera.shot("district-complaints")
    return seen


JOURNEYS = {"clerk": clerk_journey, "boundaries": boundaries_journey, "offices": offices_journey}


def main(journey, settings):
    with sync_playwright() as playwright:
        # Dates in the form fields as a Chinese office's browser shows them.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, env={**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN"}
        )
        page = browser.new_page(viewport=VIEWPORT, locale="zh-CN")
        page.set_default_timeout(20_000)
        camera = Camera(page, settings["screens"], journey, settings.get("all_screens", False))
        try:
            seen = JOURNEYS[journey](page, camera, settings)
            result = {"ok": True, "seen": seen, "screens": camera.taken}
        except Exception as exc:  # noqa: BLE001 - reported to the test with the picture of the page
            failure = camera.shot("FAILED", force=True)
            result = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "url": page.url,
                "failure_screen": failure,
                "screens": camera.taken,
            }
        finally:
            browser.close()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))

"""The console's pages (Chinese, server-rendered): a mixin of nameko http routes on `ConsoleService`.

Signing in and out, the first-login password change, 工作台 and the static style sheet
are here; the case pages are in `case_pages`, the roster, complaints, report and
accounts in `office_pages`. Every page calls the services with the person's own bearer.
"""

import logging
import time

from werkzeug.wrappers import Response

from . import accounts, workbench
from .case_pages import CasePages
from .office_pages import OfficePages
from .web import LOGIN_COOKIE, SESSION_COOKIE, STATIC, ConsoleWeb, PageEntrypoint, csrf_matches, page, public_page

log = logging.getLogger(__name__)

# How long a login waits for the services to learn of the new session (CONTRACTS §7 via events).
SESSION_PROPAGATION_SECONDS = 10.0
WORKBENCH_PAGES = 10  # mediation lists 50 a page: up to 500 open cases of one center


class ConsolePages(CasePages, OfficePages):
    """The pages of CONTRACTS §7; `ConsoleService` inherits them."""

    web = ConsoleWeb()

    # -- signing in and out ---------------------------------------------------------------
    @public_page("GET", "/login")
    def login_form(self, visit):
        return visit.render("login.html", login="", problem=None)

    @public_page("POST", "/login")
    def login(self, visit):
        form = visit.request.form
        if not csrf_matches(visit.request.cookies.get(LOGIN_COOKIE), form.get("csrf_token")):
            return visit.render("error.html", status=403, title="请求无效", text="登录页面已过期，请重新打开登录页面。")
        login = form.get("login", "").strip()
        try:
            result = accounts.login(
                self.accounts, login, form.get("password", ""), visit.now, address=visit.request.remote_addr
            )
        except accounts.LoginRefused as refusal:
            return visit.render("login.html", status=200, login=login, problem=str(refusal))
        except accounts.LoginLocked as locked:
            # The same words for an account and a name that is none, and for a locked address.
            until = locked.until.astimezone(self.web.zone)
            minutes = accounts.minutes_left(locked.until, visit.now)
            problem = f"登录尝试过多，请于 {minutes} 分钟后（{until:%H:%M} 以后）再试。"
            return visit.render("login.html", status=200, login=login, problem=problem)
        person = result.account
        self._wait_until_known(person.bearer)
        visit.cookies.append((SESSION_COOKIE, person.bearer, None))
        visit.cookies.append((LOGIN_COOKIE, "", 0))
        return visit.redirect("/password" if result.must_change_password else "/")

    def _wait_until_known(self, bearer):
        """The services learn of a session from an event: wait (briefly) until one answers for it."""
        from .backend import Unreachable

        deadline = time.monotonic() + SESSION_PROPAGATION_SECONDS
        while time.monotonic() < deadline:
            try:
                answer = self.web.backends(bearer).get("intake", "/api/v1/me")
            except Unreachable:
                return
            if answer.status != 401:
                return
            time.sleep(0.05)
        log.warning("a new session was not known to intake in time")

    @page("POST", "/logout", password_change=True)
    def logout(self, visit):
        accounts.end_session(self.accounts, visit.person.bearer, visit.now)
        visit.cookies.append((SESSION_COOKIE, "", 0))
        return visit.redirect("/login")

    @page("GET", "/password", password_change=True)
    def password_form(self, visit):
        return visit.render("password.html", errors={})

    @page("POST", "/password", password_change=True)
    def change_password(self, visit):
        form = visit.request.form
        errors = {}
        if form.get("new_password", "") != form.get("new_password_again", ""):
            errors["new_password_again"] = ["两次输入的新密码不一致"]
        else:
            try:
                accounts.change_password(
                    self.accounts,
                    visit.person.account_id,
                    form.get("old_password", ""),
                    form.get("new_password", ""),
                    visit.now,
                )
            except accounts.AccountError as refusal:
                errors[getattr(refusal, "field", None) or "new_password"] = [str(refusal)]
        if errors:
            return visit.render("password.html", status=200, errors=errors)
        return visit.redirect("/?done=password")

    # -- 工作台 ---------------------------------------------------------------------------
    @page("GET", "/")
    def workbench(self, visit):
        if visit.person.role == "admin":
            return visit.redirect("/accounts")
        center_id = visit.center_id
        if center_id is None:
            return visit.render("workbench.html", sections=[], center_id=None)
        received = visit.api.get("intake", "/api/v1/cases", center_id=center_id, status="received", page_size=200)
        accepted = visit.api.get("intake", "/api/v1/cases", center_id=center_id, status="accepted", page_size=200)
        if not received.ok or not accepted.ok:
            return visit.refused(received if not received.ok else accepted)
        mediations = []
        for status in ("mediating", "agreement", "confirmed", "under_review"):
            for number in range(1, WORKBENCH_PAGES + 1):
                answer = visit.api.get("mediation", "/api/v1/cases", center_id=center_id, status=status, page=number)
                if not answer.ok:
                    return visit.refused(answer)
                mediations += answer.body["cases"]
                if len(answer.body["cases"]) < 50:
                    break
        referrals = visit.api.get("arbitration_link", "/api/v1/referrals")
        referral_rows = (
            [r for r in referrals.body.get("referrals", []) if r.get("center_id") == center_id] if referrals.ok else []
        )
        summaries = {c["case_id"]: c for c in received.body["cases"] + accepted.body["cases"]}
        sections = workbench.sections(
            received.body["cases"], mediations, referral_rows, summaries, self.web.zone, visit.today
        )
        return visit.render("workbench.html", sections=sections, center_id=center_id)

    # -- the style sheet ------------------------------------------------------------------
    @PageEntrypoint.decorator("GET", "/static/console.css")
    def style_sheet(self, request):
        response = Response((STATIC / "console.css").read_bytes(), mimetype="text/css")
        response.headers["Cache-Control"] = "max-age=300"
        return response

"""The console's web plumbing: the session cookie, CSRF tokens, templates, and one visit.

A `Visit` is one browser request: who is logged in (from the session cookie, checked by
the account store on every request), the CSRF token of that session, and the services
called with the person's own bearer. `page(...)` makes a method of `ConsolePages` a page:
no session → 303 to /login; a state-changing request without the session's CSRF token
→ 403 before anything is called; a person who must change the initial password is sent
to /password first.
"""

import functools
import hashlib
import hmac
import logging
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.common.centers import load_centers
from services.common.config import environment, timezone_name
from services.common.http import ApiEntrypoint

from . import accounts, labels
from .backend import Backends, Unreachable, backend_urls

log = logging.getLogger(__name__)

SESSION_COOKIE = "tj_session"
LOGIN_COOKIE = "tj_login"  # a random value before login, so the login form has a CSRF token too
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def csrf_token(secret):
    """The CSRF token of a session: derived from its secret, which only the cookie carries."""
    return hmac.new(secret.encode("utf-8"), b"tiaojie-csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret, sent):
    return bool(secret) and bool(sent) and hmac.compare_digest(csrf_token(secret), sent)


class WebSettings:
    """What the pages need besides the accounts: the services' addresses, the zone, the centers."""

    def __init__(self, env=None, zone_name=None):
        env = environment(env)
        self.urls = backend_urls(env)
        self.backends = lambda bearer: Backends(self.urls, bearer)
        self.zone = ZoneInfo(zone_name or timezone_name(env))
        self.cookie_secure = env.get("TIAOJIE_COOKIE_SECURE", "") == "1"
        self.centers = {c.center_id: c for c in load_centers()}
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=True,
            undefined=jinja2.ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(labels=labels, centers=self.centers)
        self.templates.filters.update(local_time=self.local_time, local_date=self.local_date, money=money)

    def local_time(self, value):
        from datetime import datetime

        if not value:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def local_date(self, value):
        from .workbench import last_day

        day = last_day(value, self.zone)
        return day.isoformat() if day else "—"


def money(value):
    if value in (None, ""):
        return "—"
    from decimal import Decimal

    return f"{Decimal(str(value)):,.2f} 元"


class ConsoleWeb(DependencyProvider):
    """The pages' settings, built once per container."""

    def setup(self):
        self.settings = WebSettings(zone_name=self.container.config.get("TIMEZONE"))

    def get_dependency(self, worker_ctx):
        return self.settings


class PageEntrypoint(ApiEntrypoint):
    """An http entrypoint whose unexpected failures are a Chinese page, not JSON."""

    def response_from_exception(self, exc):
        log.exception("unhandled error in %s %s", self.method, self.url)
        return Response(
            "<!DOCTYPE html><html lang='zh-CN'><meta charset='utf-8'><title>出错了</title>"
            "<p>系统出错了，请稍后再试；如果一直这样，请联系系统管理员。</p></html>",
            status=500,
            mimetype="text/html",
        )


class Visit:
    """One request of one person."""

    def __init__(self, service, request, person=None, login_secret=None):
        self.service = service
        self.request = request
        self.person = person
        self.settings = service.web
        self.now = service.accounts.clock.now()
        self.today = self.now.astimezone(self.settings.zone).date()
        self.cookies = []
        self._login_secret = login_secret

    # -- who and what may they do ---------------------------------------------------------
    @property
    def api(self):
        return self.settings.backends(self.person.bearer)

    @property
    def csrf(self):
        if self.person is not None:
            return csrf_token(self.person.bearer)
        return csrf_token(self._login_secret)

    @property
    def works_cases(self):
        return self.person is not None and self.person.role in ("staff", "head")

    @property
    def center_id(self):
        """The center the page shows: the person's own, or the one a district account chose."""
        if self.person.center_id:
            return self.person.center_id
        chosen = self.request.args.get("center_id")
        return chosen if chosen in self.settings.centers else None

    # -- answers --------------------------------------------------------------------------
    def render(self, template, status=200, **context):
        body = self.settings.templates.get_template(template).render(
            visit=self,
            person=self.person,
            csrf_token=self.csrf if (self.person or self._login_secret) else "",
            **context,
        )
        response = Response(body, status=status, mimetype="text/html")
        return self.finish(response)

    def redirect(self, location):
        return self.finish(Response("", status=303, headers={"Location": location}))

    def finish(self, response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        for name, value, max_age in self.cookies:
            response.set_cookie(
                name,
                value,
                max_age=max_age,
                path="/",
                httponly=True,
                samesite="Lax",
                secure=self.settings.cookie_secure,
            )
        return response

    def refused(self, answer, forbidden="您的账号无权查看或办理这项内容。"):
        """A service's 401/403/404 as the page a person sees."""
        if answer.status == 401:
            # The console knows the session but the service does not (any more): ended or disabled.
            return self.render(
                "error.html",
                status=401,
                title="请重新登录",
                text="您的登录已失效（可能已在别处退出或账号已停用），请重新登录。",
                back="/login",
                back_text="重新登录",
            )
        if answer.status == 403:
            return self.render("error.html", status=403, title="无权查看", text=forbidden)
        if answer.status == 404:
            return self.render("error.html", status=404, title="找不到", text="没有找到这个案件或页面。")
        return self.render(
            "error.html", status=502, title="暂时无法办理", text=f"服务返回了错误（{answer.status}），请稍后再试。"
        )


def page(method, url, roles=None, password_change=False):
    """A console page: signed in (else 303 /login), CSRF-checked when it changes state.

    `roles`: the roles that may open it (others get 403). `password_change`: the page is
    reachable while the initial password is still to be changed.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, request, **kwargs):
            secret = request.cookies.get(SESSION_COOKIE)
            person = accounts.session(self.accounts, secret, self.accounts.clock.now()) if secret else None
            if person is None:
                visit = Visit(self, request)
                if secret:
                    visit.cookies.append((SESSION_COOKIE, "", 0))
                return visit.redirect("/login")
            visit = Visit(self, request, person)
            if request.method != "GET" and not csrf_matches(person.bearer, request.form.get("csrf_token")):
                return visit.render(
                    "error.html", status=403, title="请求无效", text="页面已过期，请返回重新填写后提交。"
                )
            if person.must_change_password and not password_change:
                return visit.redirect("/password")
            if roles and person.role not in roles:
                return visit.render("error.html", status=403, title="无权查看", text="您的账号无权使用这个页面。")
            try:
                return fn(self, visit, **kwargs)
            except Unreachable as exc:
                log.warning("service unreachable", extra={"service": exc.service})
                return visit.render(
                    "error.html", status=503, title="暂时无法办理", text="有一个服务暂时没有响应，请稍后再试。"
                )

        return PageEntrypoint.decorator(method, url)(handler)

    return decorate


def public_page(method, url):
    """A page without a session (the login form): its CSRF token comes from a pre-login cookie."""

    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, request, **kwargs):
            login_secret = request.cookies.get(LOGIN_COOKIE)
            visit = Visit(self, request, login_secret=login_secret)
            if not login_secret:
                visit._login_secret = secrets.token_urlsafe(32)
                visit.cookies.append((LOGIN_COOKIE, visit._login_secret, None))
            return fn(self, visit, **kwargs)

        return PageEntrypoint.decorator(method, url)(handler)

    return decorate

"""调解员名册, 投诉, 统计 and 账号管理: the console's pages beside the cases."""

import uuid
from datetime import date
from urllib.parse import urlencode

from services.common import limits
from services.common.report_charts import center_chart, share_chart

from . import accounts, forms, labels
from .web import page

EXPIRY_WARNING_DAYS = 30


def roster_rows(mediators, today):
    """The roster with each certificate's standing in words: valid, expiring within 30 days, expired."""
    rows = []
    for mediator in mediators:
        expires = mediator.get("certificate_expires")
        left = (date.fromisoformat(expires) - today).days if expires else None
        if not mediator.get("certificate_valid"):
            standing, css = "证书无效或已过期，不能指派", "expired"
        elif left is not None and left <= EXPIRY_WARNING_DAYS:
            standing, css = f"证书将在 {left} 天后到期，请及时换证", "expiring"
        else:
            standing, css = "证书有效", ""
        rows.append({**mediator, "standing": standing, "css": css, "days_left": left})
    return sorted(rows, key=lambda r: (r["css"] == "", r["days_left"] if r["days_left"] is not None else 10**6))


def complaint_filters(visit):
    """The list's filters from the query string: a district account's center (none: all), the state."""
    filters = {}
    if visit.person.role == "district" and visit.center_id:
        filters["center_id"] = visit.center_id
    if visit.request.args.get("status") in labels.COMPLAINT_STATUSES:
        filters["status"] = visit.request.args["status"]
    return filters


def complaint_page(visit):
    page = visit.request.args.get("page", "1")
    return int(page) if page.isdigit() and 1 <= int(page) <= limits.MAX_PAGE else 1


class OfficePages:
    # -- 调解员名册 -----------------------------------------------------------------------
    @page("GET", "/mediators", roles=("staff", "head", "district"))
    def roster(self, visit):
        return self._roster(visit, {}, {})

    @page("POST", "/mediators", roles=("head",))
    def register_mediator(self, visit):
        form = visit.request.form
        body = forms.api_body(
            form, self.web.zone, fields=("name", "certificate_no", "certificate_expires", "full_time")
        )
        body["center_id"] = visit.person.center_id
        answer = visit.api.post("mediation", "/api/v1/mediators", body, idempotency_key=form.get("form_key"))
        if answer.status == 422:
            return self._roster(visit, form, labels.field_errors(answer.errors()), status=422)
        if not answer.ok:
            return visit.refused(answer)
        return visit.redirect("/mediators?done=1")

    def _roster(self, visit, form, errors, status=200):
        center_id = visit.center_id
        mediators = []
        if center_id:
            answer = visit.api.get("mediation", "/api/v1/mediators", center_id=center_id)
            if not answer.ok:
                return visit.refused(answer)
            mediators = answer.body["mediators"]
        return visit.render(
            "mediators.html",
            status=status,
            center_id=center_id,
            mediators=roster_rows(mediators, visit.today),
            values={k: form.get(k, "") for k in form.keys()},
            errors=errors,
            form_key=str(uuid.uuid4()),
            done=visit.request.args.get("done") == "1",
        )

    # -- 投诉 -----------------------------------------------------------------------------
    # Staff and heads file complaints; heads list and answer their center's, the district
    # every center's (mediation decides who may: CONTRACTS §7).
    @page("GET", "/complaints", roles=("staff", "head", "district"))
    def complaints(self, visit):
        return self._complaints(visit)

    @page("POST", "/complaints", roles=("staff", "head"))
    def file_complaint(self, visit):
        form = visit.request.form
        values = {k: form.get(k, "") for k in form.keys()}
        body = {"center_id": visit.person.center_id, "text": form.get("text", "")}
        number = form.get("case_number", "").strip()
        if number:
            found = visit.api.get("intake", "/api/v1/cases", q=number, center_id=visit.person.center_id)
            matches = [c for c in found.body.get("cases", []) if c["case_number"] == number] if found.ok else []
            if not matches:
                errors = {"case_number": ["本中心没有这个案件编号"]}
                return self._complaints(visit, values, errors, form.get("form_key"), status=422)
            body["case_id"] = matches[0]["case_id"]
        answer = visit.api.post("mediation", "/api/v1/complaints", body, idempotency_key=form.get("form_key"))
        if answer.status == 422:
            errors = labels.field_errors(answer.errors())
            return self._complaints(visit, values, errors, form.get("form_key"), status=422)
        if not answer.ok:
            return visit.refused(answer)
        return visit.redirect("/complaints?done=1")

    @page("POST", "/complaints/<string:complaint_id>/answer", roles=("head", "district"))
    def answer_complaint(self, visit, complaint_id):
        form = visit.request.form
        text = form.get("answer", "")
        answer = visit.api.post(
            "mediation",
            f"/api/v1/complaints/{complaint_id}/answer",
            {"answer": text},
            idempotency_key=form.get("form_key"),
        )
        if answer.status == 422:
            answering = {"complaint_id": complaint_id, "answer": text, "errors": labels.field_errors(answer.errors())}
            return self._complaints(visit, status=422, answering=answering)
        if answer.status == 409:
            return self._complaints(visit, status=409, conflict="这件投诉已经答复过了，不能再次答复。")
        if not answer.ok:
            return visit.refused(answer, forbidden="只有本中心负责人或区级账号可以答复这件投诉。")
        return visit.redirect("/complaints?" + urlencode({**complaint_filters(visit), "answered": 1}))

    def _complaints(self, visit, values=None, errors=None, form_key=None, status=200, answering=None, conflict=None):
        """The page: the filing form for those who file, the list with answer forms for those who answer."""
        listing, filters = None, complaint_filters(visit)
        if visit.person.role in ("head", "district"):
            found = visit.api.get("mediation", "/api/v1/complaints", **filters, page=complaint_page(visit))
            if not found.ok:
                return visit.refused(found)
            listing = found.body
        return visit.render(
            "complaints.html",
            status=status,
            values=values or {},
            errors=errors or {},
            form_key=form_key or str(uuid.uuid4()),
            listing=listing,
            filters=filters,
            filter_query=urlencode(filters),
            statuses=labels.COMPLAINT_STATUSES,
            answering=answering or {},
            conflict=conflict,
            new_key=lambda: str(uuid.uuid4()),
            done=visit.request.args.get("done") == "1",
            answered=visit.request.args.get("answered") == "1",
        )

    # -- 统计 -----------------------------------------------------------------------------
    @page("GET", "/report", roles=("staff", "head", "district"))
    def report(self, visit):
        try:
            year = int(visit.request.args.get("year", visit.today.year))
        except ValueError:
            year = visit.today.year
        answer = visit.api.get("metrics", "/api/v1/report", year=year)
        if not answer.ok:
            return visit.refused(answer)
        rows = answer.body["centers"]
        target = answer.body["target"]
        goal = answer.body.get("milestone")
        demonstration = {c.center_id for c in self.web.centers.values() if c.demonstration}
        share = (
            sum(1 for r in rows if r.get("success_rate") is not None and r["success_rate"] >= target) / len(rows)
            if len(rows) > 1
            else None
        )
        return visit.render(
            "report.html",
            year=year,
            rows=rows,
            target=target,
            goal=goal,
            share=share,
            center_chart=center_chart(rows, demonstration, target),
            share_chart=share_chart(share, goal) if share is not None else "",
            complaints=(answer.body.get("summary") or {}).get("complaints") if len(rows) > 1 else None,
        )

    # -- 账号管理 (admin) -----------------------------------------------------------------
    @page("GET", "/accounts", roles=("admin",))
    def account_list(self, visit):
        return self._accounts(visit, {}, {})

    @page("POST", "/accounts", roles=("admin",))
    def create_account(self, visit):
        form = visit.request.form
        values = {k: form.get(k, "").strip() for k in form.keys()}
        try:
            password = accounts.create_account(
                self.accounts,
                values.get("login", ""),
                values.get("name", ""),
                values.get("role", ""),
                center_id=values.get("center_id") or None,
                now=visit.now,
                actor=visit.person.actor,
            )
        except accounts.AccountError as refusal:
            field = getattr(refusal, "field", None) or "login"
            return self._accounts(visit, values, {field: [str(refusal)]}, status=422)
        return self._accounts(visit, {}, {}, created=(values["login"], password))

    @page("POST", "/accounts/<string:login>/disable", roles=("admin",))
    def disable_account(self, visit, login):
        if visit.request.form.get("confirmed") != "1":
            return visit.render("confirm_disable.html", login=login)
        try:
            accounts.disable_account(self.accounts, login, now=visit.now, actor=visit.person.actor)
        except accounts.UnknownAccount:
            return visit.render("error.html", status=404, title="找不到", text="没有这个账号。")
        return visit.redirect("/accounts")

    def _accounts(self, visit, values, errors, status=200, created=None):
        return visit.render(
            "accounts.html",
            status=status,
            accounts=accounts.list_accounts(self.accounts, visit.now),
            values=values,
            errors=errors,
            created=created,
            center_options=[(c.center_id, c.name) for c in self.web.centers.values()],
        )

"""案件登记, 案件查询 and 案件详情: the case pages, each a form over intake's and mediation's APIs.

The steps a case page offers are in `case_actions`, its history in words in `case_timeline`.
"""

import uuid
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from services.events import ReferralDeclined

from . import forms, labels, workbench
from .backend import Unreachable
from .case_actions import ACTIONS, allowed_actions
from .case_timeline import default_guidance, shown_looks, timeline
from .web import page

CASE_WORKERS = ("staff", "head")
READERS = ("staff", "head", "district")
SEARCH_PAGE_SIZE = 20


class CasePages:
    # -- 案件登记 -------------------------------------------------------------------------
    @page("GET", "/cases/new", roles=CASE_WORKERS)
    def registration_form(self, visit):
        return self._registration(visit, {"workers_involved": "1"}, {})

    @page("POST", "/cases/new", roles=CASE_WORKERS)
    def register(self, visit):
        form = visit.request.form
        if "add_claim" in form:
            return self._registration(visit, form, {}, extra_line=True)
        body = forms.application_body(form, self.web.zone)
        body.setdefault("center_id", visit.person.center_id)
        answer = visit.api.post("intake", "/api/v1/cases", body, idempotency_key=form.get("form_key"))
        if answer.status == 422:
            errors = labels.field_errors(forms.renumbered_errors(form, answer.errors()))
            return self._registration(visit, form, errors, status=422)
        if not answer.ok:
            return visit.refused(answer)
        return visit.redirect(f"/cases/{answer.body['case_id']}?registered=1")

    def _registration(self, visit, form, errors, status=200, extra_line=False):
        lines = forms.claim_lines(form)
        if extra_line:
            lines.append(len(lines))
        values = {key: form.get(key, "") for key in form.keys()}
        return visit.render(
            "case_new.html",
            status=status,
            values=values,
            errors=errors,
            claim_lines=lines,
            form_key=form.get("form_key") or str(uuid.uuid4()),
        )

    # -- 案件查询 -------------------------------------------------------------------------
    @page("GET", "/cases", roles=READERS)
    def search(self, visit):
        args = visit.request.args
        query = {key: args.get(key, "").strip() for key in ("q", "status", "received_from", "received_to")}
        query["center_id"] = visit.center_id or ""
        try:
            number = max(1, int(args.get("page", "1")))
        except ValueError:
            number = 1
        answer = visit.api.get(
            "intake", "/api/v1/cases", page=number, page_size=SEARCH_PAGE_SIZE, **{k: v for k, v in query.items() if v}
        )
        errors = {}
        if answer.status == 422:
            errors = labels.field_errors(answer.errors())
        elif not answer.ok:
            return visit.refused(answer)
        result = answer.body if answer.ok else {"cases": [], "total": 0}
        pages = max(1, -(-result.get("total", 0) // SEARCH_PAGE_SIZE))
        return visit.render(
            "cases.html",
            query=query,
            result=result,
            page=number,
            pages=pages,
            errors=errors,
            statuses=labels.INTAKE_STATUSES,
            link_query=urlencode({k: v for k, v in query.items() if v}),
        )

    # -- 案件详情 -------------------------------------------------------------------------
    @page("GET", "/cases/<string:case_id>", roles=READERS)
    def case_page(self, visit, case_id):
        return self._case(visit, case_id)

    @page("POST", "/cases/<string:case_id>/actions/<string:action>", roles=CASE_WORKERS)
    def case_action(self, visit, case_id, action):
        step = ACTIONS.get(action)
        if step is None:
            return visit.render("error.html", status=404, title="找不到", text="没有这项操作。")
        form = visit.request.form
        if step.confirm and form.get("confirmed") != "1":
            case = visit.api.get("intake", f"/api/v1/cases/{case_id}")
            if not case.ok:
                return visit.refused(case)
            hidden = {key: form.get(key) for key in form.keys() if key not in ("csrf_token", "confirmed")}
            return visit.render("confirm.html", step=step, case=case.body, hidden=hidden, case_id=case_id)
        body = forms.api_body(form, self.web.zone, fields=step.fields)
        body.update(dict(step.fixed))
        answer = visit.api.post(
            step.service, f"/api/v1/cases/{case_id}/{step.path}", body, idempotency_key=form.get("form_key")
        )
        if answer.ok:
            return visit.redirect(f"/cases/{case_id}?done={action}")
        if answer.status == 422:
            return self._case(visit, case_id, failed=(action, form, labels.field_errors(answer.errors())), status=422)
        if answer.status == 409:
            late = labels.late_step(answer.body.get("message"), self.web.zone)
            if late and "occurred_at" in step.fields:  # dated after the deadline: said beside the date
                return self._case(visit, case_id, failed=(action, form, {"occurred_at": [late]}), status=409)
            state = labels.status(answer.body.get("status"))
            problem = (
                late
                or labels.conflict(answer.body.get("message"))
                or f"案件现在的状态是“{state}”，不能{step.title}。可能有人刚刚办理过，请核对下面的信息。"
            )
            return self._case(visit, case_id, problem=problem, status=409)
        return visit.refused(answer)

    # -- 文书 (the documents service, CONTRACTS §8) ---------------------------------------
    @page("POST", "/cases/<string:case_id>/documents", roles=CASE_WORKERS)
    def issue_document(self, visit, case_id):
        form = visit.request.form
        kind = form.get("kind", "")
        answer = visit.api.post(
            "documents", f"/api/v1/cases/{case_id}/documents", {"kind": kind}, idempotency_key=form.get("form_key")
        )
        if answer.ok:
            return visit.redirect(f"/cases/{case_id}?issued={kind}#documents")
        if answer.status in (409, 422):
            title = labels.DOCUMENT_KINDS.get(kind, "这份文书")
            return self._case(visit, case_id, problem=f"案件现在的状态不能出具{title}。", status=answer.status)
        return visit.refused(answer)

    @page("GET", "/documents/<string:document_id>.<string:extension>", roles=READERS)
    def document_file(self, visit, document_id, extension):
        if extension not in ("pdf", "docx"):
            return visit.render("error.html", status=404, title="找不到", text="没有这种格式的文书。")
        answer = visit.api.get("documents", f"/api/v1/documents/{document_id}.{extension}")
        if not answer.ok:
            return visit.refused(answer, forbidden="这份文书不属于您所在的中心，您的账号无权查看。")
        response = Response(answer.content, status=200, mimetype=answer.content_type.split(";")[0])
        if answer.disposition:
            response.headers["Content-Disposition"] = answer.disposition
        return visit.finish(response)

    def _documents(self, visit, case_id):
        """The case's documents and the kinds its state allows, or None when the service does not answer."""
        try:
            answer = visit.api.get("documents", f"/api/v1/cases/{case_id}/documents")
        except Unreachable:
            return None
        if answer.status == 404:  # the case file is not built yet (it follows the events)
            return {"documents": [], "kinds_allowed": []}
        return answer.body if answer.ok else None

    @staticmethod
    def _complaints_about(visit, case):
        """The complaints about the case, for those who read complaints (the center's head, the
        district; staff get 403 by design); none when mediation does not answer."""
        if visit.person.role not in ("head", "district"):
            return []
        answer = visit.api.get("mediation", "/api/v1/complaints", case_id=case["case_id"], center_id=case["center_id"])
        return answer.body.get("complaints", []) if answer.ok else []

    def _case(self, visit, case_id, failed=None, problem=None, status=200):
        case = visit.api.get("intake", f"/api/v1/cases/{case_id}")
        if not case.ok:
            return visit.refused(case, forbidden="这个案件不属于您所在的中心，您的账号无权查看或办理。")
        intake = case.body
        mediation_answer = visit.api.get("mediation", f"/api/v1/cases/{case_id}")
        mediation = mediation_answer.body if mediation_answer.ok else None
        histories = [("intake", visit.api.get("intake", f"/api/v1/cases/{case_id}/history").body.get("events", []))]
        if mediation is not None:
            answer = visit.api.get("mediation", f"/api/v1/cases/{case_id}/history")
            histories.append(("mediation", answer.body.get("events", []) if answer.ok else []))
        referrals = visit.api.get("arbitration_link", "/api/v1/referrals", case_id=case_id)
        documents = self._documents(visit, case_id)
        looks = visit.api.get("intake", f"/api/v1/cases/{case_id}/looks")  # 403 unless district or head
        complaints = self._complaints_about(visit, intake)
        steps = allowed_actions(intake["status"], mediation) if visit.works_cases else []
        mediators = []
        if "assign" in steps:
            roster = visit.api.get("mediation", "/api/v1/mediators", center_id=intake["center_id"])
            mediators = roster.body.get("mediators", []) if roster.ok else []
        zone = self.web.zone
        deadline = workbench.deadline(
            (mediation or {}).get("deadline") or intake.get("mediation_deadline"), zone, visit.today
        )
        shown_status = mediation["status"] if mediation else intake["status"]
        waiting_for_mediation = intake["status"] == "accepted" and mediation is None
        failed_action, failed_form, failed_errors = failed or (None, {}, {})
        return visit.render(
            "case.html",
            status=status,
            case=intake,
            mediation=mediation,
            shown_status=shown_status,
            deadline=deadline if shown_status in ("received", "mediating") else None,
            performance_due=workbench.deadline(
                ((mediation or {}).get("agreement") or {}).get("performance_due"), zone, visit.today
            )
            if shown_status in ("agreement", "confirmed")
            else None,
            guidance=default_guidance((mediation or {}).get("performance") or {}),
            timeline=timeline(histories, self.web),
            referrals=[with_institute_reason(r) for r in referrals.body.get("referrals", [])] if referrals.ok else [],
            steps=[ACTIONS[s] for s in steps],
            documents=documents,
            looks=shown_looks(looks.body.get("looks", [])) if looks.ok else None,
            complaints=complaints,
            issued=labels.DOCUMENT_KINDS.get(visit.request.args.get("issued", "")),
            mediators=mediators,
            waiting_for_mediation=waiting_for_mediation,
            failed_action=failed_action,
            values={key: failed_form.get(key, "") for key in failed_form.keys()} if failed else {},
            errors=failed_errors,
            problem=problem,
            done=ACTIONS[visit.request.args["done"]].title if visit.request.args.get("done") in ACTIONS else None,
            registered=visit.request.args.get("registered") == "1",
            form_key=str(uuid.uuid4()),
        )


def with_institute_reason(referral):
    """A referral with the reason the institute gave when it declined it (the link's status API
    opens it in the referral's history), or as it was. A review's reason is the mediation's: the
    page gives it there."""
    reasons = [e.get("reason") for e in referral.get("history", []) if e.get("event_type") == ReferralDeclined.name]
    return {**referral, "institute_reason": reasons[-1]} if reasons and reasons[-1] else referral

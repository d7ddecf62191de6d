"""案件登记, 案件查询 and 案件详情: the case pages, each a form over intake's and mediation's APIs."""

import dataclasses
import uuid
from datetime import datetime
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from . import forms, labels, workbench
from .backend import Unreachable
from .web import page

CASE_WORKERS = ("staff", "head")
READERS = ("staff", "head", "district")
SEARCH_PAGE_SIZE = 20


@dataclasses.dataclass(frozen=True)
class Action:
    """One thing that can be done to a case, as a form on its page."""

    key: str
    title: str  # the button says what it does
    service: str
    path: str  # after /api/v1/cases/{case_id}/
    fields: tuple = ()
    fixed: tuple = ()  # (field, value) pairs the button implies
    confirm: str | None = None  # an irreversible step asks once more, in these words
    hint: str = ""


ACTIONS = {
    a.key: a
    for a in (
        Action(
            "accept",
            "受理",
            "intake",
            "acceptance",
            ("occurred_at",),
            fixed=(("decision", "accept"),),
            hint="受理后案件转入调解，须指派持证调解员。",
        ),
        Action(
            "reject",
            "不予受理",
            "intake",
            "acceptance",
            ("reason", "occurred_at"),
            fixed=(("decision", "reject"),),
            confirm="不予受理后不能撤销，申请人将被告知可直接申请仲裁。确定不予受理吗？",
            hint="须写明理由，书面告知申请人。",
        ),
        Action(
            "withdraw_application",
            "撤回申请",
            "intake",
            "withdrawal",
            ("reason", "occurred_at"),
            confirm="撤回后案件结束，不能恢复。确定撤回吗？",
        ),
        Action(
            "assign",
            "指派调解员",
            "mediation",
            "assignment",
            ("mediator_id", "occurred_at"),
            hint="只能指派本中心证书有效的调解员。",
        ),
        Action("session", "记录调解", "mediation", "sessions", ("held_at", "summary")),
        Action(
            "extension",
            "延期",
            "mediation",
            "extension",
            ("days", "parties_consent", "occurred_at"),
            hint="延长调解期限须经双方当事人同意并记录在案。",
        ),
        Action(
            "agreement",
            "达成协议",
            "mediation",
            "agreement",
            ("terms", "amount", "performance_due", "occurred_at"),
            confirm="达成协议后调解结束，协议内容不能修改。确定记录这份调解协议吗？",
        ),
        Action(
            "failure",
            "调解不成",
            "mediation",
            "failure",
            ("reason_code", "reason", "occurred_at"),
            confirm="记录调解不成后调解结束，案件将移送仲裁。确定吗？",
            hint="须由指派的持证调解员记录；被申请人拒绝调解的，未指派调解员也可记录。",
        ),
        Action(
            "withdraw_mediation",
            "撤回",
            "mediation",
            "withdrawal",
            ("reason", "occurred_at"),
            confirm="撤回后案件结束，不能恢复。确定撤回吗？",
        ),
        Action(
            "review_request",
            "申请仲裁审查",
            "mediation",
            "review-request",
            ("occurred_at",),
            confirm="将以双方共同申请的名义把协议送仲裁院审查。确定申请吗？",
            hint="双方当事人须在协议生效后 15 日内共同申请。",
        ),
        Action(
            "performance",
            "记录履行情况",
            "mediation",
            "performance",
            ("performed", "occurred_at"),
            confirm="履行情况记录后不能更改；未履行的协议将移送仲裁（调解书已经仲裁院确认的，由当事人申请法院强制执行）。确定吗？",
        ),
        Action("survey", "记录满意度", "mediation", "survey", ("score", "comment", "occurred_at")),
    )
}


def allowed_actions(intake_status, mediation):
    """Exactly the actions the case's state allows (CONTRACTS §2 and DOMAIN.md)."""
    if intake_status == "received":
        return ["accept", "reject", "withdraw_application"]
    if mediation is None:
        return []
    status = mediation["status"]
    if status == "mediating":
        steps = ["assign"]
        if mediation.get("mediator"):
            steps += ["session", "agreement"]
        return steps + ["extension", "failure", "withdraw_mediation"]
    steps = []
    if status == "agreement" and mediation.get("review") is None:
        steps.append("review_request")
    if status in ("agreement", "confirmed"):
        steps.append("performance")
    if status != "mediating" and mediation.get("survey") is None:
        steps.append("survey")
    return steps


def timeline(histories, settings):
    """Every event of the case from every service, in the order it happened, with who did it."""
    entries = []
    for service, events in histories:
        for event in events:
            if event["event_type"] in MIRRORED:
                continue
            actor = event.get("actor") or {}
            entries.append(
                {
                    "occurred_at": event.get("occurred_at"),
                    "recorded_at": event.get("recorded_at"),
                    "what": labels.EVENTS.get(event["event_type"], event["event_type"]),
                    "who": actor_words(actor, event["event_type"]),
                    "detail": event_detail(event.get("data") or {}, settings.zone),
                    "service": service,
                    "keyed_in_later": keyed_in_later(event),
                }
            )
    return sorted(entries, key=lambda e: (e["occurred_at"] or "", e["recorded_at"] or ""))


# A step entered more than this after it happened shows when it was entered (补录).
KEYED_IN_LATER = 15 * 60


def keyed_in_later(event):
    """When a person's step was recorded, if well after it happened (DOMAIN.md "Time rules":
    when it happened, beside when it was recorded); None otherwise and for the system's steps."""
    occurred, recorded = event.get("occurred_at"), event.get("recorded_at")
    if not occurred or not recorded or event["event_type"] in SYSTEM_EVENTS:
        return None
    late = (datetime.fromisoformat(recorded) - datetime.fromisoformat(occurred)).total_seconds()
    return recorded if late > KEYED_IN_LATER else None


# intake's copies of mediation's steps (how it ended, the withdrawal it refused): the
# timeline shows mediation's own event once.
MIRRORED = {"MediationOutcomeNoted", "WithdrawalOverruled"}

# Steps the system takes by itself (a deadline passing, the institute's answer arriving).
SYSTEM_EVENTS = {"MediationOpened", "MediationExpired", "AgreementDefaulted", "ReviewOutcomeRecorded"}


# One visit of the case page is four looks (intake's and mediation's case and history),
# taken within a second or two: shown as one row.
LOOKS_TOGETHER_SECONDS = 10


def shown_looks(looks):
    """The case's looks newest first, in words; one person's looks within a few seconds of
    each other in one row, their routes joined (the API keeps every look)."""
    rows = []
    for look in reversed(looks):
        at = datetime.fromisoformat(look["looked_at"])
        route = labels.LOOK_ROUTES.get(look["route"], look["route"])
        row = rows[-1] if rows else None
        if row and row["actor"] == look["actor"] and (row["since"] - at).total_seconds() <= LOOKS_TOGETHER_SECONDS:
            row["since"] = at
            if route not in row["routes"]:
                row["routes"].append(route)
            continue
        rows.append({"actor": look["actor"], "looked_at": look["looked_at"], "since": at, "routes": [route]})
    return [
        {
            "looked_at": row["looked_at"],
            "who": actor_words(row["actor"]) if "operator" not in row["actor"] else "运维人员",
            "route": "、".join(reversed(row["routes"])),
        }
        for row in rows
    ]


def actor_words(actor, event_type=None):
    if actor.get("name"):
        return f"{actor['name']}（{labels.ROLES.get(actor.get('role'), actor.get('role', ''))}）"
    if actor.get("token"):
        role, _, center = actor["token"].partition(":")
        return f"{labels.MACHINE_ROLES.get(role, role)}{' ' + center if center and center != 'None' else ''}"
    return "系统自动" if event_type in SYSTEM_EVENTS else "（未记录）"


def event_detail(data, zone=None):
    """A short line of what the step recorded (no id numbers or phones)."""
    if data.get("ended_with") in labels.MEDIATION_ENDINGS:  # a withdrawal refused: the mediation had ended
        ended = datetime.fromisoformat(data["ended_at"])
        day = (ended.astimezone(zone) if zone else ended).date().isoformat()
        return f"调解已于 {day} {labels.MEDIATION_ENDINGS[data['ended_with']]}而结束，没有可撤回的申请"
    parts = []
    if data.get("kind") in labels.DOCUMENT_KINDS:
        parts.append(f"{labels.DOCUMENT_KINDS[data['kind']]} {data.get('number') or ''}".strip())
    if data.get("mediator_name"):
        parts.append(f"调解员：{data['mediator_name']}")
    if data.get("reason_code") in labels.FAILURE_REASONS:
        parts.append(labels.FAILURE_REASONS[data["reason_code"]])
    if data.get("reason"):
        parts.append(f"理由：{data['reason']}")
    if data.get("summary"):
        parts.append(f"情况：{data['summary']}")
    if data.get("days"):
        parts.append(f"延长 {data['days']} 天")
    if data.get("amount"):
        parts.append(f"金额：{data['amount']} 元")
    if data.get("performance_due"):
        parts.append(f"履行期限：{data['performance_due']}")
    if "performed" in data:
        parts.append("已履行" if data["performed"] else "未履行")
    if data.get("score"):
        parts.append(f"满意度：{data['score']} 分")
    if data.get("decision") in ("confirmed", "refused"):
        parts.append("仲裁院确认" if data["decision"] == "confirmed" else "仲裁院不予确认")
    parts.extend(default_guidance(data))
    return "；".join(parts)


def default_guidance(performance):
    """What the parties may do after a default (the default's `guidance`), in Chinese; [] otherwise."""
    words = []
    if performance.get("guidance") in labels.DEFAULT_GUIDANCE:
        words.append(labels.DEFAULT_GUIDANCE[performance["guidance"]])
    if performance.get("payment_order_possible"):
        words.append(labels.PAYMENT_ORDER)
    return words


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
            referrals=referrals.body.get("referrals", []) if referrals.ok else [],
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

"""The steps staff take on a case (受理, 指派调解员, 达成协议 …), each a form on its page, and
exactly which of them the case's state allows."""

import dataclasses


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

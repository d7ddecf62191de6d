"""案件详情's history in words: every service's events as one timeline with who did each step
(and when a late one was keyed in), who looked at the case, and what a default leaves the parties."""

from datetime import datetime

from . import labels


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

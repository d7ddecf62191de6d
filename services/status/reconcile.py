"""The reconciliation of the event stores against each other and against the projections,
one check per pair of stores, and the checks a stopped service's queues explain (skipped)."""

import collections

import psycopg2

from services import registry
from services.arbitration_link.domain import ANSWERS as REPLY_ANSWERS
from services.arbitration_link.domain import trigger_for
from services.common.config import database_url
from services.common.messaging import inbox_handlers
from services.events import (
    AgreementDefaulted,
    ApplicationReceived,
    ApplicationWithdrawn,
    CaseAccepted,
    CaseNotAccepted,
    ComplaintAnswered,
    ComplaintFiled,
    DocumentIssued,
    MediationExpired,
    MediationFailed,
    MediationOpened,
    ReferralOpened,
    ReferralSent,
    ReviewDecided,
    ReviewRequested,
)
from services.metrics.readmodel import CLOSURES

# How the institute answers the link.
ANSWERS = (*REPLY_ANSWERS, ReviewDecided.name)


def _query(name, sql, params=()):
    conn = psycopg2.connect(database_url(name), connect_timeout=3)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def _events(name, types):
    """`(event_id, event_type, case_id, center_id, data->>'type')` of `types` in a service's store."""
    return _query(
        name,
        "SELECT event_id::text, event_type, case_id, center_id, data->>'type' FROM events WHERE event_type = ANY(%s)",
        (list(types),),
    )


def _check(name, expected, actual, detail=None):
    return {
        "check": name,
        "expected": expected,
        "actual": actual,
        "ok": expected == actual,
        **({"detail": detail} if detail else {}),
    }


def _skipped(name, reason):
    return {"check": name, "expected": None, "actual": None, "ok": None, "skipped": reason}


# The service whose work a check measures, by the check's name: while that service is down,
# what it has not applied waits in its queues, and the check is skipped, not a mismatch.
CHECKED_SERVICE = {
    "accepted cases opened in mediation": "mediation",
    # each of the two applies the other's withdrawals
    "withdrawals (intake = mediation)": ("intake", "mediation"),
    "case files (intake store = documents)": "documents",
    "cases closed (stores = metrics)": "metrics",
    "cases received (intake store = metrics)": "metrics",
    "closures referred to arbitration": "arbitration_link",
    "complaints (mediation store = metrics)": "metrics",
    "documents issued (events = documents on record)": "documents",
    "referrals opened and sent": "arbitration_link",
    # The institute's answers wait in `arbitration.replies.link` until the link reads them.
    "referrals answered or on arbitration.referrals": "arbitration_link",
    "referrals pending (link store = metrics)": "metrics",
}


def skip_down(checks, down):
    """The failed checks of services that are down, marked skipped ("<service> is down")."""
    marked = []
    for check in checks:
        service = CHECKED_SERVICE.get(check["check"]) or check["check"].removeprefix("events delivered to ")
        stopped = [s for s in ((service,) if isinstance(service, str) else service) if s in down]
        if check["ok"] is False and stopped:
            check = {**check, "ok": None, "skipped": f"{stopped[0]} is down"}
        marked.append(check)
    return marked


def reconcile(names, metrics, queues):
    checks = []
    # Every event a service consumes reached it: its inbox holds every such event id.
    for name in names:
        wanted = collections.defaultdict(set)
        for source, event_type, _ in inbox_handlers(registry.service_class(name)):
            wanted[source].add(event_type)
        if not wanted:
            continue
        expected = set()
        for source, types in wanted.items():
            if source in names:
                expected |= {row[0] for row in _events(source, types)}
        seen = {row[0] for row in _query(name, "SELECT DISTINCT event_id::text FROM inbox")}
        missing = expected - seen
        checks.append(
            _check(
                f"events delivered to {name}",
                len(expected),
                len(expected) - len(missing),
                sorted(missing)[:5] if missing else None,
            )
        )

    if "intake" in names and "metrics" in names and not metrics.get("metrics"):
        checks.append(_skipped("cases received and closed (stores = metrics)", "metrics is down"))
    elif "intake" in names and "metrics" in names:
        samples = metrics.get("metrics", {})
        received = collections.Counter(r[3] for r in _events("intake", {ApplicationReceived.name}))
        projected = collections.Counter()
        for labels, value in samples.get("tiaojie_cases_received_total", []):
            projected[labels["center"]] += int(value)
        checks.append(
            _check(
                "cases received (intake store = metrics)",
                dict(sorted(received.items())),
                {c: n for c, n in sorted(projected.items()) if n},
            )
        )
        if "mediation" in names:
            types = set().union(*(t for _, t in CLOSURES))
            by_case = collections.defaultdict(set)
            centers = {}
            for source in ("intake", "mediation"):
                for _, event_type, case_id, center_id, _ in _events(source, types):
                    by_case[case_id].add(event_type)
                    centers[case_id] = center_id
            outcomes = collections.Counter()
            for case_id, seen in by_case.items():
                outcome = next(o for o, t in CLOSURES if seen & t)
                outcomes[f"{centers[case_id]}/{outcome}"] += 1
            closed = collections.Counter()
            for labels, value in samples.get("tiaojie_cases_closed_total", []):
                if value:
                    closed[f"{labels['center']}/{labels['outcome']}"] += int(value)
            checks.append(
                _check("cases closed (stores = metrics)", dict(sorted(outcomes.items())), dict(sorted(closed.items())))
            )

    if "mediation" in names and "metrics" in names:
        checks.append(_reconcile_complaints(metrics))

    if "intake" in names and "mediation" in names:
        accepted = {r[2] for r in _events("intake", {CaseAccepted.name})}
        withdrawn = {r[2] for r in _events("intake", {ApplicationWithdrawn.name})}
        opened = {r[2] for r in _events("mediation", {MediationOpened.name})}
        lost = (accepted - withdrawn) - opened
        checks.append(
            _check(
                "accepted cases opened in mediation",
                len(accepted - withdrawn),
                len((accepted - withdrawn) & opened),
                sorted(lost)[:5] if lost else None,
            )
        )

    if "intake" in names and "mediation" in names:
        checks.append(_reconcile_withdrawals())

    if "arbitration_link" in names and {"intake", "mediation"} <= set(names):
        checks += _reconcile_referrals(metrics, queues)
    if "documents" in names:
        checks += _reconcile_documents(names)
    return checks


def _reconcile_withdrawals():
    """One truth for withdrawal (docs/EVENTS.md): of the cases mediation has, intake says
    `withdrawn` exactly of those mediation says `withdrawn`."""
    in_mediation = dict(_query("mediation", "SELECT case_id::text, status FROM mediations"))
    by_intake = {
        row[0]
        for row in _query("intake", "SELECT case_id::text FROM intake_cases WHERE status = 'withdrawn'")
        if row[0] in in_mediation
    }
    by_mediation = {case_id for case_id, status in in_mediation.items() if status == "withdrawn"}
    differ = by_intake ^ by_mediation
    return _check(
        "withdrawals (intake = mediation)",
        len(by_intake | by_mediation),
        len(by_intake & by_mediation),
        sorted(differ)[:5] if differ else None,
    )


def _reconcile_complaints(metrics):
    """Complaints open and answered per center: mediation's store against `tiaojie_complaints`."""
    name = "complaints (mediation store = metrics)"
    if not metrics.get("metrics"):
        return _skipped(name, "metrics is down")
    centers, answered = {}, set()
    for event_type, complaint_id, center_id in _query(
        "mediation",
        "SELECT event_type, data->>'complaint_id', center_id FROM events WHERE event_type = ANY(%s)",
        ([ComplaintFiled.name, ComplaintAnswered.name],),
    ):
        if event_type == ComplaintFiled.name:
            centers[complaint_id] = center_id
        else:
            answered.add(complaint_id)
    stored = collections.Counter(
        f"{center}/{'answered' if complaint_id in answered else 'open'}" for complaint_id, center in centers.items()
    )
    projected = collections.Counter()
    for labels, value in metrics["metrics"].get("tiaojie_complaints", []):
        if value:
            projected[f"{labels['center']}/{labels['state']}"] += int(value)
    return _check(name, dict(sorted(stored.items())), dict(sorted(projected.items())))


def _reconcile_documents(names):
    """Every case has its case file in the documents service; every document issued is on record."""
    checks = []
    if "intake" in names:
        received = {r[2] for r in _events("intake", {ApplicationReceived.name})}
        filed = {
            r[0]
            for r in _query(
                "documents",
                "SELECT DISTINCT case_id FROM documents_case_events WHERE event_type = 'ApplicationReceived'",
            )
        }
        missing = received - filed
        checks.append(
            _check("case files (intake store = documents)", len(received), len(received & filed), sorted(missing)[:5])
        )
    issued = {r[0] for r in _events("documents", {DocumentIssued.name})}
    recorded = {
        r[0]
        for r in _query(
            "documents",
            "SELECT e.event_id::text FROM events e JOIN documents_issued d"
            " ON d.document_id::text = e.data->>'document_id'",
        )
    }
    checks.append(_check("documents issued (events = documents on record)", len(issued), len(issued & recorded)))
    return checks


def _reconcile_referrals(metrics, queues):
    # What the link must refer to the institute, and as what (never a confirmed agreement's default).
    due = set()
    for source, types in (
        ("intake", {CaseNotAccepted.name}),
        ("mediation", {MediationFailed.name, MediationExpired.name, AgreementDefaulted.name, ReviewRequested.name}),
    ):
        for event_type, case_id, confirmed in _query(
            source,
            "SELECT event_type, case_id, data->>'confirmed' FROM events WHERE event_type = ANY(%s)",
            (list(types),),
        ):
            trigger = trigger_for(event_type, {"confirmed": confirmed == "true"})
            if trigger is not None:
                due.add((case_id, trigger[0]))
    link = _events("arbitration_link", {ReferralOpened.name, ReferralSent.name, *ANSWERS})
    opened = {(case_id, kind) for _, t, case_id, _, kind in link if t == ReferralOpened.name}
    checks = [
        _check(
            "closures referred to arbitration",
            len(due),
            len(due & opened),
            sorted(due - opened)[:5] if due - opened else None,
        )
    ]
    referral_ids = _query(
        "arbitration_link",
        "SELECT DISTINCT data->>'referral_id', event_type FROM events WHERE event_type = ANY(%s)",
        ([ReferralOpened.name, ReferralSent.name, *ANSWERS],),
    )
    by_type = collections.defaultdict(set)
    for referral_id, event_type in referral_ids:
        by_type[event_type].add(referral_id)
    answered = set().union(*(by_type[t] for t in ANSWERS))
    unanswered = by_type[ReferralSent.name] - answered
    checks.append(
        _check(
            "referrals opened and sent",
            len(by_type[ReferralOpened.name]),
            len(by_type[ReferralOpened.name] & by_type[ReferralSent.name]),
        )
    )
    queue = queues.get("arbitration.referrals", {})
    waiting = (queue.get("messages") or 0) + (len(unanswered) if queue.get("consumers") else 0)
    checks.append(
        {
            "check": "referrals answered or on arbitration.referrals",
            "expected": len(unanswered),
            "actual": min(len(unanswered), waiting),
            "ok": len(unanswered) <= waiting,
            "detail": {
                "unanswered": len(unanswered),
                "queued": queue.get("messages"),
                "institute_consumers": queue.get("consumers"),
            },
        }
    )
    pending = sum(int(v) for _, v in metrics.get("metrics", {}).get("tiaojie_referrals_pending", []))
    if "metrics" in metrics and metrics["metrics"]:
        checks.append(_check("referrals pending (link store = metrics)", len(unanswered), pending))
    return checks

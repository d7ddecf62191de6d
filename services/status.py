"""`tiaojie status`: the pipeline's health, the leadership table, and a reconciliation of
the event stores against the projections. Exits 1 on a mismatch or a service not ready,
2 when the stores or the broker cannot be read; `--json` prints everything as one object.

- health: `/health` and `/ready` of each service;
- relay backlog: per relay, the newest event's position minus the relay's position;
- queues: ready messages and consumers of every consumer queue and its dead letters, and
  of the arbitration link's queues (passive declares: nothing is created or consumed);
- consumer lag: `tiaojie_consumer_lag_seconds` and the projection lag, from `/metrics`;
- leadership: each center's success rate this year, from the metrics service's `/metrics`;
- reconciliation, from the stores themselves: every event delivered to every service that
  consumes it; received and closed cases per center equal to the metrics' counters; every
  accepted case opened in mediation; every failure, expiry, default and refusal referred,
  every review request sent; every referral answered or waiting on `arbitration.referrals`;
  complaints open and answered per center equal to the metrics' gauge.
"""

import collections
import json
import sys
import time
import urllib.error
import urllib.request

import kombu
import psycopg2
from prometheus_client.parser import text_string_to_metric_families

from services import registry
from services.arbitration_link.domain import ANSWERS as REPLY_ANSWERS
from services.arbitration_link.domain import trigger_for
from services.common import broker
from services.common.centers import load_centers
from services.common.config import amqp_uri, database_url, http_port
from services.common.messaging import inbox_handlers
from services.common.relay import relay_backlogs
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
from services.registry import queue_names

# How the institute answers the link.
ANSWERS = (*REPLY_ANSWERS, ReviewDecided.name)


def add_arguments(parser):
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="SERVICE=URL",
        help="where a service answers (default http://localhost:<its port>)",
    )
    parser.add_argument("--json", action="store_true", help="everything as one JSON object")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="retry the reconciliation until it matches or this time is up",
    )


# -- reading ---------------------------------------------------------------------------------


def _get(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _samples(text):
    """Prometheus text as `{name: [(labels, value)]}` (counters under their `_total` name)."""
    found = collections.defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name].append((sample.labels, sample.value))
    return found


def health(urls):
    report = {}
    for name, url in urls.items():
        status, _ = _get(url + "/health")
        ready, reason = _get(url + "/ready")
        report[name] = {
            "url": url,
            "health": status == 200,
            "ready": ready == 200,
            **({} if ready == 200 else {"reason": reason[:200]}),
        }
        calendar = _calendar_detail(reason)
        if calendar:
            report[name]["calendar"] = calendar
    return report


def _calendar_detail(ready_body):
    """The district calendar's coverage as a service's `/ready` reports it (None if it says nothing)."""
    try:
        return json.loads(ready_body).get("calendar")
    except (ValueError, AttributeError):
        return None


def calendar_warnings(services):
    """One line per distinct calendar warning the services gave (usually one for all)."""
    return sorted({s["calendar"]["warning"] for s in services.values() if s.get("calendar", {}).get("warning")})


def _query(name, sql, params=()):
    conn = psycopg2.connect(database_url(name), connect_timeout=3)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def relay_backlog(names):
    backlog = {}
    for name in names:
        try:
            conn = psycopg2.connect(database_url(name), connect_timeout=3)
            try:
                with conn.cursor() as cur:
                    backlog[name] = relay_backlogs(cur)
            finally:
                conn.close()
        except psycopg2.Error as exc:
            backlog[name] = {"error": type(exc).__name__}
    return backlog


def queue_depths(queues):
    """`{queue: {messages, consumers, dead}}` by passive declares (nothing is created)."""
    depths = {}
    with kombu.Connection(amqp_uri(), connect_timeout=3) as conn:
        channel = conn.channel()
        for queue in queues:
            entry = {}
            for key, name in (("messages", queue), ("dead", f"{queue}.dead")):
                try:
                    _, messages, consumers = channel.queue_declare(name, passive=True)
                    entry[key] = messages
                    if key == "messages":
                        entry["consumers"] = consumers
                except Exception:  # noqa: BLE001 - not declared: the broker closed the channel
                    channel = conn.channel()
                    entry[key] = None
            depths[queue] = entry
    return depths


def service_metrics(urls):
    found = {}
    for name, url in urls.items():
        status, text = _get(url + "/metrics")
        found[name] = _samples(text) if status == 200 else {}
    return found


def consumer_lag(metrics):
    lag = {}
    for samples in metrics.values():
        for labels, value in samples.get("tiaojie_consumer_lag_seconds", []):
            lag[labels.get("consumer", "?")] = round(value, 3)
    for _labels, value in metrics.get("metrics", {}).get("tiaojie_projection_lag_seconds", []):
        lag["metrics projection"] = round(value, 3)
    return lag


def leadership(metrics):
    samples = metrics.get("metrics", {})
    received = collections.Counter()
    for labels, value in samples.get("tiaojie_cases_received_total", []):
        received[labels["center"]] += value
    closed = collections.Counter()
    for labels, value in samples.get("tiaojie_cases_closed_total", []):
        closed[labels["center"]] += value
    rates = {
        labels["center"]: value
        for labels, value in samples.get("tiaojie_success_rate", [])
        if labels.get("period") == "year"
    }
    target = next((v for _, v in samples.get("tiaojie_success_rate_target", [])), 0.6)
    rows = []
    for center in load_centers():
        rate = rates.get(center.center_id)
        rows.append(
            {
                "center": center.center_id,
                "name": center.name,
                "demonstration": center.demonstration,
                "received": int(received[center.center_id]),
                "closed": int(closed[center.center_id]),
                "success_rate_year": rate,
                "meets_target": None if rate is None else rate >= target,
            }
        )
    ratio = next(
        (v for labels, v in samples.get("tiaojie_centers_meeting_target_ratio", []) if labels.get("period") == "year"),
        None,
    )
    goal = next((v for _, v in samples.get("tiaojie_centers_meeting_target_goal", [])), None)
    return {"target": target, "centers_meeting_target_ratio": ratio, "goal": goal, "centers": rows}


# -- reconciling -------------------------------------------------------------------------------


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


def broker_state(names):
    """The broker's file handles against the quorum queues of `names` (local broker only)."""
    handles = broker.file_handles() if broker.is_local(amqp_uri()) else None
    return {
        "file_handle_limit": handles[0] if handles else None,
        "file_handles_used": handles[1] if handles else None,
        "problem": broker.file_handle_problem(amqp_uri(), registry.quorum_queues(names)),
    }


# -- the command -------------------------------------------------------------------------------


def snapshot(urls):
    names = [n for n in urls if n in registry.available_services()]
    metrics = service_metrics(urls)
    broker_report = broker_state(names)
    queues = queue_depths(queue_names(names))
    return {
        "services": health(urls),
        "broker": broker_report,
        "relay_backlog": relay_backlog(names),
        "queues": queues,
        "consumer_lag_seconds": consumer_lag(metrics),
        "leadership": leadership(metrics),
        "reconciliation": reconcile(names, metrics, queues),
    }


def _urls(pairs):
    urls = {name: f"http://localhost:{http_port(name)}" for name in registry.available_services()}
    for pair in pairs:
        name, _, url = pair.partition("=")
        urls[name] = url.rstrip("/")
    return urls


def run(args):
    urls = _urls(args.url)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            report = snapshot(urls)
        except (psycopg2.Error, OSError, kombu.exceptions.OperationalError) as exc:
            if time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            which = (
                "the event stores (is PostgreSQL running?)"
                if isinstance(exc, psycopg2.Error)
                else (f"the broker at {amqp_uri().split('@')[-1]} (is RabbitMQ running?)")
            )
            print(f"tiaojie status: cannot read {which}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        report["down"] = [name for name, s in report["services"].items() if not s["health"]]
        report["reconciliation"] = skip_down(report["reconciliation"], report["down"])
        healthy = all(s["ready"] for s in report["services"].values()) and not report["broker"]["problem"]
        ok = healthy and all(c["ok"] for c in report["reconciliation"])
        if ok or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    report["ok"] = ok
    if args.json:
        print(json.dumps(report, ensure_ascii=False, sort_keys=True, default=str))
    else:
        print_report(report)
    return 0 if ok else 1


def print_report(report):
    print("services")
    for name, s in report["services"].items():
        state = "ready" if s["ready"] else ("up, NOT READY" if s["health"] else "DOWN")
        print(f"  {name:17} {state:14} {s['url']}")
    for warning in calendar_warnings(report["services"]):
        print(f"  !! CALENDAR WARNING: {warning}")
    handles = report["broker"]
    if handles["file_handle_limit"] is not None:
        print(f"broker file handles: {handles['file_handles_used']} of {handles['file_handle_limit']} in use")
    if handles["problem"]:
        print(f"  PROBLEM: {handles['problem']}")
    print("relay backlog (events committed, not yet published)")
    for name, relays in report["relay_backlog"].items():
        print(f"  {name:17} " + (", ".join(f"{r} {n}" for r, n in relays.items()) or "(publishes nothing)"))
    print("queues (ready / dead letters)")
    for queue, q in report["queues"].items():
        if q.get("messages") or q.get("dead") or queue.startswith("arbitration."):
            print(f"  {queue:70} {q.get('messages')!s:>6} / {q.get('dead')!s:>4}")
    busy = [q for q in report["queues"].values() if q.get("messages")]
    print(f"  ({len(report['queues'])} queues, {len(busy)} with messages waiting)")
    print("consumer lag (seconds, at the last event applied)")
    for consumer, lag in sorted(report["consumer_lag_seconds"].items()):
        print(f"  {consumer:50} {lag:10.3f}")
    lead = report["leadership"]
    if "metrics" in report["down"]:
        print("leadership: metrics is down, nothing to show")
    else:
        print_leadership(lead)
    print("reconciliation")
    for check in report["reconciliation"]:
        if check["ok"] is None:
            print(f"  SKIPPED  {check['check']}  ({check['skipped']})")
            continue
        state = "OK      " if check["ok"] else "MISMATCH"
        shown = check["actual"] if isinstance(check["actual"], int) else ""
        print(f"  {state} {check['check']}  {shown}")
        if not check["ok"]:
            print(f"           expected {check['expected']}\n           actual   {check['actual']}")
    if report["down"]:
        down = " ".join(report["down"])
        print(f"DOWN: {', '.join(report['down'])} (start with `tiaojie serve {down}` or `make run`)")
    elif report["broker"]["problem"]:
        print("BROKER: its file-handle limit is too low (see above)")
    else:
        print("OK" if report["ok"] else "MISMATCH")


def print_leadership(lead):
    print(f"leadership: success rate this year (target {lead['target']:.0%})")
    for row in lead["centers"]:
        rate = row["success_rate_year"]
        mark = "  " if rate is None else ("✓ " if row["meets_target"] else "✗ ")
        shown = "   —  " if rate is None else f"{rate:6.1%}"
        star = " *" if row["demonstration"] else ""
        print(f"  {mark}{row['center']:14} {shown}  received {row['received']:5}  closed {row['closed']:5}{star}")
    if lead["centers_meeting_target_ratio"] is not None:
        goal = f" (milestone {lead['goal']:.0%})" if lead["goal"] is not None else ""
        print(
            f"  centers meeting the target: {lead['centers_meeting_target_ratio']:.0%}{goal}   * demonstration center"
        )

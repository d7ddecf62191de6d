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

The command is here; what it reads is in `probes` (the services over HTTP), `pipeline`
(relays, queues, broker) and `reconcile` (the stores), and `report` prints it for a person.
"""

import json
import sys
import time

import kombu
import psycopg2

from services import registry
from services.common.config import amqp_uri, http_port
from services.registry import queue_names
from services.status.pipeline import broker_state, queue_depths, relay_backlog
from services.status.probes import consumer_lag, health, leadership, service_metrics
from services.status.reconcile import reconcile, skip_down
from services.status.report import print_report


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

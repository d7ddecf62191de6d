"""End to end: case lifecycles through the four running services, seen on the metrics service's /metrics.

A lifecycle is: register (intake) → accept (intake) → assign a mediator (mediation, as
soon as the case reached it) → agreement or failure (mediation) → for a failure, the
referral (arbitration_link) → the closure counted in `tiaojie_cases_closed_total`.

- Throughput: closed loop, many clients, for a fixed time; a lifecycle counts once the
  metrics service shows its closure, and at the end every closure and every referral
  must be there (nothing lost).
- Latency at a fixed offered load (open loop, lifecycles started at a steady rate):
  from each HTTP command to the change it makes on /metrics. /metrics is scraped in a
  loop; the k-th closing command sent is matched with the k-th increment of the
  counter, which is exact while commands do not overlap (at 20/s they rarely do).
- Scaling: the same with 1,000 / 100,000 / 1,000,000 cases of history in the stores
  (bulk SQL, relays moved past it), reporting command latency and throughput per level.
"""

import http.client
import json
import os
import random
import threading
import time
import uuid
from datetime import date, timedelta

from services.operations import create_token
from services.simulate import identities

from . import history
from .common import Row, execute, fresh_vhost, percentile
from .services import (
    DatabaseWaits,
    bench_env,
    cpu_by_process_group,
    cpu_seconds,
    cpu_spent,
    machine_busy,
    missing_services,
    peak_rss_mib,
    running_services,
    setup_namespace,
    spied,
)

CENTERS = ("huaguangjie", "longshengjie")
AGREEMENT_SHARE = 0.6


def application(center_id, rng):
    return {
        "center_id": center_id,
        "channel": "walk_in",
        "source": "self",
        "category": "wages",
        "applicant": identities.worker(rng, date.today()),
        "respondent": identities.employer(rng),
        "claims": [{"item": "unpaid wages", "amount": "12000.00"}],
        "workers_involved": 1,
        "description": "benchmark lifecycle",
    }


# -- HTTP ------------------------------------------------------------------------------
class Client:
    """Keep-alive HTTP/1.1 connections, one per service, for one client thread."""

    def __init__(self, urls, tokens):
        self.urls, self.tokens, self.connections = urls, tokens, {}

    def call(self, service, method, path, body=None, center=None):
        host_port = self.urls[service].split("//", 1)[1]
        headers = {
            "Authorization": f"Bearer {self.tokens[center or CENTERS[0]]}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        payload = json.dumps(body) if body is not None else None
        for attempt in range(3):
            conn = self.connections.get(service)
            if conn is None:
                conn = self.connections[service] = http.client.HTTPConnection(host_port, timeout=30)
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                return response.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)
            except (http.client.HTTPException, OSError):
                conn.close()
                self.connections.pop(service, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def scrape(self, service="metrics"):
        status, body = self.call(service, "GET", "/metrics")
        return body.decode() if isinstance(body, bytes) else json.dumps(body)


def counter_sum(text, name):
    prefix = name + "{"
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


class Lifecycle:
    """One case through the services; records when each command was sent and answered."""

    def __init__(self, client, center_id, mediator_id, rng, agreement):
        self.client, self.center_id, self.mediator_id = client, center_id, mediator_id
        self.rng, self.agreement = rng, agreement
        self.case_id = None
        self.commands = []  # (step, sent, answered)
        self.closed_sent = None
        self.error = None
        self.assign_attempts = 0

    def _command(self, step, service, path, body, expect=(200, 201)):
        sent = time.perf_counter()
        status, answer = self.client.call(service, "POST", path, body, center=self.center_id)
        if status not in expect:
            raise RuntimeError(f"{step}: HTTP {status} {str(answer)[:200]}")
        self.commands.append((step, sent, time.perf_counter()))
        return answer, sent

    def run(self):
        try:
            created, self.received_sent = self._command(
                "register", "intake", "/api/v1/cases", application(self.center_id, self.rng)
            )
            self.case_id = created["case_id"]
            self._command("accept", "intake", f"/api/v1/cases/{self.case_id}/acceptance", {"decision": "accept"})
            self._assign()
            if self.agreement:
                due = (date.today() + timedelta(days=30)).isoformat()
                _, self.closed_sent = self._command(
                    "agreement",
                    "mediation",
                    f"/api/v1/cases/{self.case_id}/agreement",
                    {"terms": "pay the wages owed", "amount": "12000.00", "performance_due": due},
                )
            else:
                _, self.closed_sent = self._command(
                    "failure",
                    "mediation",
                    f"/api/v1/cases/{self.case_id}/failure",
                    {"reason": "no agreement on the amount"},
                )
        except Exception as exc:  # noqa: BLE001 - counted, reported
            self.error = repr(exc)

    def _assign(self):
        """Assigns as soon as mediation has the case (it arrives with intake's CaseAccepted),
        asking again after 20, 40, 80, then every 100 ms, as a patient client would."""
        deadline, pause = time.perf_counter() + 30, 0.02
        while True:
            self.assign_attempts += 1
            sent = time.perf_counter()
            status, answer = self.client.call(
                "mediation",
                "POST",
                f"/api/v1/cases/{self.case_id}/assignment",
                {"mediator_id": self.mediator_id},
                center=self.center_id,
            )
            if status in (200, 201):
                self.commands.append(("assign", sent, time.perf_counter()))
                return
            if status not in (404, 409) or time.perf_counter() > deadline:
                raise RuntimeError(f"assign: HTTP {status} {str(answer)[:200]}")
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


class Scraper(threading.Thread):
    """Polls /metrics, recording (time, received total, closed total)."""

    def __init__(self, urls, tokens, interval=0.02):
        super().__init__(daemon=True)
        self.client = Client(urls, tokens)
        self.interval, self.samples, self.stopping = interval, [], threading.Event()
        self.durations = []

    def read(self):
        """(when the answer arrived, received total, closed total): a change counts as
        visible when a scrape that shows it has come back, so the scrape's own time is in."""
        start = time.perf_counter()
        text = self.client.scrape()
        now = time.perf_counter()
        self.durations.append(now - start)
        return (now, counter_sum(text, "tiaojie_cases_received_total"), counter_sum(text, "tiaojie_cases_closed_total"))

    def run(self):
        while not self.stopping.is_set():
            try:
                self.samples.append(self.read())
            except Exception:  # noqa: BLE001 - a slow scrape is retried
                pass
            self.stopping.wait(self.interval)

    def first_at_least(self, index, value, after=0.0):
        for sample in self.samples:
            if sample[0] >= after and sample[index] >= value:
                return sample[0]
        return None


def issue_tokens(env):
    tokens = {center: create_token("center", center, env=env) for center in CENTERS}
    tokens["district"] = create_token("district", env=env)
    return tokens


def register_mediators(urls, tokens):
    """One certified full-time mediator per center; returns {center_id: mediator_id}."""
    client = Client(urls, tokens)
    mediators = {}
    for center in CENTERS:
        status, answer = client.call(
            "mediation",
            "POST",
            "/api/v1/mediators",
            {
                "center_id": center,
                "name": "测试调解员",
                "certificate_no": f"TJ-{uuid.uuid4().hex[:8]}",
                "certificate_expires": (date.today() + timedelta(days=3650)).isoformat(),
                "full_time": True,
            },
            center=center,
        )
        if status not in (200, 201):
            raise RuntimeError(f"mediator registration: HTTP {status} {answer}")
        mediators[center] = answer["mediator_id"]
    return mediators


def _new_lifecycle(client, mediators, rng, index):
    center = CENTERS[index % len(CENTERS)]
    return Lifecycle(client, center, mediators[center], rng, rng.random() < AGREEMENT_SHARE)


def throughput(urls, tokens, mediators, seconds, clients, settle=60):
    """Closed loop: lifecycles/s until their closures are all on /metrics; plus command latencies."""
    probe = Scraper(urls, tokens)
    _, _, closed_before = probe.read()
    done, lock, stop_at = [], threading.Lock(), time.perf_counter() + seconds

    def worker(number):
        client, rng = Client(urls, tokens), random.Random(number)
        index = number
        while time.perf_counter() < stop_at:
            lifecycle = _new_lifecycle(client, mediators, rng, index)
            lifecycle.run()
            index += clients
            with lock:
                done.append(lifecycle)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    completed = [lc for lc in done if lc.error is None]
    expected = closed_before + len(completed)
    deadline = time.perf_counter() + settle
    closed = closed_before
    while time.perf_counter() < deadline:
        _, _, closed = probe.read()
        if closed >= expected:
            break
        time.sleep(0.05)
    finished = time.perf_counter()
    return {
        "lifecycles": len(completed),
        "errors": [lc.error for lc in done if lc.error][:5],
        "error_count": sum(1 for lc in done if lc.error),
        "seconds": finished - start,
        "visible": closed - closed_before,
        "rate": (closed - closed_before) / (finished - start),
        "command_ms": {
            step: percentile([(a - s) * 1000 for lc in completed for st, s, a in lc.commands if st == step], 50)
            for step in ("register", "accept", "assign", "agreement", "failure")
        },
        "failed_cases": [lc.case_id for lc in completed if not lc.agreement],
        "assign_attempts": sum(lc.assign_attempts for lc in completed) / max(1, len(completed)),
    }


def latency(urls, tokens, mediators, per_second, seconds):
    """Open loop at `per_second` lifecycles/s: command → visible on /metrics, in ms."""
    scraper = Scraper(urls, tokens)
    _, received_before, closed_before = scraper.read()
    scraper.start()
    lifecycles, threads, rng = [], [], random.Random(7)
    start = time.perf_counter()
    for index in range(int(per_second * seconds)):
        time.sleep(max(0.0, start + index / per_second - time.perf_counter()))
        lifecycle = _new_lifecycle(Client(urls, tokens), mediators, random.Random(rng.random()), index)
        thread = threading.Thread(target=lifecycle.run, daemon=True)
        thread.start()
        lifecycles.append(lifecycle)
        threads.append(thread)
    for thread in threads:
        thread.join()
    ok = [lc for lc in lifecycles if lc.error is None]
    wait_until = time.perf_counter() + 30
    while time.perf_counter() < wait_until:
        if scraper.samples and scraper.samples[-1][2] >= closed_before + len(ok):
            break
        time.sleep(0.05)
    scraper.stopping.set()
    scraper.join()
    delays = []
    for index, column, sent_times in (
        (1, received_before, sorted(lc.received_sent for lc in ok)),
        (2, closed_before, sorted(lc.closed_sent for lc in ok)),
    ):
        for rank, sent in enumerate(sent_times, start=1):
            seen = scraper.first_at_least(index, column + rank, after=sent)
            delays.append(None if seen is None else (seen - sent) * 1000)
    measured = [d for d in delays if d is not None]
    return {
        "p50": percentile(measured, 50),
        "p99": percentile(measured, 99),
        "samples": len(measured),
        "unseen": len(delays) - len(measured),
        "errors": len(lifecycles) - len(ok),
        "scrapes": len(scraper.samples),
        "scrape_ms": percentile([d * 1000 for d in scraper.durations], 50),
    }


def referrals_present(urls, tokens, case_ids):
    client = Client(urls, tokens)
    missing = 0
    for case_id in case_ids:
        status, answer = client.call(
            "arbitration_link", "GET", f"/api/v1/referrals?case_id={case_id}", center="district"
        )
        items = answer.get("referrals", answer.get("items", [])) if isinstance(answer, dict) else answer
        if status != 200 or not items:
            missing += 1
    return missing


def prefill(env, cases, first, log=print):
    """Bulk history in the stores (services stopped), relays moved past it."""
    from .replay import store_urls

    urls = store_urls(env)
    history.fill(urls, cases, seed="scaling", first=first)
    for name, url in urls.items():
        for relay in relay_names(name):
            execute(
                url,
                "INSERT INTO relay_positions (relay, position)"
                " SELECT %s, COALESCE(MAX(position), 0) FROM events"
                " ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position",
                (relay,),
            )
    counts = {name: execute(url, "SELECT count(*) FROM events")[0][0] for name, url in urls.items()}
    log(f"history now: {counts}")
    return counts


def relay_names(service):
    """The name of every relay a service runs (its position row is keyed by it)."""
    from services import registry
    from services.common.relay import events_exchange
    from services.common.service import EventRelay

    service_class = registry.service_class(service)
    return [
        value.relay_name or events_exchange(service)
        for value in vars(service_class).values()
        if isinstance(value, EventRelay)
    ]


def run(sizes, log=print):
    missing = missing_services()
    if missing:
        note = f"NOT RUN: services missing from the tree: {', '.join(missing)}"
        return [
            Row("end to end: lifecycles/s (closed loop)", None, "lifecycles/s", "target", 100.0, "≥ 100/s", note=note),
            Row(
                "end to end: p99 command → /metrics at 20 lifecycles/s",
                None,
                "ms",
                "target",
                250.0,
                "≤ 250 ms",
                higher_is_better=False,
                note=note,
            ),
        ], []
    env = bench_env()
    fresh_vhost()
    setup_namespace(env)
    tokens, mediators = issue_tokens(env), None
    rows, notes = [], []
    levels = sizes["scaling_levels"]
    filled, base_latency, base_rate = 0, None, None
    for level_index, level in enumerate(levels):
        if level > filled:
            prefill(env, level - filled, first=filled + 1, log=log)
            filled = level
        with running_services(env) as processes:
            urls = {name: process.url() for name, process in processes.items()}
            mediators = mediators or register_mediators(urls, tokens)
            cpu_before = {name: cpu_seconds(p.process.pid) for name, p in processes.items()}
            others_before, busy_before = cpu_by_process_group(), machine_busy()
            if level_index == 0:
                with spied(processes, sizes["e2e_seconds"]) as profiles, DatabaseWaits() as waits:
                    result = throughput(urls, tokens, mediators, sizes["e2e_seconds"], sizes["e2e_clients"])
            else:
                result = throughput(urls, tokens, mediators, sizes["e2e_seconds"], sizes["e2e_clients"])
            busy_after, others = machine_busy(), cpu_spent(others_before, cpu_by_process_group())
            cpu = {name: cpu_seconds(p.process.pid) - cpu_before[name] for name, p in processes.items()}
            if level_index == 0:
                notes.append(_cpu_account(result, cpu, others, busy_before, busy_after, profiles))
                notes.append(
                    "\n".join(
                        [
                            "What the bench databases' backends were doing during that run "
                            "(Lock:advisory = waiting for the append lock; 'idle in transaction' = "
                            "a transaction open while the service works or waits for CPU):",
                            "",
                            *waits.summary(),
                            "",
                        ]
                    )
                )
            missing_referrals = referrals_present(urls, tokens, result["failed_cases"][:200])
            log(
                f"e2e, history {level} cases: {result['rate']:.1f} lifecycles/s, {result['visible']}/"
                f"{result['lifecycles']} visible, errors {result['error_count']} {result['errors'][:2]}, "
                f"commands p50 {result['command_ms']}"
            )
            if level_index == 0:
                lat = latency(urls, tokens, mediators, sizes["latency_rate"], sizes["latency_seconds"])
                log(f"latency at {sizes['latency_rate']}/s: {lat}")
                rss = {name: peak_rss_mib(p.process.pid) for name, p in processes.items()}
        lost = result["lifecycles"] - result["visible"]
        note = (
            f"{result['lifecycles']} lifecycles by {sizes['e2e_clients']} clients in {result['seconds']:.0f} s; "
            f"lost {max(0, lost)}; errors {result['error_count']}; referrals missing {missing_referrals}; "
            f"command p50 ms {_fmt_ms(result['command_ms'])}; "
            f"{result['assign_attempts']:.1f} assignment attempts per case (404 until mediation has it)"
        )
        if level_index == 0:
            base_rate = result["rate"]
            base_latency = result["command_ms"]
            rows.append(
                Row(
                    f"end to end: lifecycles/s (history {level:,} cases)",
                    result["rate"],
                    "lifecycles/s",
                    "target",
                    100.0,
                    "≥ 100/s",
                    target_ratio=1.0,
                    note=note,
                )
            )
            for label, key in (("p50", "p50"), ("p99", "p99")):
                rows.append(
                    Row(
                        f"end to end: {label} command → /metrics at {sizes['latency_rate']} lifecycles/s",
                        lat[key],
                        "ms",
                        "target",
                        250.0,
                        "p99 ≤ 250 ms",
                        higher_is_better=False,
                        target_ratio=1.0 if key == "p99" else None,
                        note=f"{lat['samples']} commands seen, {lat['unseen']} unseen, "
                        f"{lat['errors']} failed lifecycles, {lat['scrapes']} scrapes of /metrics "
                        f"(p50 {lat['scrape_ms'] or 0:.0f} ms each, included)",
                    )
                )
            for name, mib in rss.items():
                rows.append(
                    Row(
                        f"peak RSS under e2e load: {name}",
                        mib,
                        "MiB",
                        "",
                        None,
                        higher_is_better=False,
                        note="VmHWM of its `tiaojie serve` process",
                    )
                )
        else:
            rows.append(
                Row(
                    f"scaling: lifecycles/s with {level:,} cases of history",
                    result["rate"],
                    "lifecycles/s",
                    f"same, {levels[0]:,} cases",
                    base_rate,
                    "no decline",
                    target_ratio=0.8,
                    note=note,
                )
            )
            slow = _slowest_growth(base_latency, result["command_ms"])
            if slow:
                rows.append(
                    Row(
                        f"scaling: command p50 with {level:,} cases of history ({slow[0]})",
                        slow[2],
                        "ms",
                        f"same, {levels[0]:,} cases",
                        slow[1],
                        "no growth",
                        higher_is_better=False,
                        target_ratio=0.8,
                        note="the command whose p50 grew most",
                    )
                )
    return rows, notes


def _cpu_account(result, cpu, others, busy_before, busy_after, profiles):
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    busy_seconds = (busy_after[0] - busy_before[0]) / os.sysconf("SC_CLK_TCK")
    lifecycles = max(1, result["lifecycles"])
    accounted = sum(cpu.values()) + sum(others.values())
    lines = [
        f"End to end, closed loop ({result['lifecycles']} lifecycles in {result['seconds']:.0f} s): the machine's "
        f"CPUs were {100 * busy:.0f}% busy (all processes, {os.cpu_count()} CPUs). CPU per lifecycle by service: "
        + ", ".join(f"{name} {1000 * seconds / lifecycles:.1f} ms" for name, seconds in cpu.items())
        + f"; the four together {1000 * sum(cpu.values()) / lifecycles:.1f} ms, of "
        f"{1000 * result['seconds'] * (os.cpu_count() or 1) / lifecycles:.1f} ms of CPU the machine had per lifecycle.",
        "Beside them, per lifecycle: "
        + ", ".join(f"{group} {1000 * seconds / lifecycles:.1f} ms" for group, seconds in others.items())
        + f"; everything else on the machine (other sessions' work included) "
        f"{1000 * max(0.0, busy_seconds - accounted) / lifecycles:.1f} ms.",
        "",
    ]
    for name, summary in profiles.items():
        lines += [
            f"py-spy of the {name} process during that run (idle included: time in the eventlet hub's "
            "poll is waiting, not work):",
            "",
            *summary,
            "",
        ]
    return "\n".join(lines)


def _fmt_ms(command_ms):
    return ", ".join(f"{k} {v:.0f}" for k, v in command_ms.items() if v is not None)


def _slowest_growth(base, now):
    worst = None
    for step, value in now.items():
        if value is None or not base.get(step):
            continue
        growth = value / base[step]
        if worst is None or growth > worst[3]:
            worst = (step, base[step], value, growth)
    return worst

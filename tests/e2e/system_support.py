"""The whole system for end-to-end and fault tests: every service as a separate
process (as `tiaojie serve` starts them), the reference court client, and one clock
file they all read, plus the calls the tests make against them.
"""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, timedelta
from pathlib import Path

from services import registry
from services.common.clock import FileOffsetClock
from services.simulate import identities
from tests import support

SERVICES = tuple(registry.available_services())
# The fault tests' load runs here; the path tests each measure a center of their own elsewhere.
LOAD_CENTERS = ("nanhunanlu", "nanhubeilu", "qidaowan", "shirenzigou", "zhenanjie")


class System:
    def __init__(self, admin_token, district_token):
        self.token = admin_token
        self.district_token = district_token
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{support.NAMESPACE}-system-"))
        self.clock_file = str(self.workdir / "clock")
        FileOffsetClock.move(self.clock_file, 0)
        self.clock_offset = 0.0
        # Eight workers a service keep the four processes well inside PostgreSQL's connections.
        self.env = {"TIAOJIE_CLOCK_FILE": self.clock_file, "TIAOJIE_LOG_LEVEL": "WARNING", "TIAOJIE_MAX_WORKERS": "8"}
        self.processes = {name: support.ServiceProcess(name, env=self.env) for name in SERVICES}
        if "console" in self.processes:
            # The console calls the other services where this system runs them.
            self.processes["console"].env.update(
                {f"{name.upper()}_URL": process.url() for name, process in self.processes.items() if name != "console"}
            )
        self.court = None
        self.rng = random.Random(f"{support.NAMESPACE}-system")
        self.mediators = {}

    # -- processes ------------------------------------------------------------------------
    def start(self):
        for process in self.processes.values():
            process.start()
        self.start_court()
        self.settle()
        return self

    def settle(self, timeout=90):
        """Waits until what earlier tests of the session left in the stores and queues has
        flowed through, so the deltas a test measures are its own."""
        from services.status.pipeline import queue_depths, relay_backlog

        queues = [q for q in registry.queue_names(SERVICES) if q.startswith("evt-")]

        deadline = time.monotonic() + timeout
        while True:
            backlog = {relay: n for relays in relay_backlog(SERVICES).values() for relay, n in relays.items() if n > 0}
            waiting = {queue: q["messages"] for queue, q in queue_depths(queues).items() if q.get("messages")}
            if not backlog and not waiting:
                break
            assert time.monotonic() < deadline, f"not drained after {timeout}s: relays {backlog}, queues {waiting}"
            time.sleep(0.5)
        time.sleep(1.0)

    def start_court(self):
        self.court_log = open(self.workdir / "court.log", "ab")
        self.court = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "court",
                "--policy",
                "confirm",
                "--seed",
                "1",
                "--state",
                str(self.workdir / "court.sqlite"),
            ],
            cwd=support.ROOT,
            env=support.test_env(**self.env),
            stdout=self.court_log,
            stderr=subprocess.STDOUT,
        )

    def stop(self):
        if self.court and self.court.poll() is None:
            self.court.send_signal(signal.SIGTERM)
            try:
                self.court.wait(15)
            except subprocess.TimeoutExpired:
                self.court.kill()
                self.court.wait()
        for process in self.processes.values():
            process.stop()

    def url(self, service):
        return self.processes[service].url()

    def kill(self, service):
        self.processes[service].kill()

    def restart(self, service):
        self.processes[service].start()

    def move_clock(self, days):
        self.clock_offset += days * 86400
        FileOffsetClock.move(self.clock_file, self.clock_offset)

    # -- staff calls ----------------------------------------------------------------------
    def call(self, service, method, path, body=None, expect=(200, 201), token=None):
        status, payload, _ = support.http(method, self.url(service) + path, body, token=token or self.token)
        assert status in expect, f"{method} {service}{path}: {status} {payload}"
        return payload

    def mediator(self, center_id):
        if center_id not in self.mediators:
            expires = (date.today() + timedelta(days=3 * 365)).isoformat()
            created = self.call(
                "mediation",
                "POST",
                "/api/v1/mediators",
                {
                    "center_id": center_id,
                    "name": identities.person_name(self.rng),
                    "certificate_no": f"E2E{self.rng.randrange(10**8):08d}",
                    "certificate_expires": expires,
                    "full_time": True,
                },
            )
            self.mediators[center_id] = created["mediator_id"]
        return self.mediators[center_id]

    def application(self, center_id, **overrides):
        body = {
            "center_id": center_id,
            "channel": "walk_in",
            "source": "self",
            "category": "wages",
            "applicant": identities.worker(self.rng, date.today()),
            "respondent": identities.employer(self.rng),
            "claims": [{"item": "拖欠工资", "amount": "12000.00"}],
            "workers_involved": 1,
            "description": "e2e",
        }
        body.update(overrides)
        return body

    def receive(self, center_id, **overrides):
        return self.call("intake", "POST", "/api/v1/cases", self.application(center_id, **overrides))["case_id"]

    def accepted_case(self, center_id, assign=True):
        """A case received and accepted, open in mediation (with a mediator assigned)."""
        case_id = self.receive(center_id)
        self.call("intake", "POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"})
        self.mediation_case(case_id)
        if assign:
            self.call(
                "mediation", "POST", f"/api/v1/cases/{case_id}/assignment", {"mediator_id": self.mediator(center_id)}
            )
        return case_id

    def mediation_case(self, case_id, status=None, timeout=20):
        def seen():
            code, body, _ = support.http("GET", f"{self.url('mediation')}/api/v1/cases/{case_id}", token=self.token)
            return body if code == 200 and (status is None or body.get("status") == status) else None

        return support.wait_for(seen, timeout=timeout, message=f"mediation case {case_id} {status or ''}")

    def agreement(self, case_id, due_days=20):
        due = (date.today() + timedelta(days=due_days + self.clock_offset / 86400)).isoformat()
        self.call(
            "mediation",
            "POST",
            f"/api/v1/cases/{case_id}/sessions",
            {"held_at": _now_iso(self.clock_offset), "summary": "双方陈述"},
        )
        self.call(
            "mediation",
            "POST",
            f"/api/v1/cases/{case_id}/agreement",
            {"terms": "一次性支付", "amount": "9000.00", "performance_due": due},
        )

    def referral(self, case_id, status, timeout=30):
        def answered():
            body = self.call("arbitration_link", "GET", f"/api/v1/referrals?case_id={case_id}")
            found = [r for r in body["referrals"] if r["status"] == status]
            return found[0] if found else None

        return support.wait_for(answered, timeout=timeout, message=f"referral of {case_id} {status}")

    # -- metrics --------------------------------------------------------------------------
    def metrics_text(self):
        status, text, _ = support.http("GET", self.url("metrics") + "/metrics")
        assert status == 200
        return text

    def counters(self, center_id):
        """The center's counters on /metrics: `{"received/<source>": n, "closed/<outcome>": n, ...}`."""
        from prometheus_client.parser import text_string_to_metric_families

        found = {}
        for family in text_string_to_metric_families(self.metrics_text()):
            for sample in family.samples:
                if sample.labels.get("center") != center_id:
                    continue
                if sample.name == "tiaojie_cases_received_total":
                    found[f"received/{sample.labels['source']}"] = sample.value
                elif sample.name == "tiaojie_cases_closed_total":
                    found[f"closed/{sample.labels['outcome']}"] = sample.value
                elif sample.name == "tiaojie_cases_open":
                    found[f"open/{sample.labels['stage']}"] = sample.value
                elif sample.name == "tiaojie_complaints":
                    found[f"complaints/{sample.labels['state']}"] = sample.value
        return found

    def wait_for_change(self, center_id, before, expected, timeout=30):
        """Waits until the center's counters moved by exactly `expected` (others unchanged)."""

        def delta():
            after = self.counters(center_id)
            return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}

        last = {}

        def matches():
            nonlocal last
            last = delta()
            return last == expected

        try:
            support.wait_for(matches, timeout=timeout, interval=0.3, message="metrics change")
        except AssertionError:
            raise AssertionError(f"expected {expected}, got {last}") from None
        time.sleep(1.0)  # and it stays: nothing counted twice
        assert delta() == expected

    # -- operations -----------------------------------------------------------------------
    def status(self, wait=60):
        args = ["status", "--json", "--wait", str(wait)]
        for name in SERVICES:
            args += ["--url", f"{name}={self.url(name)}"]
        result = support.cli(*args, check=False, timeout=wait + 60)
        assert result.stdout.strip(), (
            f"tiaojie status printed nothing (exit {result.returncode}): {result.stderr[-3000:]}"
        )
        report = json.loads(result.stdout)
        return result.returncode, report

    def simulate(self, cases, rate=240, day_seconds=0.15, seed=1, centers=LOAD_CENTERS, extra=()):
        """`tiaojie simulate` as a load generator against this system (a Popen), in centers
        the path tests do not measure."""
        tokens = self.workdir / "tokens.json"
        if not tokens.exists():
            from services.common.centers import load_centers

            tokens.write_text(
                json.dumps(
                    {"centers": {c.center_id: self.token for c in load_centers()}, "district": self.district_token}
                )
            )
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "simulate",
                "--token-file",
                str(tokens),
                "--intake-url",
                self.url("intake"),
                "--mediation-url",
                self.url("mediation"),
                "--cases",
                str(cases),
                "--rate",
                str(rate),
                "--day-seconds",
                str(day_seconds),
                "--seed",
                str(seed),
                "--centers",
                ",".join(centers),
                "--json",
                *extra,
            ],
            cwd=support.ROOT,
            env=support.test_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _now_iso(offset_seconds):
    from datetime import datetime

    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).isoformat()


def reconciliation_failures(report):
    return [c for c in report["reconciliation"] if not c["ok"]]


def assert_reconciled(system, wait=60):
    code, report = system.status(wait=wait)
    failures = reconciliation_failures(report)
    assert code == 0 and not failures, json.dumps(
        {"failures": failures, "services": report["services"]}, ensure_ascii=False
    )[:3000]
    return report


def running_on_ci():
    return bool(os.environ.get("CI"))


def running_system(infrastructure, tokens):
    """The module fixture of the e2e and fault tests: the whole system, stopped afterwards."""
    system = System(tokens["admin"], tokens["district"])
    try:
        yield system.start()
    finally:
        system.stop()

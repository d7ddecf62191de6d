"""Scale-out: two mediation and two metrics instances at once, under a stream of cases.

The instances are separate processes on one database each service and one broker vhost,
as `docker compose up --scale mediation=2 --scale metrics=2` runs them: competing
consumers on the quorum queues, and two deadline sweeps racing over the same cases.
Cases arrive through intake's staff API round after round while the shared clock
(TIAOJIE_CLOCK_FILE) jumps past their deadlines. Then:

- every mediation expires exactly once (one `MediationExpired` per case in the store),
  and a case withdrawn in time never expires;
- both mediation instances did part of the work (the consumers really competed);
- both metrics instances report the same projection, with the expected counts, and it
  equals the projection one metrics instance rebuilds alone from the event stores
  (`tiaojie replay metrics`).

The module works in databases and a vhost of its own: it moves its services' clock by
weeks, and nothing it expires may reach the other tests.
"""

import random
import time
from datetime import date

import psycopg2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.clock import FileOffsetClock
from services.common.config import SERVICES, database_url
from services.common.db import drop_database
from services.simulate import identities
from tests import support

NAME = f"{support.NAMESPACE}_scaleout"
ENV = {
    "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{NAME}",
    "AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{NAME}",
    "TIAOJIE_SWEEP_INTERVAL_SECONDS": "0.2",
    "TIAOJIE_LOG_LEVEL": "WARNING",
}
CENTERS = ("huaguangjie", "longshengjie")
ROUNDS = 3
CASES_PER_ROUND = 8
WITHDRAW_EVERY = 4  # every fourth case of a round is withdrawn before its deadline
# past the fifteen days of mediation (Art. 14) counted from the next day, a weekend rolled
# over, and the sweep's 24 h grace for late entries (TIAOJIE_EXPIRY_GRACE_HOURS)
DAYS_PER_ROUND = 20
# CONTRACTS §5: the projection. The lag is left out: it is an age, measured at scrape time.
PROJECTION_FAMILIES = {
    "tiaojie_center_info",
    "tiaojie_cases_received",
    "tiaojie_cases_closed",
    "tiaojie_cases_open",
    "tiaojie_cases_overdue",
    "tiaojie_success_rate",
    "tiaojie_success_rate_target",
    "tiaojie_centers_meeting_target_ratio",
    "tiaojie_centers_meeting_target_goal",
    "tiaojie_referrals_pending",
}


class Deployment:
    """The scaled-out services on their own stores, and the calls the test makes."""

    def __init__(self, workdir):
        self.clock_file = str(workdir / "clock")
        self.offset = 0.0
        FileOffsetClock.move(self.clock_file, 0)
        self.env = dict(ENV, TIAOJIE_CLOCK_FILE=self.clock_file)
        self.processes = []
        self.rng = random.Random(NAME)

    def cli(self, *args, timeout=180):
        return support.cli(*args, env=support.test_env(**self.env), timeout=timeout)

    def start(self, service):
        process = support.ServiceProcess(service, env=self.env).start()
        self.processes.append(process)
        return process

    def instances(self, service):
        return [p for p in self.processes if p.services == (service,) and p.process.poll() is None]

    def stop(self, process):
        process.stop()
        self.processes.remove(process)

    def move_clock(self, days):
        self.offset += days * 86400
        FileOffsetClock.move(self.clock_file, self.offset)

    def intake(self, method, path, body):
        [process] = self.instances("intake")
        status, payload, _ = support.http(method, process.url() + path, body, token=self.token)
        assert status in (200, 201), f"{method} {path}: {status} {payload}"
        return payload

    def accepted_case(self, center_id):
        case_id = self.intake(
            "POST",
            "/api/v1/cases",
            {
                "center_id": center_id,
                "channel": "walk_in",
                "source": "self",
                "category": "wages",
                "applicant": identities.worker(self.rng, date.today()),
                "respondent": identities.employer(self.rng),
                "claims": [{"item": "拖欠工资", "amount": "12000.00"}],
                "workers_involved": 1,
                "description": "scale-out",
            },
        )["case_id"]
        self.intake("POST", f"/api/v1/cases/{case_id}/acceptance", {"decision": "accept"})
        return case_id

    def mediation_events(self, event_type, case_ids):
        """`{case_id: how many events of event_type}` in mediation's store."""
        conn = psycopg2.connect(database_url("mediation", self.env))
        try:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT case_id::text, count(*) FROM events WHERE event_type = %s AND case_id::text = ANY(%s)"
                    " GROUP BY case_id",
                    (event_type, list(case_ids)),
                )
                return dict(cur.fetchall())
        finally:
            conn.close()

    def wait_for_events(self, event_type, case_ids, timeout=45):
        support.wait_for(
            lambda: len(self.mediation_events(event_type, case_ids)) == len(case_ids),
            timeout=timeout,
            interval=0.2,
            message=f"{event_type} of {len(case_ids)} cases",
        )


def scrape(process):
    status, text, _ = support.http("GET", process.url() + "/metrics")
    assert status == 200, text
    return text


def projection(text):
    """The §5 series of a /metrics page: `{(name, labels): value}`."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.name in PROJECTION_FAMILIES
        for sample in family.samples
    }


def consumed(text, service):
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "tiaojie_events_consumed"
        for sample in family.samples
        if sample.name == "tiaojie_events_consumed_total" and sample.labels.get("service") == service
    )


def counter(series, name, **labels):
    return series.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def deployment(infrastructure, tmp_path_factory):
    def remove():
        for name in SERVICES:
            drop_database(database_url(name, ENV))
        support.rabbitmqctl("delete_vhost", NAME, check=False)

    remove()
    support.rabbitmqctl("add_vhost", NAME)
    support.rabbitmqctl("set_permissions", "-p", NAME, "guest", ".*", ".*", ".*")
    deployment = Deployment(tmp_path_factory.mktemp("scaleout"))
    try:
        deployment.cli("setup")
        deployment.token = deployment.cli("token", "issue", "--admin").stdout.strip().splitlines()[-1]
        for service in ("intake", "mediation", "mediation", "metrics", "metrics"):
            deployment.start(service)
        yield deployment
    finally:
        for process in list(deployment.processes):
            deployment.stop(process)
        remove()


def test_two_instances_expire_each_case_once_and_project_what_one_instance_rebuilds(deployment):
    expired, withdrawn = {c: [] for c in CENTERS}, {c: [] for c in CENTERS}
    for _ in range(ROUNDS):
        batch = [(deployment.accepted_case(CENTERS[i % 2]), CENTERS[i % 2]) for i in range(CASES_PER_ROUND)]
        deployment.wait_for_events("MediationOpened", [case_id for case_id, _ in batch])
        for i, (case_id, center) in enumerate(batch):
            if i % WITHDRAW_EVERY == WITHDRAW_EVERY - 1:
                deployment.intake("POST", f"/api/v1/cases/{case_id}/withdrawal", {"reason": "settled privately"})
                withdrawn[center].append(case_id)
            else:
                expired[center].append(case_id)
        deployment.wait_for_events("MediationWithdrawn", [c for cases in withdrawn.values() for c in cases])
        # The next round's cases arrive while both sweeps race over this round's deadlines.
        deployment.move_clock(DAYS_PER_ROUND)

    all_expired = [c for cases in expired.values() for c in cases]
    all_withdrawn = [c for cases in withdrawn.values() for c in cases]
    deployment.wait_for_events("MediationExpired", all_expired)
    time.sleep(1.0)  # a few more sweeps of both instances: still nothing twice

    assert deployment.mediation_events("MediationExpired", all_expired) == {c: 1 for c in all_expired}
    assert deployment.mediation_events("MediationExpired", all_withdrawn) == {}
    mediations = deployment.instances("mediation")
    assert len(mediations) == 2, "a mediation instance died"
    shares = [consumed(scrape(p), "mediation") for p in mediations]
    assert sum(shares) == len(all_expired) + 2 * len(all_withdrawn)  # CaseAccepted + ApplicationWithdrawn
    assert all(shares), f"one mediation instance consumed nothing: {shares}"

    scaled = [deployment.instances("metrics")[0], deployment.instances("metrics")[1]]

    def caught_up():
        pages = [projection(scrape(p)) for p in scaled]
        done = all(
            counter(pages[0], "tiaojie_cases_closed_total", center=c, outcome="expired") == len(expired[c])
            for c in CENTERS
        )
        return done and pages[0] == pages[1] and pages[0]

    scaled_projection = support.wait_for(caught_up, timeout=30, interval=0.3, message="both metrics caught up")
    for center in CENTERS:
        cases = len(expired[center]) + len(withdrawn[center])
        assert counter(scaled_projection, "tiaojie_cases_received_total", center=center, source="self") == cases
        assert counter(scaled_projection, "tiaojie_cases_closed_total", center=center, outcome="withdrawn") == len(
            withdrawn[center]
        )
        assert counter(scaled_projection, "tiaojie_cases_overdue", center=center) == 0

    for process in scaled:
        deployment.stop(process)
    deployment.cli("replay", "metrics", "--no-progress")
    single = deployment.start("metrics")
    assert projection(scrape(single)) == scaled_projection

"""The metrics service end to end: events from the three stores, relayed to the bus as the
relays do, become the §5 series on /metrics, the report, and what a real Prometheus
computes for every expression of the dashboards and rules; `tiaojie replay metrics`
rebuilds exactly the live read model while the service runs.

The service under test has a broker vhost and databases of its own (the other tests'
events never reach it), and a clock moved to June 2031 (a year nobody else uses).
"""

import json
import math
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kombu
import psycopg2
import psycopg2.extras
import pytest
import yaml

from services.common import auth
from services.common.clock import FileOffsetClock, FixedClock
from services.common.config import database_url
from services.common.db import Database, drop_database, ensure_database, migrate
from services.common.envelope import NewEvent
from services.common.eventstore import ANY_VERSION, PostgresEventStore
from services.common.relay import Relay, envelope_route, events_exchange
from services.common.schema import COMMON_MIGRATIONS
from services.metrics.readmodel import INBOX_TABLES, TABLES, snapshot
from services.metrics.schema import MIGRATIONS
from tests import dashboard_words, support
from tests.dashboard_words import CJK, IDENTIFIERS, PLACEHOLDER
from tests.integration.test_metrics_projection_properties import History

NOW = datetime(2031, 6, 15, 4, 0, tzinfo=UTC)  # noon in Asia/Shanghai
STORES = ("intake", "mediation", "arbitration_link")
STREAM_OWNERS = {
    "case": "intake",
    "consultation": "intake",
    "mediation": "mediation",
    "mediator": "mediation",
    "complaint": "mediation",
    "referral": "arbitration_link",
    "recommendation": "arbitration_link",
}
DEPLOY = support.ROOT / "deploy"
DEAD_QUEUE = "evt-intake-CaseAccepted--metrics.on_intake_case_accepted"


def known_history():
    """The known cases the expectations below are worked out from."""
    days = lambda n: NOW - timedelta(days=n)  # noqa: E731
    history = History()
    # huaguangjie (demonstration): 3 agreements and 1 failure this year, 1 failure in 2030.
    history.case("huaguangjie", days(40), "agreement_performed")
    history.case("huaguangjie", days(30), "review_confirmed")
    history.case("huaguangjie", days(10), "review_pending")
    history.case("huaguangjie", days(20), "failed", workers=12)
    history.case("huaguangjie", datetime(2030, 6, 1, 2, tzinfo=UTC), "failed")
    # longshengjie (demonstration): 1 agreement (then defaulted), 1 expiry, 1 withdrawal after acceptance.
    history.case("longshengjie", days(50), "agreement_defaulted")
    history.case("longshengjie", days(40), "expired")
    history.case("longshengjie", days(5), "withdrawn_after")
    # qifang: nothing closed by mediation; one mediation past its deadline.
    history.case("qifang", days(1), "received", source="court_entrusted")
    history.case("qifang", days(20), "mediating")
    history.case("qifang", days(20), "extended")
    history.case("qifang", days(3), "not_accepted")
    history.center_facts("qifang", days(3))
    # huaguangjie: one complaint answered after 3 days, one still open.
    history.complaint("huaguangjie", days(12), answered_at=days(9))
    history.complaint("huaguangjie", days(2))
    return history


class Pipeline:
    """Stores, broker vhost, the metrics service process and a Prometheus scraping it."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.vhost = f"{support.NAMESPACE}_metrics"
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"
        self.urls = {name: database_url(f"metrics_it_{name}") for name in STORES + ("metrics",)}
        self.clock_file = self.tmp / "clock"
        self.env = {f"{name.upper()}_DATABASE_URL": url for name, url in self.urls.items()}
        self.env.update(
            AMQP_URI=self.amqp_uri,
            TIAOJIE_CLOCK_FILE=str(self.clock_file),
            TIAOJIE_DELIVERY_LIMIT="1",
            TIAOJIE_TIMEZONE="Asia/Shanghai",
            TIAOJIE_MILESTONES="2019:0.80,2020:0.95",
        )
        self.service = None
        self.prometheus = None

    def prepare(self):
        support.rabbitmqctl("delete_vhost", self.vhost, check=False)
        support.rabbitmqctl("add_vhost", self.vhost)
        support.rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        for name, url in self.urls.items():
            drop_database(url)
            ensure_database(url)
            migrate(url, COMMON_MIGRATIONS + (MIGRATIONS if name == "metrics" else []))
        self.tokens = {}
        with Database(self.urls["metrics"]).transaction() as cursor:
            for key, role, center in (
                ("district", "district", None),
                ("huaguangjie", "center", "huaguangjie"),
                ("admin", "admin", None),
            ):
                self.tokens[key] = auth.new_token()
                auth.store_token(cursor, self.tokens[key], role, center)
        FileOffsetClock.move(self.clock_file, (NOW - datetime.now(UTC)).total_seconds())
        self.service = support.ServiceProcess("metrics", env=self.env).start()

    def start_prometheus(self):
        port = support.free_port()
        self.prometheus_url = f"http://127.0.0.1:{port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(DEPLOY / "prometheus" / "rules" / "*.yml")],
            "scrape_configs": [
                {"job_name": "metrics", "static_configs": [{"targets": [f"127.0.0.1:{self.service.ports['metrics']}"]}]}
            ],
        }
        (self.tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        self._prometheus_log = open(self.tmp / "prometheus.log", "wb")
        self.prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={self.tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=self._prometheus_log,
            stderr=subprocess.STDOUT,
        )
        support.wait_for(self._prometheus_ready, timeout=60, message="Prometheus up")
        # Two scrapes of the zeros before any event: counters then rise from a seen 0.
        support.wait_for(
            lambda: self.query("count_over_time(tiaojie_success_rate_target[1m]) >= 2"),
            timeout=60,
            message="Prometheus scraping the metrics service",
        )

    def _prometheus_ready(self):
        if self.prometheus.poll() is not None:
            raise AssertionError((self.tmp / "prometheus.log").read_text())
        try:
            return support.http("GET", f"{self.prometheus_url}/-/ready")[0] == 200
        except OSError:
            return False

    def append(self, events):
        """Stores events in their services' stores, stream by stream, as the services would."""
        for event in events:
            store = STREAM_OWNERS[event.stream_id.split("-", 1)[0]]
            with Database(self.urls[store]).transaction() as cursor:
                PostgresEventStore(cursor, FixedClock(NOW)).append(
                    event.stream_id,
                    ANY_VERSION,
                    [
                        NewEvent(
                            event.event_type,
                            event.data,
                            event.case_id,
                            event.center_id,
                            event.occurred_at,
                            event.event_id,
                        )
                    ],
                )

    def relay(self):
        """Publishes what the stores hold to `<service>.events`, with the kernel's relay."""
        for store in STORES:
            relay = Relay(
                events_exchange(store),
                self.urls[store],
                self.amqp_uri,
                envelope_route(store),
                [(events_exchange(store), "topic")],
            )
            relay.run(should_stop=lambda relay=relay: relay.backlog() == 0)

    def publish(self, source, routing_key, body):
        with kombu.Connection(self.amqp_uri) as conn:
            producer = conn.Producer()
            producer.publish(
                json.dumps(body),
                exchange=events_exchange(source),
                routing_key=routing_key,
                content_type="application/json",
                retry=True,
            )

    def scrape(self):
        status, text, _ = support.http("GET", self.service.url() + "/metrics")
        assert status == 200
        return text

    def series(self):
        """The §5 series on /metrics: {'name{labels}': value}."""
        found = {}
        for line in self.scrape().splitlines():
            if line.startswith("tiaojie_") and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                found[name] = float(value)
        return found

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = at
        url = f"{self.prometheus_url}/api/v1/query?{urllib.parse.urlencode(params)}"
        status, body, _ = support.http("GET", url)
        assert status == 200, (expr, body)
        return body["data"]["result"]

    def close(self):
        if self.prometheus is not None:
            self.prometheus.send_signal(signal.SIGTERM)
            try:
                self.prometheus.wait(15)
            except subprocess.TimeoutExpired:
                self.prometheus.kill()
                self.prometheus.wait()
            self._prometheus_log.close()
        if self.service is not None:
            self.service.stop()
        support.rabbitmqctl("delete_vhost", self.vhost, check=False)
        for url in self.urls.values():
            drop_database(url)


SECTION5 = re.compile(
    r"^tiaojie_(center_info|cases_|success_rate|centers_meeting|centers_without|referrals_pending|complaints|projection_lag)"
)


@pytest.fixture(scope="module")
def pipeline():
    tmp = tempfile.mkdtemp(prefix=f"{support.NAMESPACE}-metrics-")
    pipeline = Pipeline(tmp)
    try:
        pipeline.prepare()
        pipeline.start_prometheus()
        history = known_history()
        pipeline.append(history.events)
        pipeline.relay()
        pipeline.publish("intake", "CaseAccepted", {"event_id": "not-an-envelope"})  # dead-lettered
        support.wait_for(
            lambda: (
                pipeline.series().get('tiaojie_cases_received_total{center="qifang",source="self"}') == 3
                and pipeline.series().get("tiaojie_projection_lag_seconds") == 0.0
            ),
            timeout=60,
            message="every event applied",
        )
        support.wait_for(
            lambda: f'tiaojie_dead_letter_messages{{queue="{DEAD_QUEUE}"}} 1.0' in pipeline.scrape(),
            timeout=30,
            message="the bad message dead-lettered",
        )
        pipeline.history = history
        yield pipeline
    finally:
        pipeline.close()
        shutil.rmtree(tmp, ignore_errors=True)


EXPECTED_SERIES = {
    'tiaojie_center_info{center="huaguangjie",demonstration="true",kind="sub_district",name="华光街街道办事处"}': 1,
    'tiaojie_cases_received_total{center="huaguangjie",source="self"}': 5,
    'tiaojie_cases_received_total{center="qifang",source="self"}': 3,
    'tiaojie_cases_received_total{center="qifang",source="court_entrusted"}': 1,
    'tiaojie_cases_received_total{center="zhenanjie",source="petition"}': 0,
    'tiaojie_cases_closed_total{center="huaguangjie",outcome="agreement"}': 3,
    'tiaojie_cases_closed_total{center="huaguangjie",outcome="failed"}': 2,
    'tiaojie_cases_closed_total{center="longshengjie",outcome="expired"}': 1,
    'tiaojie_cases_closed_total{center="longshengjie",outcome="withdrawn"}': 1,
    'tiaojie_cases_closed_total{center="qifang",outcome="not_accepted"}': 1,
    'tiaojie_cases_open{center="huaguangjie",stage="performing"}': 1,
    'tiaojie_cases_open{center="huaguangjie",stage="under_review"}': 1,
    'tiaojie_cases_open{center="qifang",stage="received"}': 1,
    'tiaojie_cases_open{center="qifang",stage="mediating"}': 2,
    'tiaojie_cases_open{center="longshengjie",stage="mediating"}': 0,
    'tiaojie_cases_overdue{center="qifang"}': 1,
    'tiaojie_cases_overdue{center="huaguangjie"}': 0,
    'tiaojie_success_rate{center="huaguangjie",period="year"}': 0.75,
    'tiaojie_success_rate{center="huaguangjie",period="all"}': 0.6,
    'tiaojie_success_rate{center="longshengjie",period="year"}': 1 / 3,
    "tiaojie_success_rate_target": 0.6,
    'tiaojie_centers_meeting_target_ratio{period="year"}': 1 / 14,
    'tiaojie_centers_meeting_target_ratio{period="all"}': 1 / 14,
    "tiaojie_centers_meeting_target_goal": 0.95,
    # the twelve centers with nothing closed by mediation count against the share
    'tiaojie_centers_without_data{period="year"}': 12,
    'tiaojie_centers_without_data{period="all"}': 12,
    'tiaojie_referrals_pending{kind="referral"}': 3,
    'tiaojie_referrals_pending{kind="review_request"}': 1,
    'tiaojie_complaints{center="huaguangjie",state="open"}': 1,
    'tiaojie_complaints{center="huaguangjie",state="answered"}': 1,
    'tiaojie_complaints{center="qifang",state="open"}': 1,
    'tiaojie_complaints{center="qifang",state="answered"}': 0,
    "tiaojie_projection_lag_seconds": 0,
}


def test_metrics_shows_the_known_cases_and_every_center_has_every_series(pipeline):
    series = pipeline.series()
    for name, value in EXPECTED_SERIES.items():
        assert series.get(name) == pytest.approx(value), name
    families = {name.split("{")[0] for name in series if SECTION5.match(name)}
    assert families == {
        "tiaojie_center_info",
        "tiaojie_cases_received_total",
        "tiaojie_cases_closed_total",
        "tiaojie_cases_open",
        "tiaojie_cases_overdue",
        "tiaojie_success_rate",
        "tiaojie_success_rate_target",
        "tiaojie_centers_meeting_target_ratio",
        "tiaojie_centers_meeting_target_goal",
        "tiaojie_centers_without_data",
        "tiaojie_referrals_pending",
        "tiaojie_complaints",
        "tiaojie_projection_lag_seconds",
    }
    per_center = lambda family: sum(1 for n in series if n.startswith(family + "{"))  # noqa: E731
    assert (
        per_center("tiaojie_center_info"),
        per_center("tiaojie_cases_received_total"),
        per_center("tiaojie_cases_closed_total"),
        per_center("tiaojie_cases_open"),
        per_center("tiaojie_cases_overdue"),
        per_center("tiaojie_complaints"),
    ) == (14, 14 * 5, 14 * 5, 14 * 4, 14, 14 * 2)
    # A center without a closed case has no success rate rather than a fake 0 or 1.
    assert not [n for n in series if n.startswith('tiaojie_success_rate{center="qifang"')]
    assert per_center("tiaojie_success_rate") == 4
    text = pipeline.scrape()
    assert "# TYPE tiaojie_cases_received_total counter" in text
    assert "# TYPE tiaojie_cases_open gauge" in text
    assert "tiaojie_events_consumed_total" in text  # the kernel's operational metrics are there too


# Every expression of the dashboards and the rules, with what it must return for the
# known cases: {label values of `by`: value}; `others`: the value of every other sample
# (None: there is none). Counter increases are extrapolated by Prometheus: `rise` allows
# for that (the ratios of increases are exact).
def expect(by, values, others=None, rise=False):
    return {"by": by, "values": values, "others": others, "rise": rise}


def chinese(expr, dst, src, words):
    """`expr` with a label `dst` reading `src`'s code in Chinese, as the dashboards write it."""
    for code, word in words.items():
        expr = f'label_replace({expr}, "{dst}", "{word}", "{src}", "{code}")'
    return expr


OUTCOMES_ZH = dashboard_words.OUTCOMES
STAGES_ZH = dashboard_words.STAGES
KINDS_ZH = dashboard_words.REFERRAL_KINDS
SERVICES_ZH = dashboard_words.SERVICES
DEMONSTRATION = "（示范中心）"
RATES_YEAR = expect(("center",), {("huaguangjie",): 0.75, ("longshengjie",): 1 / 3})
RECEIVED_BY_CENTER = expect(("center",), {("huaguangjie",): 5, ("longshengjie",): 3, ("qifang",): 4}, 0, rise=True)
OPEN_BY_STAGE = expect(("stage",), {("received",): 1, ("mediating",): 2, ("performing",): 1, ("under_review",): 1})
PENDING = expect(("kind",), {("referral",): 3, ("review_request",): 1})
PENDING_ZH = expect(("kind_zh",), {("移送仲裁",): 3, ("申请仲裁审查",): 1})
DEAD = expect(("queue",), {(DEAD_QUEUE,): 1})
ERRORS = expect(("service", "consumer"), {("metrics", "metrics.projection"): lambda v: v > 0})
ERRORS_ZH = expect(("service_zh", "consumer"), {("统计服务", "metrics.projection"): lambda v: v > 0})
NOTHING = expect((), {})
ONE = lambda value: expect((), {(): value})  # noqa: E731
EXPECTED_PROMQL = {
    # leadership dashboard
    chinese(
        'tiaojie_success_rate{period="year"} * on(center) group_left(name, demonstration) tiaojie_center_info',
        "demonstration_zh",
        "demonstration",
        {"true": DEMONSTRATION},
    ): expect(
        ("center", "demonstration_zh"),
        {("huaguangjie", DEMONSTRATION): 0.75, ("longshengjie", DEMONSTRATION): 1 / 3},
    ),
    'tiaojie_success_rate{period="year"} * on(center) group_left(name) tiaojie_center_info{demonstration="true"}': RATES_YEAR,
    'tiaojie_centers_meeting_target_ratio{period="year"}': ONE(1 / 14),
    "tiaojie_centers_meeting_target_goal": ONE(0.95),
    'tiaojie_success_rate{period="year"} * on(center) group_left(name) tiaojie_center_info': RATES_YEAR,
    "tiaojie_success_rate_target": ONE(0.6),
    "center:tiaojie_success_rate:ratio_rolling30d * on(center) group_left(name) tiaojie_center_info": expect(
        ("center",), {("huaguangjie",): 0.6, ("longshengjie",): 1 / 3}
    ),
    "sum(increase(tiaojie_cases_received_total[30d]))": expect((), {(): 12}, rise=True),
    "center:tiaojie_cases_received:increase30d * on(center) group_left(name) tiaojie_center_info": RECEIVED_BY_CENTER,
    chinese(
        "sum by (outcome) (increase(tiaojie_cases_closed_total[30d]))", "outcome_zh", "outcome", OUTCOMES_ZH
    ): expect(
        ("outcome_zh",),
        {("达成调解协议",): 4, ("调解不成",): 2, ("调解期满",): 1, ("已撤回",): 1, ("不予受理",): 1},
        rise=True,
    ),
    chinese("stage:tiaojie_cases_open:sum", "stage_zh", "stage", STAGES_ZH): expect(
        ("stage_zh",), {("待受理",): 1, ("调解中",): 2, ("已达成协议（待履行）",): 1, ("仲裁审查中",): 1}
    ),
    "tiaojie_cases_overdue * on(center) group_left(name) tiaojie_center_info > 0": expect(
        ("center",), {("qifang",): 1}
    ),
    "tiaojie:cases_overdue:sum": ONE(1),
    "tiaojie:centers_below_target:count": ONE(1),
    'tiaojie_centers_without_data{period="year"}': ONE(12),
    chinese("tiaojie_referrals_pending", "kind_zh", "kind", KINDS_ZH): PENDING_ZH,
    'sum(tiaojie_complaints{state="open"})': ONE(2),
    # operations dashboard
    chinese(
        'up{job=~"intake|mediation|arbitration_link|metrics|console|documents"}', "service_zh", "job", SERVICES_ZH
    ): expect(("service_zh",), {("统计服务",): 1}),
    # the metrics service has no relay
    chinese("sum by (service, relay) (tiaojie_relay_backlog_events)", "service_zh", "service", SERVICES_ZH): NOTHING,
    chinese("max by (service, consumer) (tiaojie_consumer_lag_seconds)", "service_zh", "service", SERVICES_ZH): expect(
        ("service_zh", "consumer"), {("统计服务", "metrics.projection"): lambda v: 0 <= v < 300}
    ),
    "tiaojie_projection_lag_seconds": ONE(0),
    chinese("sum by (service) (rate(tiaojie_events_consumed_total[5m]))", "service_zh", "service", SERVICES_ZH): expect(
        ("service_zh",), {("统计服务",): lambda v: v > 0}
    ),
    chinese(
        "sum by (service, consumer) (rate(tiaojie_handler_errors_total[5m]))", "service_zh", "service", SERVICES_ZH
    ): ERRORS_ZH,
    "max by (queue) (tiaojie_dead_letter_messages) > 0": DEAD,
    "max by (queue) (tiaojie_queue_messages)": expect(("queue",), {}, 0),
    # recording rules
    'sum by (center) (increase(tiaojie_cases_closed_total{outcome=~"agreement|failed|expired|withdrawn"}[30d]))': expect(
        ("center",), {("huaguangjie",): 5, ("longshengjie",): 3}, 0, rise=True
    ),
    'sum by (center) (increase(tiaojie_cases_closed_total{outcome="agreement"}[30d]))': expect(
        ("center",), {("huaguangjie",): 3, ("longshengjie",): 1}, 0, rise=True
    ),
    "center:tiaojie_cases_agreement:increase30d / (center:tiaojie_cases_closed_by_mediation:increase30d > 0)": expect(
        ("center",), {("huaguangjie",): 0.6, ("longshengjie",): 1 / 3}
    ),
    "sum by (center) (increase(tiaojie_cases_received_total[30d]))": RECEIVED_BY_CENTER,
    'count(tiaojie_success_rate{period="year"} < on() group_left() tiaojie_success_rate_target) or vector(0)': ONE(1),
    "sum by (stage) (tiaojie_cases_open)": OPEN_BY_STAGE,
    "sum(tiaojie_cases_overdue)": ONE(1),
    # alerting rules
    'tiaojie_success_rate{period="year"} < on() group_left() tiaojie_success_rate_target': expect(
        ("center",), {("longshengjie",): 1 / 3}
    ),
    'tiaojie_centers_meeting_target_ratio{period="year"} < on() group_left() tiaojie_centers_meeting_target_goal': ONE(
        1 / 14
    ),
    "tiaojie_cases_overdue > 0": expect(("center",), {("qifang",): 1}),
    "tiaojie_referrals_pending > 0": PENDING,
    'up{job=~"intake|mediation|arbitration_link|metrics|console|documents"} == 0': NOTHING,
    "tiaojie_relay_backlog_events > 100": NOTHING,
    "tiaojie_consumer_lag_seconds > 300": NOTHING,
    "tiaojie_projection_lag_seconds > 300": NOTHING,
    "tiaojie_dead_letter_messages > 0": DEAD,
    "increase(tiaojie_handler_errors_total[10m]) > 0": ERRORS,
    "tiaojie_queue_messages > 1000": NOTHING,
}


def deployed_expressions():
    exprs = set()
    for path in (DEPLOY / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            exprs.update(target["expr"] for target in panel["targets"])
    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            exprs.update(rule["expr"] for rule in group["rules"])
    return exprs


def settled(pipeline):
    """Wait until Prometheus holds enough history and has evaluated the rules on the final values."""
    # Enough history that extrapolating an increase by up to one scrape stays within `rise`.
    support.wait_for(
        lambda: pipeline.query("count_over_time(tiaojie_success_rate_target[1h]) >= 12"),
        timeout=30,
        message="a dozen scrapes",
    )
    # Let Prometheus scrape the final values and evaluate the rules on them.
    last = pipeline.query('timestamp(up{job="metrics"})')[0]["value"][1]
    support.wait_for(
        lambda: float(pipeline.query('timestamp(up{job="metrics"})')[0]["value"][1]) > float(last) + 2,
        timeout=30,
        message="fresh scrapes",
    )
    support.wait_for(lambda: pipeline.query("tiaojie:cases_overdue:sum"), timeout=30, message="rules evaluated")


def test_every_dashboard_and_rule_expression_returns_the_expected_value_in_prometheus(pipeline):
    assert deployed_expressions() == set(EXPECTED_PROMQL)
    settled(pipeline)
    failures = {}
    for expr, expected in EXPECTED_PROMQL.items():
        got = {
            tuple(sample["metric"].get(label) for label in expected["by"]): float(sample["value"][1])
            for sample in pipeline.query(expr)
        }
        problem = mismatch(got, expected)
        if problem:
            failures[expr] = problem
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)


def mismatch(got, expected):
    for key, value in expected["values"].items():
        if key not in got:
            return f"no sample for {key}: {got}"
        if callable(value):
            if not value(got[key]):
                return f"{key} = {got[key]}"
        elif expected["rise"] and value:
            if not value - 1e-9 <= got[key] <= value * 1.25:
                return f"{key} = {got[key]}, expected {value} (extrapolated)"
        elif not math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-12):
            return f"{key} = {got[key]}, expected {value}"
    others = {k: v for k, v in got.items() if k not in expected["values"]}
    if expected["others"] is None and others:
        return f"unexpected samples {others}"
    if expected["others"] is not None and any(v != expected["others"] for v in others.values()):
        return f"other samples should be {expected['others']}: {others}"
    return None


def legend(pattern, labels):
    """The series' name as Grafana writes it from the target's legendFormat (a missing label: nothing)."""
    return PLACEHOLDER.sub(lambda m: labels.get(m.group(1), ""), pattern)


def test_every_legend_reads_chinese_with_what_prometheus_returns(pipeline):
    settled(pipeline)
    failures, seen = [], set()
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                pattern = target["legendFormat"]
                shown = set(PLACEHOLDER.findall(pattern))
                assert not shown & IDENTIFIERS or path.stem == "operations", (panel["title"], pattern)
                for sample in pipeline.query(target["expr"]):
                    labels = sample["metric"]
                    seen.update(label for label in shown if label in labels)
                    words = legend(pattern, {k: v for k, v in labels.items() if k not in IDENTIFIERS})
                    untranslated = [
                        label
                        for label in shown - IDENTIFIERS
                        if label not in labels
                        and not (label == "demonstration_zh" and labels["demonstration"] == "false")
                    ]
                    if untranslated or not (CJK.search(words) or shown <= IDENTIFIERS):
                        failures.append((panel["title"], legend(pattern, labels), labels))
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)
    # Every translated label was met with data (the known cases reach every outcome, stage and kind).
    assert {"name", "demonstration_zh", "outcome_zh", "stage_zh", "kind_zh", "service_zh", "consumer"} <= seen


def report(pipeline, query, token_key="district"):
    return support.http("GET", f"{pipeline.service.url()}/api/v1/report?{query}", token=pipeline.tokens.get(token_key))


def test_the_report_counts_each_centers_year(pipeline):
    status, body, _ = report(pipeline, "year=2031")
    assert status == 200
    assert (body["year"], body["month"], body["denominator"], body["target"]) == (2031, None, "closed", 0.6)
    assert body["milestone"] == 0.95  # the share of centers to meet the target in 2031 (from 2020 on)
    assert len(body["centers"]) == 14
    row = next(r for r in body["centers"] if r["center_id"] == "huaguangjie")
    assert {
        k: row[k]
        for k in (
            "period",
            "received",
            "accepted",
            "closed_agreement",
            "closed_failed",
            "closed_by_mediation",
            "success_rate",
            "on_time_closure_rate",
            "agreements_performed",
            "agreement_performance_rate",
            "reviews_requested",
            "reviews_confirmed",
            "amount_agreed",
            "collective_cases",
            "collective_workers",
            "surveys",
            "mean_satisfaction",
            "complaints",
            "complaints_open",
            "complaints_answered",
            "complaints_mean_days_to_answer",
        )
    } == {
        "period": "2031",
        "received": 4,
        "accepted": 4,
        "closed_agreement": 3,
        "closed_failed": 1,
        "closed_by_mediation": 4,
        "success_rate": 0.75,
        "on_time_closure_rate": 1.0,
        "agreements_performed": 1,
        "agreement_performance_rate": 1.0,
        "reviews_requested": 2,
        "reviews_confirmed": 1,
        "amount_agreed": "24000.00",
        "collective_cases": 1,
        "collective_workers": 12,
        "surveys": 1,
        "mean_satisfaction": 5.0,
        "complaints": 2,
        "complaints_open": 1,
        "complaints_answered": 1,
        "complaints_mean_days_to_answer": 3.0,
    }
    longsheng = next(r for r in body["centers"] if r["center_id"] == "longshengjie")
    assert (
        longsheng["closed_expired"],
        longsheng["closed_withdrawn"],
        longsheng["agreements_defaulted"],
        longsheng["agreement_performance_rate"],
        longsheng["on_time_closure_rate"],
    ) == (1, 1, 1, 0.0, 0.6667)
    qifang = next(r for r in body["centers"] if r["center_id"] == "qifang")
    assert qifang["success_rate"] is None and qifang["closed_not_accepted"] == 1
    summary = body["summary"]
    assert (summary["centers_counted"], summary["centers_meeting_target"], summary["centers_without_data"]) == (
        14,
        1,
        12,
    )
    assert "qifang" in summary["centers_without_data_ids"] and summary["milestone"]["share"] == 0.95
    assert summary["complaints"] == {"filed": 3, "open": 2, "answered": 1, "mean_days_to_answer": 3.0}
    assert body["success_rate_basis"] == "closed_in_period" and body["corrected"] is False


def test_the_report_of_a_month_as_csv(pipeline):
    status, text, headers = report(pipeline, "year=2031&month=6&format=csv&center_id=qifang")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    header, row = text.strip().split("\r\n")
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert (
        values["period"],
        values["received"],
        values["closed_not_accepted"],
        values["consultations"],
        values["complaints"],
        values["recommendations"],
        values["success_rate"],
    ) == ("2031-06", "2", "1", "1", "1", "1", "")


def test_a_center_reads_only_its_own_report(pipeline):
    status, body, _ = report(pipeline, "year=2031", "huaguangjie")
    assert status == 200 and [r["center_id"] for r in body["centers"]] == ["huaguangjie"]
    assert report(pipeline, "year=2031&center_id=longshengjie", "huaguangjie")[0] == 403
    assert report(pipeline, "year=2031", "nobody")[0] == 401
    assert report(pipeline, "year=2031&month=13")[0] == 422
    assert report(pipeline, "year=2031&center_id=atlantis")[0] == 404


def section5(pipeline):
    return sorted(line for line in pipeline.scrape().splitlines() if SECTION5.match(line))


def read_model(pipeline):
    conn = psycopg2.connect(pipeline.urls["metrics"], cursor_factory=psycopg2.extras.RealDictCursor)
    try:
        with conn.cursor() as cursor:
            rows = snapshot(cursor)
            cursor.execute("SELECT consumer, event_id::text FROM inbox ORDER BY 1, 2")
            rows["inbox"] = [tuple(r.values()) for r in cursor.fetchall()]
            cursor.execute("SELECT consumer, stream_id, version FROM inbox_streams ORDER BY 1, 2")
            rows["inbox_streams"] = [tuple(r.values()) for r in cursor.fetchall()]
        return rows
    finally:
        conn.close()


def test_replay_rebuilds_exactly_the_live_read_model_and_the_service_carries_on(pipeline):
    live, live_metrics = read_model(pipeline), section5(pipeline)
    result = support.cli("replay", "metrics", env=support.test_env(**pipeline.env))
    assert "rebuilt from" in result.stdout and "replay metrics" in result.stderr  # the progress bar
    assert read_model(pipeline) == live
    assert section5(pipeline) == live_metrics

    # After the switch the service applies new events once, and skips the replayed ones.
    newcomer = History()
    newcomer.case("qifang", NOW - timedelta(hours=2), "received")
    pipeline.append(newcomer.events)
    pipeline.relay()
    old = pipeline.history.events[0]
    pipeline.publish("intake", old.event_type, {**old.to_envelope(), "occurred_at": old.occurred_at.isoformat()})
    name = 'tiaojie_cases_received_total{center="qifang",source="self"}'
    support.wait_for(lambda: pipeline.series().get(name) == 4, timeout=30, message="the new case counted")
    support.wait_for(
        lambda: "tiaojie_events_duplicate_total" in pipeline.scrape(), timeout=30, message="the replayed event skipped"
    )
    assert pipeline.series()['tiaojie_cases_received_total{center="huaguangjie",source="self"}'] == 5


def test_a_replay_while_events_flow_misses_none_and_counts_none_twice(pipeline):
    received = 'tiaojie_cases_received_total{center="qifang",source="self"}'
    before = pipeline.series()[received]
    # One position per step, so that the replay is still running while cases arrive.
    replay = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "replay", "metrics", "--batch-size", "1", "--no-progress"],
        cwd=support.ROOT,
        env=support.test_env(**pipeline.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    arrived = 0
    try:
        # Cases keep arriving until the replay is done, and a few more after the switch
        # (a fast replay may finish before the second one).
        while replay.poll() is None or arrived < 3:
            history = History()
            history.case("qifang", NOW - timedelta(hours=1), "received")
            pipeline.append(history.events)
            pipeline.relay()
            arrived += 1
    finally:
        output, _ = replay.communicate(timeout=120)
    assert replay.returncode == 0, output
    support.wait_for(
        lambda: (
            pipeline.series()[received] == before + arrived and pipeline.series()["tiaojie_projection_lag_seconds"] == 0
        ),
        timeout=30,
        message="every arrival counted once",
    )
    live = read_model(pipeline)
    support.cli("replay", "metrics", "--no-progress", env=support.test_env(**pipeline.env))
    assert read_model(pipeline) == live


def test_a_reader_holding_one_table_while_it_waits_for_another_does_not_deadlock_the_switch(pipeline):
    """A scrape reads the live tables in its own order: holding the last one the switch locks,
    it then asks for the first (which the switch holds). The switch lets go and tries again,
    so neither is aborted as a deadlock (CI once saw the replay aborted so)."""
    first, last = INBOX_TABLES[0], TABLES[-1].name
    reader = psycopg2.connect(pipeline.urls["metrics"])
    watcher = psycopg2.connect(pipeline.urls["metrics"])
    watcher.autocommit = True
    replay = None
    try:
        with reader.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {last}")  # its transaction stays open: the table is held
        replay = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "replay", "metrics", "--no-progress"],
            cwd=support.ROOT,
            env=support.test_env(**pipeline.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def switch_waits_for_the_last_table():
            with watcher.cursor() as cur:
                cur.execute(
                    "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE c.relname = %s AND l.mode = 'AccessExclusiveLock' AND NOT l.granted",
                    (last,),
                )
                return cur.fetchone() is not None or replay.poll() is not None

        support.wait_for(switch_waits_for_the_last_table, timeout=60, message="the switch waiting for the table")
        with reader.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {first}")  # waits for the switch to let go, then reads
        reader.commit()
        output, _ = replay.communicate(timeout=120)
        assert replay.returncode == 0, output
    finally:
        if replay is not None and replay.poll() is None:
            replay.kill()
        reader.close()
        watcher.close()


def test_the_values_survive_a_restart(pipeline):
    before = section5(pipeline)
    pipeline.service.stop()
    pipeline.service.start()
    assert section5(pipeline) == before

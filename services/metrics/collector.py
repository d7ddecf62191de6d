"""The dashboards' series (CONTRACTS §5), computed from the read model when scraped.

Nothing is counted in memory: every value is an SQL aggregate over the read model at
scrape time, so it survives restarts, agrees with the database, and two instances
report the same numbers.
"""

import functools
import logging

import psycopg2
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from services.common.db import Database

from .indicators import rates_by_center, share_of_centers, success_counts
from .projection import CONSUMED_TYPES
from .readmodel import OUTCOMES

log = logging.getLogger(__name__)

SOURCES = ("self", "arbitration_recommendation", "court_entrusted", "labor_inspection", "petition")
STAGES = ("received", "mediating", "performing", "under_review")
REFERRAL_KINDS = ("referral", "review_request")
PERIODS = ("year", "all")
COMPLAINT_STATES = ("open", "answered")
CONSUMER = "projection"  # the one inbox consumer name of every projection handler
INBOX_CONSUMER = f"metrics.{CONSUMER}"


def read_indicators(cursor, settings, now):
    """Per-center counts and rates for the gauges, in one snapshot of the read model."""
    year_start, year_end = settings.period_bounds(settings.local_year(now))
    cursor.execute(
        "SELECT center_id, source, count(*) AS n FROM metrics_cases WHERE source IS NOT NULL GROUP BY center_id, source"
    )
    received = {(r["center_id"], r["source"]): r["n"] for r in cursor.fetchall()}
    cursor.execute(
        "SELECT center_id, outcome, count(*) AS n FROM metrics_cases"
        " WHERE outcome IS NOT NULL GROUP BY center_id, outcome"
    )
    closed = {(r["center_id"], r["outcome"]): r["n"] for r in cursor.fetchall()}
    cursor.execute(
        "SELECT center_id, open_stage, count(*) AS n,"
        " count(*) FILTER (WHERE open_stage = 'mediating' AND deadline < %(now)s) AS overdue"
        " FROM metrics_cases WHERE open_stage IS NOT NULL GROUP BY center_id, open_stage",
        {"now": now},
    )
    open_cases, overdue = {}, {}
    for r in cursor.fetchall():
        open_cases[(r["center_id"], r["open_stage"])] = r["n"]
        overdue[r["center_id"]] = overdue.get(r["center_id"], 0) + r["overdue"]
    rates = {}
    for period, (start, end) in (("year", (year_start, year_end)), ("all", ("-infinity", "infinity"))):
        for center_id, rate in rates_by_center(success_counts(cursor, start, end), settings.denominator).items():
            rates[(center_id, period)] = rate
    cursor.execute("SELECT kind, count(*) AS n FROM metrics_referrals WHERE pending GROUP BY kind")
    pending = {r["kind"]: r["n"] for r in cursor.fetchall()}
    cursor.execute(
        "SELECT center_id, CASE WHEN answered_at IS NULL THEN 'open' ELSE 'answered' END AS state, count(*) AS n"
        " FROM metrics_center_facts WHERE kind = 'complaint' GROUP BY 1, 2"
    )
    complaints = {(r["center_id"], r["state"]): r["n"] for r in cursor.fetchall()}
    return {
        "received": received,
        "closed": closed,
        "open": open_cases,
        "overdue": overdue,
        "rates": rates,
        "referrals_pending": pending,
        "complaints": complaints,
    }


def metric_families(indicators, centers, settings, now, projection_lag):
    """The §5 series: every known center gets every series (zero where nothing happened)."""
    info = GaugeMetricFamily(
        "tiaojie_center_info", "One series per mediation center", labels=["center", "name", "kind", "demonstration"]
    )
    received = CounterMetricFamily(
        "tiaojie_cases_received", "Applications received, all time", labels=["center", "source"]
    )
    closed = CounterMetricFamily("tiaojie_cases_closed", "Closures, all time, by outcome", labels=["center", "outcome"])
    open_cases = GaugeMetricFamily("tiaojie_cases_open", "Open cases now, by stage", labels=["center", "stage"])
    overdue = GaugeMetricFamily("tiaojie_cases_overdue", "Mediations open past their deadline", labels=["center"])
    rate = GaugeMetricFamily(
        "tiaojie_success_rate",
        "Agreements ÷ cases closed by mediation in the period (or, with the accepted/received denominator,"
        " agreements among the cases accepted/received in the period: a cohort rate)",
        labels=["center", "period"],
    )
    complaints = GaugeMetricFamily(
        "tiaojie_complaints", "Complaints now, all time, by state (open: not yet answered)", labels=["center", "state"]
    )
    for center in centers:
        cid = center.center_id
        for state in COMPLAINT_STATES:
            complaints.add_metric([cid, state], indicators["complaints"].get((cid, state), 0))
        info.add_metric([cid, center.name, center.kind, str(center.demonstration).lower()], 1)
        for source in SOURCES:
            received.add_metric([cid, source], indicators["received"].get((cid, source), 0))
        for outcome in OUTCOMES:
            closed.add_metric([cid, outcome], indicators["closed"].get((cid, outcome), 0))
        for stage in STAGES:
            open_cases.add_metric([cid, stage], indicators["open"].get((cid, stage), 0))
        overdue.add_metric([cid], indicators["overdue"].get(cid, 0))
        for period in PERIODS:
            value = indicators["rates"].get((cid, period))
            if value is not None:
                rate.add_metric([cid, period], value)
    target = GaugeMetricFamily(
        "tiaojie_success_rate_target", "The per-center success-rate target", value=settings.target
    )
    meeting = GaugeMetricFamily(
        "tiaojie_centers_meeting_target_ratio",
        "Share of centers whose success rate is at or above the target",
        labels=["period"],
    )
    without_data = GaugeMetricFamily(
        "tiaojie_centers_without_data",
        "Centers with no case closed by mediation in the period; they count as not meeting the target",
        labels=["period"],
    )
    year = settings.local_year(now)
    counted = settings.counted_centers(centers, year)
    for period in PERIODS:
        rates = {
            c.center_id: indicators["rates"][(c.center_id, period)]
            for c in centers
            if (c.center_id, period) in indicators["rates"]
        }
        share = share_of_centers(rates, counted, settings.target)
        meeting.add_metric([period], share["share"] or 0)
        without_data.add_metric([period], share["centers_without_data"])
    goal = settings.milestone(year)
    goal_family = GaugeMetricFamily(
        "tiaojie_centers_meeting_target_goal",
        "This year's milestone for the share of centers meeting the target",
        value=goal if goal is not None else 0,
    )
    referrals = GaugeMetricFamily(
        "tiaojie_referrals_pending", "Referrals and review requests sent, not answered", labels=["kind"]
    )
    for kind in REFERRAL_KINDS:
        referrals.add_metric([kind], indicators["referrals_pending"].get(kind, 0))
    lag = GaugeMetricFamily(
        "tiaojie_projection_lag_seconds",
        "Age of the oldest stored event not yet applied to the read model"
        " (0 when caught up, NaN when the event stores cannot be read)",
        value=projection_lag,
    )
    return [
        info,
        received,
        closed,
        open_cases,
        overdue,
        rate,
        target,
        meeting,
        without_data,
        goal_family,
        referrals,
        complaints,
        lag,
    ]


class ProjectionLag:
    """How far the read model trails the event stores it projects.

    Looks at the newest `window` events of each store and takes the oldest one the
    projection's inbox has not recorded; a backlog larger than the window still shows
    a lag that grows, just a lower bound of the true one.
    """

    def __init__(self, source_urls, window=1000):
        self.source_urls = source_urls
        self.window = window
        # One kept connection per store: connecting on every scrape cost more than the query.
        self._sources = {
            service: Database(url, max_connections=1, connect_timeout=2) for service, url in source_urls.items()
        }

    def seconds(self, cursor, now):
        """The lag in seconds, or NaN when no event store could be read (unknown)."""
        oldest, readable = None, 0
        for service in self.source_urls:
            try:
                tail = self._tail(self._sources[service])
            except psycopg2.Error as exc:
                log.debug("cannot read the %s event store: %s", service, exc)
                continue
            readable += 1
            if not tail:
                continue
            cursor.execute(  # one index probe per event of the tail
                "SELECT id::text AS event_id FROM unnest(%s::uuid[]) AS tail(id)"
                " WHERE EXISTS (SELECT 1 FROM inbox WHERE consumer = %s AND event_id = tail.id)",
                ([event_id for event_id, _ in tail], INBOX_CONSUMER),
            )
            applied = {r["event_id"] for r in cursor.fetchall()}
            for event_id, recorded_at in tail:
                if event_id not in applied and (oldest is None or recorded_at < oldest):
                    oldest = recorded_at
        if not readable and self.source_urls:
            return float("nan")
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0

    def _tail(self, source):
        with source.transaction() as cur:
            cur.execute(
                "SELECT event_id::text, recorded_at FROM events WHERE event_type = ANY(%s)"
                " ORDER BY position DESC LIMIT %s",
                (sorted(CONSUMED_TYPES), self.window),
            )
            return [(row["event_id"], row["recorded_at"]) for row in cur.fetchall()]


@functools.lru_cache(maxsize=4)
def projection_lag(sources):
    """The `ProjectionLag` over `sources` (a tuple of (service, url)), made once per process
    so its connections are kept between scrapes."""
    return ProjectionLag(dict(sources))


class ReadModelCollector:
    """A prometheus_client collector over the read model (registered per scrape)."""

    def __init__(self, database, clock, settings, centers, lag=None):
        self.database = database
        self.clock = clock
        self.settings = settings
        self.centers = centers
        self.lag = lag

    def describe(self):
        return []

    def collect(self):
        now = self.clock.now()
        with self.database.transaction() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            indicators = read_indicators(cursor, self.settings, now)
            lag = self.lag.seconds(cursor, now) if self.lag else 0.0
        return metric_families(indicators, self.centers, self.settings, now, lag)

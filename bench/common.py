"""What every benchmark shares: the bench namespace, fresh databases, rows of the table, timing.

The bench works in a namespace of its own (`TIAOJIE_BENCH_NS`, default `tj_bench`):
databases `<ns>_<name>` and the broker vhost `<ns>`, dropped and recreated per run and
removed at its end, so nothing it does touches the tests' or the demo's data.
"""

import dataclasses
import os
import statistics
import time
from urllib.parse import quote

import psycopg2

from services.common import namespace as namespace_of_run
from services.common.broker import rabbitmqctl
from services.common.db import drop_database, ensure_database, migrate

PG_SERVER = os.environ.get("TIAOJIE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
AMQP_SERVER = os.environ.get("TIAOJIE_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672")


def namespace():
    return os.environ.get("TIAOJIE_BENCH_NS", "tj_bench")


def database_url(name):
    return f"{PG_SERVER}/{namespace()}_{name}"


def amqp_uri():
    return f"{AMQP_SERVER}/{quote(namespace(), safe='')}"


def fresh_database(name, migrations=()):
    """Drops and recreates `<ns>_<name>`, applies `migrations`; returns its URL."""
    url = database_url(name)
    drop_database(url)
    ensure_database(url)
    if migrations:
        migrate(url, list(migrations))
    return url


def fresh_vhost():
    """A fresh broker vhost `<ns>` (rabbitmqctl, as tests/support.py does for the tests)."""
    vhost = namespace()
    rabbitmqctl("delete_vhost", vhost)
    rabbitmqctl("add_vhost", vhost, check=True)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*", check=True)


def remove_namespace():
    """Drops the bench's databases and deletes its vhost: a run leaves nothing behind."""
    return namespace_of_run.remove(PG_SERVER, namespace())


def execute(url, sql, params=None):
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


@dataclasses.dataclass
class Row:
    """One line of the results table: our figure beside its baseline, measured in the same run."""

    benchmark: str
    ours: float
    unit: str
    baseline_name: str
    baseline: float | None
    target: str = ""
    higher_is_better: bool = True
    note: str = ""
    target_ratio: float | None = None

    @property
    def ratio(self):
        if self.baseline in (None, 0) or self.ours is None:
            return None
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours

    @property
    def meets_target(self):
        if self.target_ratio is None or self.ratio is None:
            return None
        return self.ratio >= self.target_ratio


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def median_rate(rounds):
    """The median of (count, seconds) rounds, as events per second."""
    return statistics.median(rate(c, s) for c, s in rounds)


def percentile(values, p):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (k - low)

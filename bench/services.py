"""The running system for the end-to-end benchmarks: the bench namespace, `tiaojie setup`, tokens, processes.

Each service runs in a process of its own (`tiaojie serve NAME`, as docker-compose runs
them), so the peak RSS of each can be read from /proc.
"""

import concurrent.futures
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from services.common.config import SERVICES, database_url
from services.common.db import drop_database
from tests.support import ServiceProcess

from .common import PG_SERVER, amqp_uri, namespace

ROOT = Path(__file__).resolve().parent.parent
# Workers per service (each may hold a database connection): four services at the default
# 20 would take 80 of the shared server's 100 connections, and the first run of the
# bench met "too many clients" beside the other engineers' test sessions.
MAX_WORKERS = int(os.environ.get("TIAOJIE_BENCH_MAX_WORKERS", "10"))


def bench_env(**extra):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG_SERVER}/{namespace()}",
        AMQP_URI=amqp_uri(),
        PYTHONUNBUFFERED="1",
        TIAOJIE_LOG_LEVEL="WARNING",
        TIAOJIE_MAX_WORKERS=str(MAX_WORKERS),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def setup_namespace(env, broker=True):
    """Fresh service databases in the bench namespace, prepared by `tiaojie setup`
    (with `broker`, into the vhost `<ns>`, which must exist)."""
    for name in SERVICES:
        drop_database(database_url(name, env))
    from services.operations import setup

    with contextlib.redirect_stdout(sys.stderr):
        if setup(skip_broker=not broker, env=env) != 0:
            raise RuntimeError("tiaojie setup failed in the bench namespace")


def missing_services():
    from services import registry

    return [name for name in SERVICES if name not in registry.available_services()]


def peak_rss_mib(pid):
    """VmHWM of a process, in MiB (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def running_services(env, names=SERVICES):
    """Each service in its own `tiaojie serve` process; yields {name: ServiceProcess}."""
    processes = {name: ServiceProcess(name, env=env, log_path=f"/tmp/{namespace()}-{name}.log") for name in names}
    try:
        # Started side by side: each waits for its own /ready.
        with concurrent.futures.ThreadPoolExecutor(len(processes)) as pool:
            for future in [pool.submit(p.start, 90) for p in processes.values()]:
                future.result()
        yield processes
    finally:
        for process in processes.values():
            if process.process is not None:
                process.stop()


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_by_process_group():
    """CPU seconds so far of the processes the end-to-end load runs through, beyond the
    services: PostgreSQL backends of the bench's databases, the broker, this process."""
    groups = {"postgresql (bench backends)": {}, "rabbitmq (whole broker)": {}}
    marker = f" {namespace()}_"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("postgres:") and marker in cmdline:
            groups["postgresql (bench backends)"][entry] = cpu_seconds(entry)
        elif "beam.smp" in cmdline and "rabbit boot" in cmdline:
            groups["rabbitmq (whole broker)"][entry] = cpu_seconds(entry)
    groups["bench client (this process)"] = {"self": sum(os.times()[:2])}
    return groups


def cpu_spent(before, after):
    """Per group, CPU seconds between two `cpu_by_process_group()` snapshots (processes
    that ended in between are missed; ones that started count whole)."""
    return {
        group: sum(value - before.get(group, {}).get(pid, 0.0) for pid, value in pids.items())
        for group, pids in after.items()
    }


def machine_busy():
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


@contextlib.contextmanager
def spied(processes, seconds):
    """py-spy on every service process for `seconds`; yields a dict filled with summaries."""
    from . import profile

    tool = profile.py_spy()
    summaries, running = {}, []
    tmp = Path(f"/tmp/{namespace()}-spy")
    tmp.mkdir(exist_ok=True)
    if tool:
        for name, process in processes.items():
            output = tmp / f"{name}.txt"
            running.append(
                (
                    name,
                    output,
                    subprocess.Popen(
                        [
                            tool,
                            "record",
                            "--pid",
                            str(process.process.pid),
                            "--idle",
                            "--nonblocking",
                            "-r",
                            "100",
                            "-d",
                            str(max(1, int(seconds))),
                            "--format",
                            "raw",
                            "-o",
                            str(output),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    ),
                )
            )
    try:
        yield summaries
    finally:
        for name, output, spy in running:
            try:
                spy.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
            summaries[name] = profile.summarise(profile.read_stacks(output), top=6)


class DatabaseWaits:
    """Samples what the bench databases' busy backends are doing (pg_stat_activity), ten
    times a second: the database side of the profile (lock waits, I/O, client reads)."""

    def __init__(self, interval=0.1):
        import collections
        import threading

        self.interval, self.counts, self.samples = interval, collections.Counter(), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg2

        conn = psycopg2.connect(f"{PG_SERVER}/postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                while not self._stop.is_set():
                    cur.execute(
                        "SELECT regexp_replace(datname, %s, ''), CASE WHEN state = 'active'"
                        " THEN COALESCE(wait_event_type || ':' || wait_event, 'CPU') ELSE state END,"
                        " count(*) FROM pg_stat_activity WHERE datname LIKE %s"
                        " AND state IN ('active', 'idle in transaction')"
                        " AND pid <> pg_backend_pid() GROUP BY 1, 2",
                        (f"^{namespace()}_", f"{namespace()}\\_%"),
                    )
                    for database, wait, count in cur.fetchall():
                        self.counts[(database, wait)] += count
                    self.samples += 1
                    self._stop.wait(self.interval)
        finally:
            conn.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def summary(self, top=8):
        """Markdown lines: average busy backends per (database, wait), the most first."""
        if not self.samples:
            return ["(no samples)"]
        lines = [f"- {self.samples} samples of pg_stat_activity; average active backends by database and wait:"]
        for (database, wait), count in self.counts.most_common(top):
            lines.append(f"  - {count / self.samples:.2f} {database} {wait}")
        return lines

"""`make run`: the whole system on this machine, with a district's workload flowing.

Checks that PostgreSQL and RabbitMQ answer (and says how to start the one that does not),
runs `tiaojie setup`, starts the four services (`tiaojie serve all`) and the reference
arbitration institute (`tiaojie court`), issues demo tokens into `run/tokens.json`, and
starts `tiaojie simulate`: on a fresh store it back-fills this year first, on the services'
shared clock (`run/clock`), then runs live. Once the back-fill has reached today,
`tiaojie documents backfill` issues the documents of each center's newest cases, so there
are agreements and notices to open. Ctrl-C or SIGTERM stops everything, in order.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import psycopg2  # noqa: E402

from services.common.centers import load_centers  # noqa: E402
from services.common.config import SERVICES, amqp_uri, database_url, http_port  # noqa: E402

RUN_DIR = ROOT / "run"
TIAOJIE = [sys.executable, "-m", "services.cli"]
LIVE_RATE = os.environ.get("TIAOJIE_DEMO_RATE", "30")
SEED = os.environ.get("TIAOJIE_DEMO_SEED", "2026")
DEMO_PASSWORD = os.environ.get("TIAOJIE_DEMO_PASSWORD", "tiaojie-demo")


def check_postgres():
    url = database_url("postgres").rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg2.connect(url, connect_timeout=3).close()
        return None
    except psycopg2.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        clusters = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        version = clusters[-1] if clusters else "15"
        return (
            f"PostgreSQL is not reachable at {url.split('@')[-1]} ({reason}).\n"
            f"  Start it with `pg_ctlcluster {version} main start` (Debian), or `docker compose up -d postgres`."
        )


def check_rabbitmq():
    import kombu

    uri = amqp_uri()
    try:
        with kombu.Connection(uri, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return (
            f"RabbitMQ is not reachable at {uri.split('@')[-1]} ({type(exc).__name__}: {exc}).\n"
            "  Start it with `rabbitmq-server -detached`, or `docker compose up -d rabbitmq`."
        )


def check_broker_file_handles():
    """A broker whose file handles cannot hold tiaojie's quorum queues would leave the
    services waiting for it ("not ready"): say so, with the fix, before starting anything."""
    from services.common.broker import file_handle_problem
    from services.registry import quorum_queues

    return file_handle_problem(amqp_uri(), quorum_queues())


def service_url(name):
    return f"http://localhost:{http_port(name)}"


def http_get(url, token=None, timeout=3):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null")


def wait_ready(names, process, timeout=60):
    deadline = time.monotonic() + timeout
    waiting = list(names)
    while waiting:
        if process.poll() is not None:
            return f"`tiaojie serve all` exited ({process.returncode}); see run/logs/services.log"
        try:
            if http_get(service_url(waiting[0]) + "/ready")[0] == 200:
                waiting.pop(0)
                continue
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            return f"{waiting[0]} not ready after {timeout}s; see run/logs/services.log"
        time.sleep(0.3)
    return None


def issue_tokens():
    """Demo tokens: one per center, the district's and an admin's, written to run/tokens.json."""
    from services.operations import create_token

    tokens = {
        "centers": {c.center_id: create_token("center", c.center_id) for c in load_centers()},
        "district": create_token("district"),
        "admin": create_token("admin"),
    }
    path = RUN_DIR / "tokens.json"
    path.write_text(json.dumps(tokens, indent=2))
    path.chmod(0o600)
    return tokens, path


def demo_accounts():
    """People to log in to the console as: a clerk per center, a head, the district, an admin.

    Their passwords are known (`TIAOJIE_DEMO_PASSWORD`), not one-time; accounts that exist
    already (a second `make run`) are left as they are.
    """
    from services.console import accounts
    from services.console.cli import account_store

    first = load_centers()[0]
    people = [(f"staff.{c.center_id}", f"{c.name}登记员", "staff", c.center_id) for c in load_centers()]
    people += [
        (f"head.{first.center_id}", f"{first.name}负责人", "head", first.center_id),
        ("district", "区调解办", "district", None),
        ("admin", "系统管理员", "admin", None),
    ]
    with account_store() as store:
        for login, name, role, center_id in people:
            try:
                accounts.create_account(store, login, name, role, center_id, password=DEMO_PASSWORD)
            except accounts.AccountError as exc:
                if exc.field != "login":
                    raise
    return people


def store_is_empty(tokens):
    try:
        _, page = http_get(service_url("intake") + "/api/v1/cases?page_size=1", tokens["district"])
    except (OSError, ValueError):
        return True
    total = page.get("total") if isinstance(page, dict) else None
    return not total


class Children:
    """The processes this command started, stopped in the reverse order."""

    def __init__(self, env):
        self.env = env
        self.started = []

    def start(self, name, args, log=None):
        out = open(RUN_DIR / "logs" / f"{log}.log", "ab") if log else None
        process = subprocess.Popen(
            [*TIAOJIE, *args],
            cwd=ROOT,
            env=self.env,
            stdout=out or None,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        self.started.append((name, process))
        return process

    def exited(self):
        return [(name, p.returncode) for name, p in self.started if p.poll() is not None]

    def stop(self):
        for name, process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(25)
                except subprocess.TimeoutExpired:
                    print(f"  {name} did not stop in 25s: killing it")
                    process.kill()
                    process.wait()
            print(f"  stopped {name}")


def reachable(check, attempts=5):
    """None when `check` passes within a few seconds, else its last complaint."""
    for attempt in range(attempts):
        problem = check()
        if problem is None or attempt == attempts - 1:
            return problem
        time.sleep(1)


def main():
    problems = [p for p in (reachable(check_postgres), reachable(check_rabbitmq)) if p]
    if not problems:
        problems = [p for p in (check_broker_file_handles(),) if p]
    if problems:
        print("cannot start tiaojie:\n" + "\n".join(problems), file=sys.stderr)
        return 2
    (RUN_DIR / "logs").mkdir(parents=True, exist_ok=True)
    clock_file = RUN_DIR / "clock"
    clock_file.write_text("0")
    env = dict(os.environ, TIAOJIE_CLOCK_FILE=str(clock_file), PYTHONUNBUFFERED="1")
    # A worker holds at most one database connection: ten each keeps the four services well
    # inside PostgreSQL's default 100 connections.
    env.setdefault("TIAOJIE_MAX_WORKERS", "10")

    if subprocess.call([*TIAOJIE, "setup"], cwd=ROOT, env=env) != 0:
        return 1

    stopping = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))

    children = Children(env)
    try:
        serve = children.start("services", ["serve", "all"], log="services")
        names = [n for n in SERVICES if importlib.util.find_spec(f"services.{n}.service")]
        problem = wait_ready(names, serve)
        if problem:
            print("\n".join(p for p in (problem, check_broker_file_handles()) if p), file=sys.stderr)
            return 1
        try:
            tokens, token_path = issue_tokens()
            people = demo_accounts() if "console" in names else []
        except psycopg2.Error as exc:
            print(f"cannot issue the demo tokens and accounts: {str(exc).strip()}", file=sys.stderr)
            return 1
        simulate = [
            "simulate",
            "--token-file",
            str(token_path),
            "--clock-file",
            str(clock_file),
            "--intake-url",
            service_url("intake"),
            "--mediation-url",
            service_url("mediation"),
            "--rate",
            LIVE_RATE,
            "--seed",
            SEED,
        ]
        if store_is_empty(tokens):
            simulate += ["--from", date.today().replace(month=1, day=1).isoformat()]
        if importlib.util.find_spec("services.arbitration_link.court"):
            children.start(
                "court",
                [
                    "court",
                    "--policy",
                    "random",
                    "--confirm-ratio",
                    "0.85",
                    "--decline-ratio",
                    "0.03",
                    "--seed",
                    SEED,
                    "--issue-recommendations",
                    "3",
                    "--state",
                    str(RUN_DIR / "court.sqlite"),
                ],
                log="court",
            )
        if {"intake", "mediation"} <= set(names):
            children.start("simulate", simulate)
            if "documents" in names:
                children.start("documents", documents_backfill(token_path, clock_file))
        print_where_to_look(names, token_path, people)
        simulate_reported = False
        while not stopping:
            if not simulate_reported and any(n == "simulate" for n, _ in children.exited()):
                simulate_reported = True
                print("the simulator stopped; the services keep running (Ctrl-C stops them)", flush=True)
            exited = [(n, rc) for n, rc in children.exited() if n not in ONE_SHOTS]
            if exited:
                print("stopped by itself: " + ", ".join(f"{n} (exit {rc})" for n, rc in exited), file=sys.stderr)
                return 1
            time.sleep(0.5)
        print("\nstopping ...")
        return 0
    finally:
        children.stop()


# Children that finish by themselves while the system runs on.
ONE_SHOTS = ("simulate", "documents")


def documents_backfill(token_path, clock_file):
    return [
        "documents",
        "backfill",
        "--token-file",
        str(token_path),
        "--clock-file",
        str(clock_file),
        "--wait",
        "1800",
        "--per-center",
        "1",
        "--intake-url",
        service_url("intake"),
        "--mediation-url",
        service_url("mediation"),
        "--documents-url",
        service_url("documents"),
    ]


def print_where_to_look(names, token_path, people):
    print("\ntiaojie is running:")
    for name in SERVICES:
        if name in names:
            print(f"  {name:17} {service_url(name)}   (/health, /ready, /metrics)")
    if "metrics" in names:
        print(f"\n  dashboard metrics  {service_url('metrics')}/metrics")
        print(f"  leadership report  {service_url('metrics')}/report")
    if "documents" in names:
        print(f"  documents (文书)    {service_url('documents')}/api/v1/cases/<case_id>/documents")
        print("                     issued for each center's newest cases once the back-fill reaches today;")
        print("                     a line starting `documents backfill:` then gives a curl that opens an agreement")
    if "console" in names:
        print(
            f"\n  staff console      {service_url('console')}/   (工作台: log in as one of these, password {DEMO_PASSWORD})"
        )
        for login, name, role, _center_id in people:
            print(f"    {login:28} {role:9} {name}")
        print("    (while the simulator back-fills the year, the clock races ahead and sessions end at once:")
        print("     log in when it runs live)")
    print(f'\n  staff tokens       {token_path.relative_to(ROOT)}  (curl -H "Authorization: Bearer <token>" ...)')
    print("  pipeline status    .venv/bin/tiaojie status")
    print("  logs               run/logs/")
    print("  Grafana            `docker compose up` runs Prometheus and Grafana with the dashboards")
    print("\nCtrl-C stops everything.\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())

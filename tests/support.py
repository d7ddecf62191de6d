"""Test support: the test namespace (database prefix and broker vhost), service processes."""

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import kombu

from services.common import broker

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = os.environ.get("TIAOJIE_TEST_NS", "tiaojie_test")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE_URL = f"{PG_SERVER}/{NAMESPACE}"
AMQP_URI = f"amqp://guest:guest@127.0.0.1:5672/{NAMESPACE}"


def test_env(**extra):
    env = dict(os.environ)
    env.update(DATABASE_URL=DATABASE_URL, AMQP_URI=AMQP_URI, PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def rabbitmqctl(*args, check=True):
    return broker.rabbitmqctl(*args, check=check, timeout=300)


def reset_vhost():
    """A fresh broker vhost for the test session, so no old queue or message leaks in."""
    rabbitmqctl("delete_vhost", NAMESPACE, check=False)
    rabbitmqctl("add_vhost", NAMESPACE)
    rabbitmqctl("set_permissions", "-p", NAMESPACE, "guest", ".*", ".*", ".*")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=None, headers=None, timeout=10):
    """A plain HTTP call; returns (status, parsed JSON or text, headers)."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = (
            body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
        )
        all_headers.setdefault("Content-Type", "application/json")
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, response_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, response_headers = exc.code, exc.read(), exc.headers
    text = raw.decode("utf-8")
    try:
        return status, json.loads(text), response_headers
    except ValueError:
        return status, text, response_headers


def wait_for(predicate, timeout=15.0, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


class ServiceProcess:
    """`tiaojie serve SERVICE...` as a child process, on free ports."""

    def __init__(self, *services, env=None, log_path=None):
        self.services = services
        self.ports = {name: free_port() for name in services}
        extra = {f"{name.upper()}_HTTP_PORT": port for name, port in self.ports.items()}
        extra["HTTP_HOST"] = "127.0.0.1"
        self.env = test_env(**extra)
        self.env.update(env or {})
        self.log_path = log_path or f"/tmp/{NAMESPACE}-{'-'.join(services)}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.process = None

    def url(self, service=None):
        service = service or self.services[0]
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, timeout=30):
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", *self.services],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        for service in self.services:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"service exited: {self.log_tail()}")
                try:
                    status, _, _ = http("GET", self.url(service) + "/ready", timeout=2)
                    if status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} not ready in {timeout}s: {self.log_tail()}")
                time.sleep(0.1)
        return self

    def stop(self, timeout=20):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()
        return self.process.returncode if self.process else None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._log.close()

    def log_tail(self, lines=40):
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def cli(*args, env=None, check=True, timeout=120):
    """Runs `tiaojie ARGS` with the test environment; returns the CompletedProcess."""
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=env or test_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tiaojie {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
    return result


def case_numbers_not_drawn(intake_url):
    """`{(center_id, case_number)}` in intake's store or case list that intake's counter did not
    draw: a number above its center's and year's `last_number`, or not in its format."""
    import psycopg2

    drawn = (
        "EXISTS (SELECT 1 FROM intake_case_numbers n WHERE n.center_id = c.center_id"
        " AND n.year::text = substring(c.case_number FROM '-(\\d{4})-\\d+$')"
        " AND n.last_number >= substring(c.case_number FROM '-(\\d+)$')::int)"
    )
    conn = psycopg2.connect(intake_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT center_id, case_number FROM ("
                " SELECT center_id, data->>'case_number' AS case_number FROM events"
                " WHERE event_type = 'ApplicationReceived' AND data ? 'case_number'"
                " UNION SELECT center_id, case_number FROM intake_cases) AS c"
                f" WHERE NOT {drawn}"
            )
            return set(cur.fetchall())
    finally:
        conn.close()


def issue_token(*flags):
    return cli("token", "issue", *flags).stdout.strip().splitlines()[-1]


def amqp_connection():
    return kombu.Connection(AMQP_URI)


def json_log_of(emit):
    """What `emit(logger)` logs, as the services' JSON formatter writes it."""
    from services.common.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tiaojie-test-capture")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()

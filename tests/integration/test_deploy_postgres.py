"""The deployment's PostgreSQL, on a private server started for this module.

The init script of deploy/postgres runs as the postgres image runs it on first start;
`tiaojie setup` then migrates every service's database as that service's own role, and
no role reaches another service's database, except the metrics role reading the other
stores' `events` and the intake role mediation's (deploy/postgres/grant_projection_reads.py). The backup and restore of an event store
follow deploy/README.md step by step (`pg_dump -Fc`, `dropdb --force`,
`pg_restore --create`).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest

from services.common.clock import SystemClock
from services.common.config import SERVICES
from services.common.db import Database
from services.common.envelope import NewEvent
from services.common.eventstore import ANY_VERSION, EventStore
from tests import support

INIT_SCRIPTS = support.ROOT / "deploy" / "postgres" / "initdb"
STORES = (*SERVICES, "keys")  # every service's database and the key store of personal data
PASSWORDS = {name: f"pw-{name.replace('_', '-')}-{uuid.uuid4().hex[:8]}" for name in STORES}


def postgres_bin():
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def as_postgres(args):
    """PostgreSQL's server tools refuse to run as root: run them as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


class Server:
    def __init__(self, bindir, base, port):
        self.bindir, self.base, self.port = bindir, base, port

    def tool_env(self, **extra):
        """What the postgres image's entrypoint gives its init scripts: a local socket."""
        env = dict(os.environ, PGHOST=str(self.base), PGPORT=str(self.port), POSTGRES_USER="postgres")
        env.update(extra)
        return env

    def run(self, *args, **extra_env):
        return subprocess.run(
            as_postgres([str(self.bindir / args[0]), *args[1:]]),
            env=self.tool_env(**extra_env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def url(self, service, role=None):
        role = role or service
        return f"postgresql://{role}:{PASSWORDS[role]}@127.0.0.1:{self.port}/tiaojie_{service}"


@pytest.fixture(scope="module")
def server():
    bindir = postgres_bin()
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("no PostgreSQL server binaries to start a private server with")
    base = Path(tempfile.mkdtemp(prefix=f"{support.NAMESPACE}-deploy-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    port = support.free_port()
    server = Server(bindir, base, port)
    try:
        created = server.run(
            "initdb", "-D", str(base / "data"), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256"
        )
        assert created.returncode == 0, created.stderr
        started = server.run(
            "pg_ctl",
            "start",
            "-D",
            str(base / "data"),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
        )
        assert started.returncode == 0, started.stderr
        passwords = {f"{name.upper()}_DB_PASSWORD": password for name, password in PASSWORDS.items()}
        for script in sorted(INIT_SCRIPTS.glob("*.sh")):
            initialised = subprocess.run(
                ["bash", str(script)], env=server.tool_env(**passwords), capture_output=True, text=True, timeout=120
            )
            assert initialised.returncode == 0, initialised.stderr
        yield server
    finally:
        server.run("pg_ctl", "-D", str(base / "data"), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def setup_env(server):
    return support.test_env(**{f"{name.upper()}_DATABASE_URL": server.url(name) for name in STORES})


def test_setup_migrates_each_database_as_its_own_role_and_no_role_reaches_another(server):
    result = support.cli("setup", "--skip-broker", env=setup_env(server))
    assert all(f"database ready: {name}" in result.stdout for name in SERVICES)
    token = support.cli("token", "issue", "--center", "huaguangjie", env=setup_env(server)).stdout.split()[-1]
    assert len(token) >= 20
    assert "key store ready" in result.stdout
    with psycopg2.connect(server.url("keys")) as conn, conn.cursor() as cur:
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'data_keys'")
        assert cur.fetchone() == ("keys",)
    conn.close()
    for name in SERVICES:
        with psycopg2.connect(server.url(name)) as conn, conn.cursor() as cur:
            cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'events'")
            assert cur.fetchone() == (name,)
        conn.close()
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            psycopg2.connect(server.url("keys", role=name)).close()
        for other in SERVICES:
            if other != name:
                with pytest.raises(psycopg2.OperationalError, match="permission denied"):
                    psycopg2.connect(server.url(other, role=name)).close()


def test_an_event_store_comes_back_whole_from_its_backup(server):
    support.cli("setup", "--skip-broker", env=setup_env(server))
    database = Database(server.url("intake"))
    store = EventStore(database, SystemClock())
    case_id = str(uuid.uuid4())
    store.append(
        f"case-{case_id}",
        ANY_VERSION,
        [
            NewEvent(
                "CaseAccepted", {"case_id": case_id, "amount": "12000.00"}, case_id=case_id, center_id="huaguangjie"
            ),
            NewEvent("ApplicationWithdrawn", {"case_id": case_id}, case_id=case_id, center_id="huaguangjie"),
        ],
    )
    before = [(e.event_id, e.position, e.data) for e in store.iter_all()]
    database.close()

    dump = server.base / "tiaojie_intake.dump"
    dumped = server.run("pg_dump", "-U", "postgres", "-Fc", "-f", str(dump), "tiaojie_intake")
    assert dumped.returncode == 0, dumped.stderr
    assert server.run("dropdb", "-U", "postgres", "--force", "tiaojie_intake").returncode == 0
    restored = server.run("pg_restore", "-U", "postgres", "--create", "-d", "postgres", str(dump))
    assert restored.returncode == 0, restored.stderr

    database = Database(server.url("intake"))
    try:
        assert [(e.event_id, e.position, e.data) for e in EventStore(database, SystemClock()).iter_all()] == before
    finally:
        database.close()
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(server.url("intake", role="mediation")).close()
    support.cli("setup", "--skip-broker", env=setup_env(server))


def grant_reads(server):
    env = setup_env(server)
    support.cli("setup", "--skip-broker", env=env)
    granted = subprocess.run(
        [sys.executable, str(support.ROOT / "deploy/postgres/grant_projection_reads.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert granted.returncode == 0, granted.stderr


def assert_reads_events_only(url):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM events")
        conn.rollback()
        for statement in ("SELECT count(*) FROM inbox", "DELETE FROM events"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
                cur.execute(statement)
            conn.rollback()
    finally:
        conn.close()


def test_the_metrics_role_reads_the_other_stores_events_and_nothing_else_of_theirs(server):
    grant_reads(server)
    for source in ("intake", "mediation", "arbitration_link"):
        assert_reads_events_only(server.url(source, role="metrics"))
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(server.url("metrics", role="intake")).close()


def test_the_intake_role_reads_mediations_events_for_the_retention_timer_and_nothing_else(server):
    grant_reads(server)
    assert_reads_events_only(server.url("mediation", role="intake"))
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(server.url("arbitration_link", role="intake")).close()

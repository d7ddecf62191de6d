"""PostgreSQL access: a small green-friendly connection pool, transactions, migrations.

Under eventlet, `make_green()` installs psycogreen's wait callback so a query yields
to the hub instead of blocking every green thread of the process.
"""

import contextlib
import logging
import threading
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

log = logging.getLogger(__name__)

psycopg2.extras.register_uuid()
# jsonb comes back as dict; timestamps as aware datetimes (psycopg2's default).

_green = False


def make_green():
    """Makes psycopg2 cooperate with eventlet (call once, after monkey-patching)."""
    global _green
    if not _green:
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
        _green = True


class Database:
    """A pool of connections to one database; `transaction()` is the unit of work's core."""

    def __init__(self, url, max_connections=10, connect_timeout=10):
        self.url = url
        self.connect_timeout = connect_timeout
        self._idle = []
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()

    def _connect(self):
        conn = psycopg2.connect(self.url, connect_timeout=self.connect_timeout)
        conn.autocommit = False
        return conn

    def _checkout(self):
        self._slots.acquire()
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                conn = self._connect()
            return conn
        except BaseException:
            self._slots.release()
            raise

    def _checkin(self, conn, broken):
        try:
            if broken or conn.closed:
                with contextlib.suppress(Exception):
                    conn.close()
                if broken:
                    # The server dropped this connection; it has likely dropped the idle ones
                    # too (a restart, `pg_terminate_backend`). Handing those out one by one
                    # would fail each next transaction, and burn a message's deliveries.
                    self.close()
            else:
                with self._lock:
                    self._idle.append(conn)
        finally:
            self._slots.release()

    @contextlib.contextmanager
    def connection(self):
        conn = self._checkout()
        broken = False
        try:
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True
            raise
        finally:
            if not broken and not conn.closed and conn.status != psycopg2.extensions.STATUS_READY:
                with contextlib.suppress(Exception):
                    conn.rollback()
            self._checkin(conn, broken)

    @contextlib.contextmanager
    def transaction(self):
        """A cursor inside one transaction: committed on normal exit, rolled back on error."""
        with self.connection() as conn:
            try:
                with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    yield cur
                conn.commit()
            except BaseException:
                if not conn.closed:
                    with contextlib.suppress(Exception):
                        conn.rollback()
                raise

    def ping(self):
        with self.transaction() as cur:
            cur.execute("SELECT 1")

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


def _with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url):
    return urlsplit(url).path.lstrip("/")


def ensure_database(url):
    """Creates the database of `url` if it does not exist (safe under concurrency)."""
    name = database_name(url)
    admin = psycopg2.connect(_with_database(url, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            try:
                cur.execute(f'CREATE DATABASE "{name}"')
            except (psycopg2.errors.DuplicateDatabase, psycopg2.errors.UniqueViolation):
                return False
            return True
    finally:
        admin.close()


def drop_database(url):
    name = database_name(url)
    admin = psycopg2.connect(_with_database(url, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def migrate(url, migrations):
    """Applies each `(migration_id, sql)` not yet applied, in order, once.

    An advisory lock makes concurrent `tiaojie setup` runs wait for each other.
    """
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('tiaojie:migrations'))")
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " migration_id text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT migration_id FROM schema_migrations")
            applied = {row[0] for row in cur.fetchall()}
            for migration_id, sql in migrations:
                if migration_id in applied:
                    continue
                log.info("applying migration %s", migration_id)
                cur.execute(sql)
                cur.execute("INSERT INTO schema_migrations (migration_id) VALUES (%s)", (migration_id,))
    finally:
        conn.close()

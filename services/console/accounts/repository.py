"""Where accounts live: the console's event store, plus two lookups the streams cannot answer.

The account, session and token streams are loaded by id; the index finds stream ids by
something else (every login, an account id, a token prefix) and keeps each session's last
activity, which is not worth an event per click.
"""

import contextlib
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.common.clock import FixedClock, SystemClock
from services.common.logs import correlation_id_var
from services.common.unit_of_work import FakeUnitOfWork, unit_of_work

from .domain import AccountSettings
from .throttle import Failures

TOKEN_EVENTS = ("PersonalTokenIssued", "MachineTokenIssued")


class Passwords:
    """argon2id hashes of passwords (argon2-cffi's defaults unless a hasher is handed in)."""

    def __init__(self, hasher=None):
        self.hasher = hasher or PasswordHasher()
        self._decoy = self.hasher.hash("decoy password, never anyone's")

    def hash(self, password):
        return self.hasher.hash(password)

    def verify(self, password_hash, password):
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_nothing(self, password):
        """Spends the time of a verification, so an unknown login answers as slowly as a known one."""
        self.verify(self._decoy, password)


def fast_passwords():
    """Cheap argon2 parameters for tests: the same code path, a thousandth of the work."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


class PostgresAccountIndex:
    def __init__(self, cursor):
        self.cursor = cursor

    def _column(self, sql, params=()):
        self.cursor.execute(sql, params)
        return [row["value"] if isinstance(row, dict) else row[0] for row in self.cursor.fetchall()]

    def logins(self):
        return self._column("SELECT data->>'login' AS value FROM events WHERE event_type = 'AccountCreated'")

    def login_of(self, account_id):
        found = self._column(
            "SELECT data->>'login' AS value FROM events"
            " WHERE event_type = 'AccountCreated' AND data->>'account_id' = %s",
            (account_id,),
        )
        return found[0] if found else None

    def tokens_with_prefix(self, prefix):
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return self._column(
            "SELECT data->>'token_hash' AS value FROM events WHERE event_type IN %s AND data->>'prefix' LIKE %s",
            (TOKEN_EVENTS, escaped + "%"),
        )

    def tokens_of_account(self, account_id):
        return self._column(
            "SELECT data->>'token_hash' AS value FROM events"
            " WHERE event_type = 'PersonalTokenIssued' AND data->>'account_id' = %s",
            (account_id,),
        )

    def touch(self, session_hash, now):
        self.cursor.execute(
            "INSERT INTO console_session_activity (session_hash, last_seen) VALUES (%s, %s)"
            " ON CONFLICT (session_hash) DO UPDATE"
            " SET last_seen = GREATEST(console_session_activity.last_seen, EXCLUDED.last_seen)",
            (session_hash, now),
        )

    def last_seen(self, session_hash):
        found = self._column(
            "SELECT last_seen AS value FROM console_session_activity WHERE session_hash = %s", (session_hash,)
        )
        return found[0] if found else None

    def idle_sessions(self, seen_before):
        return self._column(
            "SELECT session_hash AS value FROM console_session_activity WHERE last_seen < %s", (seen_before,)
        )

    def forget(self, session_hash):
        self.cursor.execute("DELETE FROM console_session_activity WHERE session_hash = %s", (session_hash,))

    def failures(self, key, for_update=False):
        """The failed logins counted under `key` (throttle.name_key / address_key). With
        `for_update` the row is made and locked until the unit of work ends, so consoles
        counting the same key at once count one after the other."""
        if for_update:
            self.cursor.execute(
                "INSERT INTO console_login_failures (key, failures, forget_after) VALUES (%s, '{}', now())"
                " ON CONFLICT (key) DO NOTHING",
                (key,),
            )
        self.cursor.execute(
            "SELECT failures, locked_until FROM console_login_failures WHERE key = %s"
            + (" FOR UPDATE" if for_update else ""),
            (key,),
        )
        row = self.cursor.fetchone()
        if row is None:
            return Failures()
        times, locked_until = (row["failures"], row["locked_until"]) if isinstance(row, dict) else row
        return Failures(tuple(times), locked_until)

    def count_failures(self, key, failures, forget_after):
        self.cursor.execute(
            "UPDATE console_login_failures SET failures = %s::timestamptz[], locked_until = %s, forget_after = %s"
            " WHERE key = %s",
            (list(failures.times), failures.locked_until, forget_after, key),
        )

    def forget_failures(self, before):
        self.cursor.execute("DELETE FROM console_login_failures WHERE forget_after < %s", (before,))
        return self.cursor.rowcount


class PostgresAccountStore:
    """Accounts in the console's database (`<prefix>_console`)."""

    def __init__(self, database, clock=None, settings=None, passwords=None):
        self.database = database
        self.clock = clock or SystemClock()
        self.settings = settings or AccountSettings()
        self.passwords = passwords or Passwords()

    @contextlib.contextmanager
    def unit_of_work(self, actor=None):
        with unit_of_work(self.database, self.clock, correlation_id_var.get()) as uow:
            uow.actor = actor
            uow.index = PostgresAccountIndex(uow.cursor)
            yield uow


class InMemoryAccountIndex:
    def __init__(self, events):
        self.events = events
        self.activity = {}
        self.login_failures = {}  # key -> (Failures, forget_after)

    def _data(self, *event_types):
        return [e.data for e in self.events.events if e.event_type in event_types]

    def logins(self):
        return [d["login"] for d in self._data("AccountCreated")]

    def login_of(self, account_id):
        return next((d["login"] for d in self._data("AccountCreated") if d["account_id"] == account_id), None)

    def tokens_with_prefix(self, prefix):
        return [d["token_hash"] for d in self._data(*TOKEN_EVENTS) if d["prefix"].startswith(prefix)]

    def tokens_of_account(self, account_id):
        return [d["token_hash"] for d in self._data("PersonalTokenIssued") if d["account_id"] == account_id]

    def touch(self, session_hash, now):
        self.activity[session_hash] = max(now, self.activity.get(session_hash, now))

    def last_seen(self, session_hash):
        return self.activity.get(session_hash)

    def idle_sessions(self, seen_before: datetime):
        return [h for h, seen in self.activity.items() if seen < seen_before]

    def forget(self, session_hash):
        self.activity.pop(session_hash, None)

    def failures(self, key, for_update=False):
        return self.login_failures.get(key, (Failures(), None))[0]

    def count_failures(self, key, failures, forget_after):
        self.login_failures[key] = (failures, forget_after)

    def forget_failures(self, before):
        gone = [key for key, (_, forget_after) in self.login_failures.items() if forget_after < before]
        for key in gone:
            del self.login_failures[key]
        return len(gone)


class InMemoryAccountStore:
    """The same store in memory, for unit tests of the console and of this module."""

    def __init__(self, clock=None, settings=None, passwords=None):
        self.clock = clock or FixedClock()
        self.settings = settings or AccountSettings()
        self.passwords = passwords or fast_passwords()
        self._uow = FakeUnitOfWork(self.clock)
        self._uow.index = InMemoryAccountIndex(self._uow.events)

    @property
    def events(self):
        """Every event stored so far, in order."""
        return list(self._uow.events.events)

    @contextlib.contextmanager
    def unit_of_work(self, actor=None):
        self._uow.actor = actor
        with self._uow as uow:
            yield uow

"""The key store: one wrapped data key per person of a case, in a database of its own.

`<prefix>_keys` (`KEYS_DATABASE_URL` overrides it, so it can have credentials of its own)
holds `data_keys`: the key id, the data key wrapped by the master key, and when and why it
was destroyed. Destroying a key (erasure) overwrites the wrapped key with NULL: every
sealed copy of that person's data, wherever it went, is then unreadable. Keys are made
ahead in small batches (`POOL_SIZE`), so registering a case costs no commit here.

`Vault` is what a service holds: the key store and the master key, with the three things
services do with personal data: seal events before they are appended, open what they
read, and compute the search token of an ID number or credit code.
"""

import collections
import os
import threading
from datetime import UTC, datetime

from . import privacy
from .config import database_url, environment
from .db import Database

KEYS = "keys"

KEY_MIGRATIONS = [
    (
        "keys-0001-data-keys",
        """
        CREATE TABLE data_keys (
            key_id        text PRIMARY KEY,
            wrapped_key   bytea,
            created_at    timestamptz NOT NULL DEFAULT now(),
            destroyed_at  timestamptz,
            destroyed_why text
        );
        """,
    ),
]
REMEMBERED_KEYS = 20000  # about 1 MiB of keys kept by a service between units of work
POOL_SIZE = 32  # keys created ahead, in one transaction: a new case needs no commit of its own here


def keys_database_url(env=None):
    """`KEYS_DATABASE_URL`, by default `DATABASE_URL`'s name with `_keys`."""
    env = environment(env)
    return env.get("KEYS_DATABASE_URL") or database_url(KEYS, env)


class PostgresKeyStore:
    def __init__(self, database):
        self.database = database

    def create(self, wrapped_keys):
        """Stores new wrapped keys (`{key id: wrapped}`) in one transaction."""
        ids = list(wrapped_keys)
        with self.database.transaction() as cur:
            cur.execute(
                "INSERT INTO data_keys (key_id, wrapped_key) SELECT * FROM unnest(%s::text[], %s::bytea[])",
                (ids, [wrapped_keys[i] for i in ids]),
            )

    def wrapped(self, key_ids):
        """`{key id: wrapped key or None (destroyed)}` for the ids known: one statement, one
        round trip (no transaction around it: every read of a case's data pays for it)."""
        with self.database.connection() as conn:
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT key_id, wrapped_key FROM data_keys WHERE key_id = ANY(%s)", (list(key_ids),))
                    return {key_id: wrapped for key_id, wrapped in cur.fetchall()}
            finally:
                conn.autocommit = False

    def destroy(self, key_ids, reason, at):
        """Destroys these keys; returns how many were still alive."""
        with self.database.transaction() as cur:
            cur.execute(
                "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = %s, destroyed_why = %s"
                " WHERE key_id = ANY(%s) AND wrapped_key IS NOT NULL",
                (at, reason, list(key_ids)),
            )
            return cur.rowcount


class InMemoryKeyStore:
    def __init__(self):
        self.rows = {}

    def create(self, wrapped_keys):
        for key_id, wrapped in wrapped_keys.items():
            self.rows[key_id] = {"wrapped": wrapped, "destroyed_at": None}

    def wrapped(self, key_ids):
        return {k: self.rows[k]["wrapped"] for k in key_ids if k in self.rows}

    def destroy(self, key_ids, reason, at):
        count = 0
        for key_id in key_ids:
            row = self.rows.get(key_id)
            if row is not None and row["wrapped"] is not None:
                row.update(wrapped=None, destroyed_at=at, why=reason)
                count += 1
        return count


class Vault:
    """Seals and opens personal data with the keys of the key store."""

    def __init__(self, store, master, pool_size=POOL_SIZE):
        self.store = store
        self.master = master
        self.pool_size = pool_size
        self._pool = []
        self._lock = threading.Lock()
        self._remembered = collections.OrderedDict()  # live keys of streams that record their erasure

    def __deepcopy__(self, memo):
        return self  # one vault per process; its key store lives outside any unit of work

    @classmethod
    def from_env(cls, env=None, max_connections=5):
        env = environment(env)
        master = privacy.master_key_from_env(env)
        return cls(PostgresKeyStore(Database(keys_database_url(env), max_connections=max_connections)), master)

    def new_key(self):
        """`(key id, data key)` of a fresh key, already stored (taken from a pool made ahead)."""
        with self._lock:
            if not self._pool:
                fresh = [(privacy.new_key_id(), privacy.new_data_key()) for _ in range(self.pool_size)]
                self.store.create({key_id: self.master.wrap(key_id, key) for key_id, key in fresh})
                self._pool = fresh
            return self._pool.pop()

    def keys(self, key_ids, cache=None, remember=False):
        """`{key id: data key or None (destroyed)}`. `cache` (a dict kept for one unit of work)
        spares a second round trip. `remember` keeps live keys in the process for the next
        unit of work: only for streams that record their own erasure (`SealedEventStore`),
        so a key destroyed by another process is never used for them."""
        cache = {} if cache is None else cache
        missing = set(key_ids) - set(cache)
        if remember:
            for key_id in list(missing):
                if key_id in self._remembered:
                    cache[key_id] = self._remembered[key_id]
                    missing.discard(key_id)
        if missing:
            wrapped = self.store.wrapped(missing)
            for key_id in missing:
                found = wrapped.get(key_id)
                cache[key_id] = None if found is None else self.master.unwrap(key_id, found)
                if remember and found is not None:
                    self._remember(key_id, cache[key_id])
        return {k: cache[k] for k in key_ids}

    def _remember(self, key_id, key):
        with self._lock:
            self._remembered[key_id] = key
            while len(self._remembered) > REMEMBERED_KEYS:
                self._remembered.popitem(last=False)

    def seal(self, data, bound, cache=None, remember=False, event_type=None):
        """`data` (of an event of `event_type`) with its personal fields sealed. `bound`
        (`{subject: key id}`, the stream's keys so far) gets a new key for each subject it lacks."""
        cache = {} if cache is None else cache
        subjects = privacy.subjects_in(data, event_type)
        if not subjects:
            return data
        for subject in subjects:
            if subject not in bound:
                key_id, key = self.new_key()
                bound[subject], cache[key_id] = key_id, key
                if remember:
                    self._remember(key_id, key)
        return privacy.seal(data, bound, self.keys([bound[s] for s in subjects], cache, remember), event_type)

    def open(self, value, cache=None, remember=False):
        """Any JSON value with its sealed strings opened (`[已删除]` where the key is destroyed)."""
        ids = privacy.sealed_key_ids(value)
        if not ids:
            return value
        return privacy.open_sealed(value, self.keys(ids, cache, remember))

    def search_token(self, identifier):
        return privacy.search_token(self.master.search_key, identifier)

    def erase(self, key_ids, reason, at=None):
        """Destroys these keys: every value sealed with them, wherever it is, reads `[已删除]`."""
        with self._lock:
            for key_id in key_ids:
                self._remembered.pop(key_id, None)
        return self.store.destroy(list(key_ids), reason, at or datetime.now(UTC))


_process_vault = []


def process_vault():
    """The vault of this process, from its environment (made once): for the parts that open
    personal data outside a unit of work (the link's outbound messages, documents' renders)."""
    if not _process_vault:
        _process_vault.append(Vault.from_env())
    return _process_vault[0]


def opened(value):
    """`value` with its sealed strings opened by the process's vault (unchanged when it has none)."""
    if not privacy.sealed_key_ids(value):
        return value
    return process_vault().open(value)


def memory_vault():
    """A vault on an in-memory key store with a fresh master key (unit tests)."""
    return Vault(InMemoryKeyStore(), privacy.MasterKey(os.urandom(privacy.KEY_BYTES)))

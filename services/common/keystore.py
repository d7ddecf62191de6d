"""The key store: one wrapped data key per person of a case, in a database of its own.

`<prefix>_keys` (`KEYS_DATABASE_URL` overrides it, so it can have credentials of its own)
holds `data_keys`: the key id, the data key wrapped by the master key, and when and why it
was destroyed. Destroying a key (erasure) overwrites the wrapped key with NULL: every
sealed copy of that person's data, wherever it went, is then unreadable.

`Vault` is what a service holds: the key store and the master key, with the three things
services do with personal data: seal events before they are appended, open what they
read, and compute the search token of an ID number or credit code.
"""

import os
import threading
from datetime import UTC, datetime

from . import privacy
from .config import database_url
from .db import Database

KEYS = "keys"

KEY_MIGRATIONS = [
    (
        "keys-0001-data-keys",
        """
        CREATE TABLE data_keys (
            key_id        text PRIMARY KEY,
            owner         text NOT NULL,
            wrapped_key   bytea,
            created_at    timestamptz NOT NULL DEFAULT now(),
            destroyed_at  timestamptz,
            destroyed_why text
        );
        CREATE INDEX data_keys_owner ON data_keys (owner);
        """,
    ),
]


def keys_database_url(env=None):
    return database_url(KEYS, env)


class PostgresKeyStore:
    def __init__(self, database):
        self.database = database

    def wrapped(self, key_ids, create_for=None):
        """`{key id: wrapped key or None (destroyed)}` for the ids known; with `create_for`
        (`{key id: (owner, wrapped new key)}`) the missing ones are created first."""
        with self.database.transaction() as cur:
            if create_for:
                ids = list(create_for)
                cur.execute(
                    "INSERT INTO data_keys (key_id, owner, wrapped_key)"
                    " SELECT * FROM unnest(%s::text[], %s::text[], %s::bytea[]) ON CONFLICT DO NOTHING",
                    (ids, [create_for[i][0] for i in ids], [create_for[i][1] for i in ids]),
                )
            cur.execute("SELECT key_id, wrapped_key FROM data_keys WHERE key_id = ANY(%s)", (list(key_ids),))
            return {row["key_id"]: row["wrapped_key"] for row in cur.fetchall()}

    def destroy(self, owners, reason, at):
        """Destroys every key of these owners; returns how many were still alive."""
        with self.database.transaction() as cur:
            cur.execute(
                "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = %s, destroyed_why = %s"
                " WHERE owner = ANY(%s) AND wrapped_key IS NOT NULL",
                (at, reason, list(owners)),
            )
            return cur.rowcount

    def destroyed(self, owner):
        with self.database.transaction() as cur:
            cur.execute(
                "SELECT min(destroyed_at) AS at FROM data_keys WHERE owner = %s AND wrapped_key IS NULL", (owner,)
            )
            return cur.fetchone()["at"]


class InMemoryKeyStore:
    def __init__(self):
        self.rows = {}
        self.lock = threading.Lock()

    def wrapped(self, key_ids, create_for=None):
        with self.lock:
            for key_id, (owner, wrapped) in (create_for or {}).items():
                self.rows.setdefault(key_id, {"owner": owner, "wrapped": wrapped, "destroyed_at": None})
            return {k: self.rows[k]["wrapped"] for k in key_ids if k in self.rows}

    def destroy(self, owners, reason, at):
        count = 0
        for row in self.rows.values():
            if row["owner"] in owners and row["wrapped"] is not None:
                row.update(wrapped=None, destroyed_at=at, why=reason)
                count += 1
        return count

    def destroyed(self, owner):
        found = [r["destroyed_at"] for r in self.rows.values() if r["owner"] == owner and r["wrapped"] is None]
        return min(found) if found else None


class Vault:
    """Seals and opens personal data with the keys of the key store."""

    def __init__(self, store, master):
        self.store = store
        self.master = master

    def __deepcopy__(self, memo):
        return self  # one vault per process; its key store lives outside any unit of work

    @classmethod
    def from_env(cls, env=None, max_connections=5):
        env = os.environ if env is None else env
        master = privacy.master_key_from_env(env)
        return cls(PostgresKeyStore(Database(keys_database_url(env), max_connections=max_connections)), master)

    def keys(self, key_ids, create_owner=None, cache=None):
        """`{key id: data key or None (destroyed)}` for `key_ids` (created for `create_owner`
        when new). `cache` (a dict kept for one unit of work) spares a second round trip."""
        cache = {} if cache is None else cache
        missing = set(key_ids) - set(cache)
        if missing:
            create_for = None
            if create_owner is not None:
                create_for = {k: (create_owner, self.master.wrap(k, privacy.new_data_key())) for k in missing}
            wrapped = self.store.wrapped(missing, create_for)
            for key_id in missing:
                found = wrapped.get(key_id)
                cache[key_id] = None if found is None else self.master.unwrap(key_id, found)
        return {k: cache[k] for k in key_ids}

    def seal(self, owner, data, cache=None):
        """`data` with its personal fields sealed by the owner's keys (new ones created)."""
        subjects = privacy.subjects_in(data)
        if not subjects:
            return data
        ids = [privacy.key_id_for(owner, s) for s in subjects]
        return privacy.seal(data, owner, self.keys(ids, create_owner=owner, cache=cache))

    def open(self, value, cache=None):
        """Any JSON value with its sealed strings opened (`[已删除]` where the key is destroyed)."""
        ids = privacy.sealed_key_ids(value)
        if not ids:
            return value
        return privacy.open_sealed(value, self.keys(ids, cache=cache))

    def search_token(self, identifier):
        return privacy.search_token(self.master.search_key, identifier)

    def erase(self, owners, reason, at=None):
        return self.store.destroy(list(owners), reason, at or datetime.now(UTC))


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

"""The key store: one wrapped data key per case (its persons' keys derive from it), in a database of its own.

`<prefix>_keys` (`KEYS_DATABASE_URL` overrides it, so it can have credentials of its own)
holds `data_keys`: the key id, the data key wrapped by the master key, and when and why it
was destroyed. Destroying a key (erasure) overwrites the wrapped key with NULL: every
sealed copy of the case's persons' data, wherever it went, is then unreadable. Keys are made
ahead in batches (`POOL_SIZE`), so registering a case costs no commit here.

`Vault` is what a service holds: the key store and the master key, with the three things
services do with personal data: seal events before they are appended, open what they
read, and compute the search token of an ID number or credit code.

A vault may keep the live keys it used between units of work (`remember`), so reading a
case does not cost a round trip to the key store each time. It hears of every key another
process destroys through the key store itself: `destroy` announces the ids on a
PostgreSQL channel (`NOTIFY`, delivered at its commit) and each remembering vault listens
on a connection of its own, reading what has arrived (no round trip) before it uses a
remembered key. A lost or unverifiable listen forgets every remembered key.
"""

import logging
import os
import threading
import time
from datetime import UTC, datetime

import psycopg2

from . import privacy
from .config import database_url, environment
from .db import Database

log = logging.getLogger(__name__)

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
OPENED_VALUES = 50000  # values kept as they read opened, while their keys are remembered: about 10 MiB
POOL_SIZE = 256  # keys created ahead, in one transaction: a new case needs no commit of its own here
KEYS_AT_A_TIME = 8  # made between two pauses of the pool's thread
CASE_SUBJECTS = ("applicant", "respondent", "text")  # the persons' keys a new stored key is made ready for
DESTROYED_CHANNEL = "tiaojie_keys_destroyed"  # what `destroy` announces: the ids, space-separated
EVERY_KEY = "*"  # announced instead when the ids do not fit a notification (PostgreSQL: < 8000 bytes)
NOTIFY_LIMIT = 7000
WATCH_CHECK_SECONDS = 10.0  # how often a quiet listen is checked with a round trip


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
        """Destroys these keys; returns how many were still alive. Every listening vault hears
        of it when it commits (`watch`)."""
        key_ids = sorted(key_ids)
        with self.database.transaction() as cur:
            cur.execute(
                "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = %s, destroyed_why = %s"
                " WHERE key_id = ANY(%s) AND wrapped_key IS NOT NULL",
                (at, reason, key_ids),
            )
            alive = cur.rowcount
            announced = " ".join(key_ids)
            cur.execute(
                "SELECT pg_notify(%s, %s)",
                (DESTROYED_CHANNEL, announced if len(announced) <= NOTIFY_LIMIT else EVERY_KEY),
            )
            return alive

    def watch(self):
        """A `DestroyedKeys` listening from now on: which keys are destroyed after this call."""
        return DestroyedKeys(self.database.url, self.database.connect_timeout)


class WatchLost(Exception):
    """A listen for destroyed keys broke: what was destroyed meanwhile cannot be known."""


class DestroyedKeys:
    """A connection of its own to the key store, listening on `DESTROYED_CHANNEL`.

    `since_last()` reads the notifications that have arrived (`poll()` reads the socket, no
    round trip) and, every `WATCH_CHECK_SECONDS`, checks the connection with a query, so a
    connection dropped without a word is found. Raises `WatchLost` when the listen broke."""

    def __init__(self, url, connect_timeout=10, check_seconds=WATCH_CHECK_SECONDS):
        self.check_seconds = check_seconds
        self.conn = psycopg2.connect(url, connect_timeout=connect_timeout)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute(f"LISTEN {DESTROYED_CHANNEL}")
        self.checked = time.monotonic()

    def since_last(self):
        """The key ids destroyed since the last call, or `EVERY_KEY`."""
        try:
            if time.monotonic() - self.checked > self.check_seconds:
                with self.conn.cursor() as cur:
                    cur.execute("SELECT 1")
                self.checked = time.monotonic()
            self.conn.poll()
        except psycopg2.Error as error:
            self.close()
            raise WatchLost(type(error).__name__) from None
        destroyed = set()
        while self.conn.notifies:
            payload = self.conn.notifies.pop(0).payload
            if payload == EVERY_KEY:
                return EVERY_KEY
            destroyed.update(payload.split())
        return destroyed

    def close(self):
        if not self.conn.closed:
            self.conn.close()


class InMemoryKeyStore:
    def __init__(self):
        self.rows = {}
        self.destroyed_log = []  # every destroy's ids, in order, for the watches

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
        self.destroyed_log.append(set(key_ids))
        return count

    def watch(self):
        return InMemoryWatch(self)


class InMemoryWatch:
    def __init__(self, store):
        self.store, self.seen = store, len(store.destroyed_log)

    def since_last(self):
        fresh = self.store.destroyed_log[self.seen :]
        self.seen += len(fresh)
        return set().union(*fresh)

    def close(self):
        pass


class Recent:
    """A map that keeps about the `limit` most recently written or read entries: two plain
    dicts, the newer one written, the older one dropped whole when the newer is half full
    (an entry read from the older is written again). Its upkeep is a dict's own, where a
    least-recently-used order would cost a step of Python per entry."""

    def __init__(self, limit):
        self.half = max(1, limit // 2)
        self._new, self._old = {}, {}

    def get(self, key, default=None):
        found = self._new.get(key)
        if found is None:
            found = self._old.get(key)
            if found is None:
                return default
            self[key] = found
        return found

    def __setitem__(self, key, value):
        self._new[key] = value
        if len(self._new) >= self.half:
            self._old, self._new = self._new, {}

    def update(self, items):
        """Writes `items` (a mapping, or `(key, value)` pairs)."""
        self._new.update(items)
        if len(self._new) >= self.half:
            self._old, self._new = self._new, {}

    def pop(self, key, default=None):
        found = self._old.pop(key, default)
        return self._new.pop(key, found)

    def __contains__(self, key):
        return key in self._new or key in self._old

    def __len__(self):
        return len(self._new.keys() | self._old.keys())

    def clear(self):
        self._new.clear()
        self._old.clear()

    def forget(self, drop):
        """Drops every entry whose key `drop(key)` is true of."""
        for kept in (self._new, self._old):
            for key in [key for key in kept if drop(key)]:
                del kept[key]


class OpenedValues(Recent):
    """`{sealed text: clear text}` of the values a vault sealed or opened, the least recent
    dropped past `limit`. Consulted only once the value's key is known live (`Vault.open_events`),
    and purged of a key's values when its destruction is heard: no more clear text than the
    remembered keys already give the process, kept no longer than they are."""

    def forget_keys(self, key_ids):
        """Drops the values sealed with these stored keys (or keys derived from them)."""
        self.forget(lambda sealed: privacy.root_key_id(privacy.key_id_of(sealed)) in key_ids)


class Vault:
    """Seals and opens personal data with the keys of the key store."""

    def __init__(self, store, master, pool_size=POOL_SIZE):
        self.store = store
        self.master = master
        self.pool_size = pool_size
        self._pool = []
        self._refilling = False  # a thread is making the next batch of keys
        self._lock = threading.Lock()
        self._remembered = Recent(REMEMBERED_KEYS)  # live keys, while `_watch` hears of their destruction
        self._watch = None  # the key store's DestroyedKeys, made at the first remembering read
        self._heard = 0  # how many announcements of destroyed keys this vault has applied
        self._opened_values = OpenedValues(OPENED_VALUES)  # sealed text -> clear text

    def __deepcopy__(self, memo):
        return self  # one vault per process; its key store lives outside any unit of work

    @classmethod
    def from_env(cls, env=None, max_connections=5):
        env = environment(env)
        master = privacy.master_key_from_env(env)
        return cls(PostgresKeyStore(Database(keys_database_url(env), max_connections=max_connections)), master)

    def new_key(self):
        """`(key id, data key)` of a fresh key, already stored (taken from a pool made ahead)."""
        return self.new_keys(1)[0]

    def new_keys(self, count):
        """`[(key id, data key)]` of `count` fresh keys, already stored (taken from a pool made
        ahead). When a quarter of the pool is left, a thread of its own makes the next batch, so
        a request seldom waits for the key store; one that finds the pool short makes it."""
        with self._lock:
            while len(self._pool) < count:
                self._pool[:0] = self._stored_keys()
            taken = [self._pool.pop() for _ in range(count)]
            refill = len(self._pool) < self.pool_size // 4 and not self._refilling
            self._refilling = self._refilling or refill
        if refill:
            threading.Thread(target=self._refill, name="data-key-pool", daemon=True).start()
        return taken

    def _stored_keys(self, pause=False):
        """A batch of new keys, stored. `pause` (the pool's thread): after each few keys it lets
        go of the interpreter's lock, so a request back from its database has it at once
        instead of after the whole batch (`sys.getswitchinterval`, 5 ms, at every round trip)."""
        made = []
        while len(made) < self.pool_size:
            chunk = privacy.new_wrapped_keys(self.master, min(KEYS_AT_A_TIME, self.pool_size - len(made)))
            for key_id, key, _ in chunk:  # a case's persons' keys and their ciphers made ahead too
                for subject in CASE_SUBJECTS:
                    derived = privacy.derived_key_id(key_id, subject)
                    privacy.sealer(derived, privacy.key_from_root(derived, key))
            made += chunk
            if pause:
                time.sleep(0)
        self.store.create({key_id: wrapped for key_id, _, wrapped in made})
        return [(key_id, key) for key_id, key, _ in made]

    def _refill(self):
        try:
            fresh = self._stored_keys(pause=True)
            with self._lock:
                self._pool[:0] = fresh  # behind the keys left, which go first
        except Exception as error:  # the next request that finds the pool empty makes the batch
            log.warning("making data keys ahead failed (%s)", type(error).__name__)
        finally:
            self._refilling = False

    def keys(self, key_ids, cache=None, remember=False):
        """`{key id: data key or None (destroyed)}`. `cache` (a dict kept for one unit of work)
        spares a second round trip. `remember` keeps live keys in the process for the next
        unit of work, as long as the vault hears of every key destroyed meanwhile (module
        docstring); without that it asks the key store."""
        cache = {} if cache is None else cache
        missing = set(key_ids) - cache.keys()
        if not missing:
            return {k: cache[k] for k in key_ids}
        self._stored(
            {privacy.root_key_id(key_id) for key_id in missing} - cache.keys(), cache, remember
        )  # the stored keys they are derived from
        for key_id in missing - cache.keys():
            cache[key_id] = privacy.key_from_root(key_id, cache[privacy.root_key_id(key_id)])
        return {k: cache[k] for k in key_ids}

    def _stored(self, missing, cache, remember):
        """Reads these stored keys into `cache` (None: destroyed)."""
        heard = self._hear_destroyed() if remember and missing else None
        if heard is not None:
            for key_id in list(missing):
                key = self._remembered.get(key_id)
                if key is not None:
                    cache[key_id] = key
                    missing.discard(key_id)
        if missing:
            wrapped = self.store.wrapped(missing)
            for key_id in missing:
                found = wrapped.get(key_id)
                cache[key_id] = None if found is None else self.master.unwrap(key_id, found)
            if heard is not None:
                self._remember({k: cache[k] for k in missing if cache[k] is not None}, heard)

    def _hear_destroyed(self):
        """Forgets the remembered keys destroyed since the last look; how many announcements
        have been applied, or None when no listen can be had (nothing is then remembered)."""
        with self._lock:
            try:
                if self._watch is None:
                    self._forget_all()  # whatever was destroyed unheard is forgotten with them
                    self._watch = self.store.watch()
                destroyed = self._watch.since_last()
            except Exception as error:  # WatchLost, or the key store unreachable for the listen
                log.warning("not keeping data keys: no listen for destroyed keys (%s)", type(error).__name__)
                self._watch = None
                self._forget_all()
                return None
            if destroyed:
                self._heard += 1
                if destroyed == EVERY_KEY:
                    self._forget_all()
                else:
                    for key_id in destroyed:
                        self._remembered.pop(key_id, None)
                    self._opened_values.forget_keys(destroyed)
            return self._heard

    def _forget_all(self):
        self._remembered.clear()
        self._opened_values.clear()

    def _remember(self, keys, heard=None):
        """Keeps these live keys, unless a destruction was heard since they were read (`heard`:
        `_hear_destroyed()` before the read): one of them may be among the destroyed."""
        with self._lock:
            if heard is not None and heard != self._heard:
                return
            self._remembered.update(keys)

    def seal(self, data, bound, cache=None, remember=False, event_type=None, pairs=None):
        """`data` (of an event of `event_type`) with its personal fields sealed. `bound`
        (`{subject: key id}`, the stream's keys so far) gets a new key for each subject it lacks.
        `pairs` (a dict) gets `{clear text: sealed text}` of each string sealed."""
        cache = {} if cache is None else cache
        fields = privacy.personal_fields_in(data, event_type)
        if not fields:
            return data
        subjects = sorted({subject for _, subject, _ in fields})
        if remember and self._hear_destroyed() is None:  # listening first: it forgets what came before
            remember = False
        unbound = [subject for subject in subjects if subject not in bound]
        if unbound:
            self._bind(unbound, bound, cache, remember)
        keys = self.keys([bound[s] for s in subjects], cache, remember)
        sealed_now = {}
        sealed = privacy.seal(data, bound, keys, event_type, sealed_now, fields, reuse=pairs)
        if pairs is not None:
            pairs.update(sealed_now)
        if remember:  # the reads that follow (the case page after a step) need not decrypt them
            self._opened_values.update((sealed_text, clear) for clear, sealed_text in sealed_now.items())
        return sealed

    def _bind(self, unbound, bound, cache, remember):
        """Gives each subject a key: a case's persons one derived from the stream's stored key
        (a new one for a stream that has none yet), a mediator one derived from a stored key
        of their own."""
        own = [subject for subject in unbound if privacy.shared_subject(subject)]
        case = [subject for subject in unbound if not privacy.shared_subject(subject)]
        root = privacy.stream_root(bound) if case else None
        fresh = self.new_keys(len(own) + (1 if case and root is None else 0))
        cache.update(fresh)
        if remember:
            self._remember(dict(fresh))  # new keys: nobody could have destroyed them
        roots = [key_id for key_id, _ in fresh]
        for subject in own:
            bound[subject] = privacy.derived_key_id(roots.pop(), subject)
        if case:
            root = root or roots.pop()
        for subject in case:
            bound[subject] = privacy.derived_key_id(root, subject)

    def open(self, value, cache=None, remember=False):
        """Any JSON value with its sealed strings opened (`[已删除]` where the key is destroyed)."""
        ids = privacy.sealed_key_ids(value)
        if not ids:
            return value
        return privacy.open_sealed(value, self.keys(ids, cache, remember))

    def open_events(self, events, cache=None, remember=False):
        """`([data opened], {clear text: sealed text})` of stored events' JSON `data`, in one walk.
        `remember`: the remembered keys serve without a query, and a value this process sealed
        or opened before is taken as it read then (`OpenedValues`) instead of decrypted again."""
        cache = {} if cache is None else cache
        data = [event.data for event in events]
        if not remember or self._hear_destroyed() is None:
            keys = self.keys(privacy.sealed_key_ids(data), cache)
            pairs = {}
            return privacy.open_tree(data, keys.get, pairs, set()), pairs
        missing = set()

        def key_of(key_id):
            if key_id in cache:
                return cache[key_id]
            root_id = privacy.root_key_id(key_id)
            if root_id in cache:
                root = cache[root_id]
            else:
                root = self._remembered.get(root_id)  # live: the destroyed ones were heard of and forgotten
                if root is None:
                    missing.add(root_id)
                    return None
                cache[root_id] = root
            cache[key_id] = key = privacy.key_from_root(key_id, root)
            return key

        pairs = {}
        opened = privacy.open_tree(data, key_of, pairs, set(), self._opened_values)
        if missing:  # stored keys not remembered (yet): one query, then the walk again
            self.keys(missing, cache, remember=True)
            pairs = {}
            opened = privacy.open_tree(data, key_of, pairs, set(), self._opened_values)
        return opened, pairs

    def search_token(self, identifier):
        return privacy.search_token(self.master.search_key, identifier)

    def erase(self, key_ids, reason, at=None):
        """Destroys these keys (the stored keys these ids name or are derived from): every value
        sealed with them, wherever it is, reads `[已删除]`."""
        key_ids = {privacy.root_key_id(key_id) for key_id in key_ids}
        with self._lock:
            for key_id in key_ids:
                self._remembered.pop(key_id, None)
            self._opened_values.forget_keys(set(key_ids))
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

"""The unit of work: one transaction holding the event store, inbox and idempotency keys.

Everything a command or a consumed event changes is written in it, and the events it
appends are published afterwards by the relay, from the store: there is no dual write.
It commits when the block ends normally and rolls back on any exception.
"""

import contextlib
import copy
import dataclasses
import hashlib
import json

from . import privacy
from .eventstore import InMemoryEventStore, PostgresEventStore


class Inbox:
    """'Event X consumed by Y', recorded in the consumer's own transaction."""

    def __init__(self, cursor):
        self.cursor = cursor

    def claim(self, consumer, event):
        """Records that `consumer` handles `event`.

        Returns None when it was handled before (a redelivery: do nothing), otherwise
        the highest `stream_version` of the event's stream this consumer had seen
        before (0 if none), so the handler can tell an event that overtook another.
        """
        self.cursor.execute(
            "INSERT INTO inbox (consumer, event_id) VALUES (%s, %s::uuid) ON CONFLICT DO NOTHING",
            (consumer, event.event_id),
        )
        if self.cursor.rowcount == 0:
            return None
        self.cursor.execute(
            "INSERT INTO inbox_streams (consumer, stream_id, version) VALUES (%s, %s, %s)"
            " ON CONFLICT (consumer, stream_id) DO UPDATE"
            " SET version = GREATEST(inbox_streams.version, EXCLUDED.version), updated_at = now()"
            " RETURNING (SELECT version FROM inbox_streams"
            "            WHERE consumer = %s AND stream_id = %s) AS previous",
            (consumer, event.stream_id, event.stream_version, consumer, event.stream_id),
        )
        row = self.cursor.fetchone()
        previous = row["previous"] if isinstance(row, dict) else row[0]
        return previous or 0


def prune_inbox(cursor, retention_days, batch=10000):
    """Deletes the inbox records older than `retention_days`: `(inbox rows, stream rows)`.

    A record only has to outlive the last redelivery of its event. Redeliveries come
    within minutes (a relay that publishes a batch again after a crash, a message whose
    consumer died before its ack); the one late source is an operator moving dead letters
    back, which the operators' guide bounds by the same retention. Per-stream versions
    untouched for as long go too: an event of such a stream is taken as the first seen.
    """
    removed = []
    for table, column in (("inbox", "processed_at"), ("inbox_streams", "updated_at")):
        cursor.execute(
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table}"
            f" WHERE {column} < now() - make_interval(days => %s) LIMIT %s))",
            (retention_days, batch),
        )
        removed.append(cursor.rowcount)
    return tuple(removed)


class IdempotencyKeys:
    """Stored responses of POSTs, keyed by the caller's `Idempotency-Key`. In a service that seals
    personal data, a response is stored with the personal values its events hold sealed
    (`events.sealed_copy`) and opened when it is replayed: erasure reaches it too."""

    def __init__(self, cursor, events=None):
        self.cursor = cursor
        self.events = events  # a SealedEventStore, or None

    @staticmethod
    def request_hash(method, path, body):
        """The request as compared for a repeated key: a JSON body by its content, not its spelling
        (the order of keys and the white space do not count)."""
        try:
            body = json.loads(body) if body else None
        except ValueError:
            pass  # not JSON: compared as it was sent
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"{method} {path} {canonical}".encode()).hexdigest()

    def begin(self, scope, key, request_hash):
        """Reserves the key in this transaction.

        Returns None when the request is new, `(status, body)` of the first response
        when it is a repeat, or raises `KeyReuse` for the same key with another body.
        A concurrent request with the same key waits here until the first commits.
        """
        self.cursor.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (scope, key, request_hash),
        )
        if self.cursor.rowcount == 1:
            return None
        self.cursor.execute(
            "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = %s AND key = %s",
            (scope, key),
        )
        row = self.cursor.fetchone()
        if row["request_hash"] != request_hash:
            raise KeyReuse(key)
        response = row["response"]
        if self.events is not None and response is not None:
            response = self.events.opened_copy(response)
        return row["status"], response

    def complete(self, scope, key, status, body):
        if self.events is not None:
            body = self.events.sealed_copy(body)
        self.cursor.execute(
            "UPDATE idempotency_keys SET status = %s, response = %s::jsonb WHERE scope = %s AND key = %s",
            (status, json.dumps(body, ensure_ascii=False), scope, key),
        )


class KeyReuse(Exception):
    """The same Idempotency-Key came with a different request."""


class SealedEventStore:
    """The event store seen through a `Vault` (docs/PRIVACY.md): personal fields are sealed
    with the stream's keys before they are appended, and opened when a stream is loaded.
    `read_all` (the relay, replays) gives the events as stored: sealed.

    A stream whose personal data was erased records it (`privacy.ERASURE_EVENT`): its values
    then read `[已删除]` whatever keys this process still remembers. The vault forgets a
    remembered key as soon as the key store announces its destruction, which covers the
    streams that do not record it (mediation's, erased by intake's sweep or the CLI)."""

    def __init__(self, inner, vault, open_loaded=True, remember=True):
        self.inner = inner
        self.vault = vault
        self.open_loaded = open_loaded  # False: seal what is appended, hand out what is loaded as stored
        # False: ask the key store in every unit of work. True: keep the live keys between units
        # of work, forgotten as the key store announces their destruction (`Vault.keys`).
        self.remember = remember
        self.keys = {}  # data keys fetched in this unit of work
        self.bound = {}  # stream id -> {subject: key id}, as its events use them
        self.shared = {}  # {subject: key id} of a person's key across streams (a mediator's name)
        self.adopted = {}  # {subject: key id} a new stream of this unit of work takes over
        self.erased = set()  # streams that recorded their erasure
        self.unlearned = []  # (stream id, events) loaded, their keys not yet read (`_learn`)
        self.pairs = {}  # clear text -> its sealed text, of the values sealed or opened in this unit of work

    def adopt(self, bindings):
        """A stream started in this unit of work seals with these keys (the sealed letter a case
        is opened from): erasing the case then erases every copy of the letter too."""
        self.adopted.update(bindings)

    def append(self, stream_id, expected_version, events, correlation_id=None, causation_id=None, actor=None):
        self._learn_loaded()
        if expected_version == 0:  # a new stream: takes the adopted keys (loading it found none)
            bound = self.bound.setdefault(stream_id, {})
            for subject, key_id in self.adopted.items():
                bound.setdefault(subject, key_id)
        else:
            bound = self._bound(stream_id)
        sealed = [dataclasses.replace(e, data=self._seal(stream_id, bound, e.event_type, e.data)) for e in events]
        return self.inner.append(stream_id, expected_version, sealed, correlation_id, causation_id, actor)

    def _seal(self, stream_id, bound, event_type, data):
        if self.shared:  # a person's key across streams (`privacy.shared_subject`) met in this unit of work
            for subject in privacy.subjects_in(data, event_type):
                if subject not in bound and subject in self.shared:
                    bound[subject] = self.shared[subject]  # the mediator's own key, from their stream
        keys = {} if stream_id in self.erased else self.keys
        sealed = self.vault.seal(data, bound, keys, remember=self.remember, event_type=event_type, pairs=self.pairs)
        self.shared.update((s, k) for s, k in bound.items() if privacy.shared_subject(s))
        return sealed

    def bind(self, stream_id, bindings):
        """A loaded stream's subjects it has no key for yet seal with these (`{subject: key id}`):
        the link's answers about a case take a key derived from the case's own."""
        self._learn_loaded()
        bound = self._bound(stream_id)
        for subject, key_id in bindings.items():
            bound.setdefault(subject, key_id)

    def sealed(self, stream_id, event_type, data):
        """`data` sealed as an event of `event_type` appended to `stream_id` would be (the same
        keys): for a read model that keeps a personal value (the roster's names) sealed."""
        self._learn_loaded()
        return self._seal(stream_id, self._bound(stream_id), event_type, data)

    def load(self, stream_id, after_version=0):
        events = self.inner.load(stream_id, after_version)
        if any(event.event_type == privacy.ERASURE_EVENT for event in events):
            self.erased.add(stream_id)
        self.unlearned.append((stream_id, events))  # its keys are read only if this unit of work appends
        if not self.open_loaded:
            return events
        if stream_id in self.erased:
            opened = privacy.open_sealed([e.data for e in events], {})
        else:
            opened, pairs = self.vault.open_events(events, self.keys, self.remember)
            self.pairs.update(pairs)
        return [e.with_data(data) for e, data in zip(events, opened, strict=True)]

    def bindings(self, stream_id):
        """`{subject: key id}` of a stream loaded in this unit of work (empty for another)."""
        self._learn_loaded()
        return self.bound.get(stream_id, {})

    def _learn_loaded(self):
        while self.unlearned:
            self._learn(*self.unlearned.pop(0))

    def _learn(self, stream_id, events):
        bound = self.bound.setdefault(stream_id, {})
        for event in events:
            found = privacy.bindings(event.data, event.event_type)
            bound.update(found)
            self.shared.update((s, k) for s, k in found.items() if privacy.shared_subject(s))
            if event.event_type == privacy.ERASURE_EVENT:
                self.erased.add(stream_id)

    def sealed_copy(self, value):
        """`value` (a response built from this unit of work's events) with each personal value
        sealed or opened here replaced by its sealed text (whole strings only)."""
        return privacy.seal_whole(value, self.pairs)

    def opened_copy(self, value):
        """`value` opened with the key store (never with remembered keys: it may be erased)."""
        return self.vault.open(value)

    def key_ids(self, stream_id):
        """Every key the stream's stored events were sealed with (what an erasure destroys), but
        a mediator's (`privacy.case_key_ids`)."""
        return privacy.case_key_ids([(e.event_type, e.data) for e in self.inner.load(stream_id)])

    def forget_keys(self):
        """Drops the keys fetched so far (after an erasure destroyed some)."""
        self.keys.clear()

    def _bound(self, stream_id):
        if stream_id not in self.bound:
            self._learn(stream_id, self.inner.load(stream_id))
        return self.bound[stream_id]

    def __getattr__(self, name):
        return getattr(self.inner, name)


class UnitOfWork:
    """One PostgreSQL transaction: the event store, inbox, idempotency keys and the service's repositories.

    `repositories` maps a name to a class built on the transaction's cursor (`cls(cursor)`);
    each is an attribute of the unit of work (`uow.records`, `uow.views`). `settings` are
    the service's, read once by its bootstrap. `actor` (who caused this work: the verified
    caller's `Principal.actor`, or the actor of the event a consumer handles) goes on every
    event the unit of work appends (CONTRACTS §7).
    """

    def __init__(
        self,
        cursor,
        clock,
        correlation_id=None,
        causation_id=None,
        repositories=None,
        settings=None,
        vault=None,
        open_loaded=True,
        actor=None,
        remember_keys=True,
    ):
        self.cursor = cursor
        self.clock = clock
        self.settings = settings
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.vault = vault
        self.actor = actor
        self.events = PostgresEventStore(cursor, clock)
        if vault is not None:
            self.events = SealedEventStore(self.events, vault, open_loaded, remember_keys)
        self.inbox = Inbox(cursor)
        self.idempotency = IdempotencyKeys(cursor, self.events if vault is not None else None)
        for name, repository in (repositories or {}).items():
            setattr(self, name, repository(cursor))

    def load(self, aggregate_class, stream_id):
        return aggregate_class.from_events(stream_id, self.events.load(stream_id))

    def save(self, aggregate):
        """Appends the aggregate's new events, guarded by the version it was loaded at."""
        appended = self.events.append(
            aggregate.stream_id,
            aggregate.loaded_version,
            aggregate.pending,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            actor=self.actor,
        )
        aggregate.pending = []
        return appended


class UnitsOfWork:
    """Opens units of work on one database with the repositories the service declares (its bootstrap)."""

    def __init__(
        self, database, clock, repositories=None, settings=None, vault=None, open_loaded=True, remember_keys=True
    ):
        self.database = database
        self.clock = clock
        self.repositories = dict(repositories or {})
        self.settings = settings
        self.vault = vault
        self.open_loaded = open_loaded
        self.remember_keys = remember_keys

    @contextlib.contextmanager
    def __call__(self, correlation_id=None, causation_id=None, actor=None):
        with self.database.transaction() as cursor:
            yield UnitOfWork(
                cursor,
                self.clock,
                correlation_id,
                causation_id,
                self.repositories,
                self.settings,
                self.vault,
                self.open_loaded,
                actor=actor,
                remember_keys=self.remember_keys,
            )


@contextlib.contextmanager
def unit_of_work(database, clock, correlation_id=None, causation_id=None, repositories=None, settings=None, actor=None):
    with UnitsOfWork(database, clock, repositories, settings)(correlation_id, causation_id, actor) as uow:
        yield uow


class FakeUnitOfWork:
    """In-memory unit of work for service-layer unit tests: keeps changes only when the block succeeds.

    `repositories` are the in-memory versions of the service's repositories, by the same
    names as in its bootstrap (`FakeUnitOfWork(clock, settings, records=InMemoryIntakeRecords())`);
    their state is rolled back with the events when the block fails.
    """

    def __init__(self, clock, settings=None, vault=None, remember_keys=True, **repositories):
        self.clock = clock
        self.settings = settings
        self.vault = vault
        self.stored = InMemoryEventStore(clock)  # the events as stored (sealed when there is a vault)
        self.events = self.stored if vault is None else SealedEventStore(self.stored, vault, remember=remember_keys)
        self.correlation_id = None
        self.causation_id = None
        self.actor = None
        self.committed = 0
        self.inbox = FakeInbox()
        self.idempotency = FakeIdempotencyKeys()
        self.repositories = tuple(repositories)
        for name, repository in repositories.items():
            setattr(self, name, repository)

    def __call__(self, correlation_id=None, causation_id=None, actor=None):
        self.correlation_id, self.causation_id, self.actor = correlation_id, causation_id, actor
        return self

    def __enter__(self):
        if self.vault is not None:
            self.events.forget_keys()  # a unit of work's keys are fetched anew, as in a real one
        self._snapshot = copy.deepcopy(
            (self.stored.events, self.inbox, self.idempotency, {n: vars(getattr(self, n)) for n in self.repositories})
        )
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.committed += 1
        else:
            self.stored.events, self.inbox, self.idempotency, states = self._snapshot
            for name, state in states.items():
                vars(getattr(self, name)).clear()
                vars(getattr(self, name)).update(state)
        return False

    load = UnitOfWork.load
    save = UnitOfWork.save


class FakeIdempotencyKeys:
    def __init__(self):
        self.keys = {}

    request_hash = staticmethod(IdempotencyKeys.request_hash)

    def begin(self, scope, key, request_hash):
        stored = self.keys.get((scope, key))
        if stored is None:
            self.keys[(scope, key)] = (request_hash, None, None)
            return None
        if stored[0] != request_hash:
            raise KeyReuse(key)
        return stored[1], stored[2]

    def complete(self, scope, key, status, body):
        self.keys[(scope, key)] = (self.keys[(scope, key)][0], status, body)


class FakeInbox:
    def __init__(self):
        self.consumed = set()
        self.versions = {}

    def claim(self, consumer, event):
        if (consumer, event.event_id) in self.consumed:
            return None
        self.consumed.add((consumer, event.event_id))
        previous = self.versions.get((consumer, event.stream_id), 0)
        self.versions[(consumer, event.stream_id)] = max(previous, event.stream_version)
        return previous

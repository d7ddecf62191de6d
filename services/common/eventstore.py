"""The event store: append-only streams in PostgreSQL with one global order.

- `append` is atomic; a wrong `expected_version` raises `ConcurrencyError` and writes
  nothing; an event whose `event_id` is already stored is skipped, never duplicated.
- Global positions become visible in commit order. Appends take a transaction-level
  advisory lock before they draw positions and hold it until commit, so a reader that
  saw position n will never later find a committed event below n. (Measured against a
  high-water mark over in-flight transactions in bench/: the lock is simpler and, with
  one short insert per command, not the bottleneck; the fsync of the commit is.)
- Each append notifies `tiaojie_events`, delivered at commit, which wakes the relay.
"""
import psycopg2.errors
import psycopg2.extras

from .envelope import Event, NewEvent, current_schema_version, dumps, upcast

ANY_VERSION = None
NOTIFY_CHANNEL = "tiaojie_events"
_APPEND_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('tiaojie:append'))"


class ConcurrencyError(Exception):
    """The stream moved on since it was read: reload and decide again."""

    def __init__(self, stream_id, expected_version, actual_version):
        super().__init__(
            f"stream {stream_id}: expected version {expected_version}, found {actual_version}"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


EVENT_MIGRATIONS = [
    (
        "common-0001-events",
        """
        CREATE TABLE events (
            position        bigserial PRIMARY KEY,
            event_id        uuid NOT NULL UNIQUE,
            stream_id       text NOT NULL,
            stream_version  integer NOT NULL CHECK (stream_version >= 1),
            event_type      text NOT NULL,
            schema_version  integer NOT NULL,
            case_id         text,
            center_id       text,
            occurred_at     timestamptz NOT NULL,
            recorded_at     timestamptz NOT NULL,
            correlation_id  text NOT NULL,
            causation_id    text,
            data            jsonb NOT NULL,
            UNIQUE (stream_id, stream_version)
        );
        CREATE INDEX events_case_id ON events (case_id) WHERE case_id IS NOT NULL;
        """,
    ),
]

_COLUMNS = (
    "position, event_id, stream_id, stream_version, event_type, schema_version, case_id,"
    " center_id, occurred_at, recorded_at, correlation_id, causation_id, data"
)


def row_to_event(row):
    """A stored row (tuple or dict, in `_COLUMNS` order) as an upcast `Event`."""
    if isinstance(row, dict):
        values = dict(row)
    else:
        values = dict(zip([c.strip() for c in _COLUMNS.split(",")], row))
    values["event_id"] = str(values["event_id"])
    return upcast(Event(**values))


class PostgresEventStore:
    """Event store operations inside the caller's transaction (a psycopg2 cursor)."""

    def __init__(self, cursor, clock):
        self.cursor = cursor
        self.clock = clock

    def version(self, stream_id):
        self.cursor.execute(
            "SELECT COALESCE(MAX(stream_version), 0) AS v FROM events WHERE stream_id = %s",
            (stream_id,),
        )
        row = self.cursor.fetchone()
        return row["v"] if isinstance(row, dict) else row[0]

    def append(self, stream_id, expected_version, events, correlation_id=None, causation_id=None):
        """Appends `events` after `expected_version` (or at the end, with `ANY_VERSION`)."""
        events = list(events)
        if not events:
            return []
        self.cursor.execute(_APPEND_LOCK_SQL)
        ids = [e.event_id for e in events]
        self.cursor.execute(
            f"SELECT {_COLUMNS} FROM events WHERE event_id = ANY(%s::uuid[]) ORDER BY position", (ids,)
        )
        stored = [row_to_event(r) for r in self.cursor.fetchall()]
        stored_ids = {e.event_id for e in stored}
        fresh = [e for e in events if e.event_id not in stored_ids]
        if not fresh:
            return stored
        current = self.version(stream_id)
        if expected_version is not ANY_VERSION and not stored and current != expected_version:
            raise ConcurrencyError(stream_id, expected_version, current)
        now = self.clock.now()
        correlation_id = correlation_id or fresh[0].event_id
        rows = []
        for offset, new in enumerate(fresh, start=1):
            rows.append(
                (
                    new.event_id,
                    stream_id,
                    current + offset,
                    new.event_type,
                    new.schema_version or current_schema_version(new.event_type),
                    new.case_id,
                    new.center_id,
                    new.occurred_at or now,
                    now,
                    correlation_id,
                    causation_id,
                    dumps(new.data),
                )
            )
        try:
            returned = psycopg2.extras.execute_values(
                self.cursor,
                "INSERT INTO events (event_id, stream_id, stream_version, event_type,"
                " schema_version, case_id, center_id, occurred_at, recorded_at,"
                " correlation_id, causation_id, data) VALUES %s"
                f" RETURNING {_COLUMNS}",
                rows,
                template="(%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                fetch=True,
            )
        except psycopg2.errors.UniqueViolation:
            raise ConcurrencyError(stream_id, expected_version, None)
        self.cursor.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))
        return [row_to_event(r) for r in returned]

    def load(self, stream_id, after_version=0):
        self.cursor.execute(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = %s AND stream_version > %s"
            " ORDER BY stream_version",
            (stream_id, after_version),
        )
        return [row_to_event(r) for r in self.cursor.fetchall()]

    def read_all(self, after_position=0, limit=1000):
        """The next `limit` events after a global position, in order."""
        self.cursor.execute(
            f"SELECT {_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s",
            (after_position, limit),
        )
        return [row_to_event(r) for r in self.cursor.fetchall()]

    def last_position(self):
        self.cursor.execute("SELECT COALESCE(MAX(position), 0) AS p FROM events")
        row = self.cursor.fetchone()
        return row["p"] if isinstance(row, dict) else row[0]


class EventStore:
    """The event store of one database, each call in its own transaction."""

    def __init__(self, database, clock):
        self.database = database
        self.clock = clock

    def append(self, stream_id, expected_version, events, correlation_id=None, causation_id=None):
        with self.database.transaction() as cur:
            return PostgresEventStore(cur, self.clock).append(
                stream_id, expected_version, events, correlation_id, causation_id
            )

    def load(self, stream_id, after_version=0):
        with self.database.transaction() as cur:
            return PostgresEventStore(cur, self.clock).load(stream_id, after_version)

    def read_all(self, after_position=0, limit=1000):
        with self.database.transaction() as cur:
            return PostgresEventStore(cur, self.clock).read_all(after_position, limit)

    def iter_all(self, after_position=0, batch_size=1000):
        """Every event after a position, in order, fetched in batches."""
        while True:
            batch = self.read_all(after_position, batch_size)
            if not batch:
                return
            yield from batch
            after_position = batch[-1].position

    def last_position(self):
        with self.database.transaction() as cur:
            return PostgresEventStore(cur, self.clock).last_position()


class InMemoryEventStore:
    """The same contract in memory, for fast unit tests of the domain and service layer."""

    def __init__(self, clock):
        self.clock = clock
        self.events = []

    def version(self, stream_id):
        return max((e.stream_version for e in self.events if e.stream_id == stream_id), default=0)

    def append(self, stream_id, expected_version, events, correlation_id=None, causation_id=None):
        events = list(events)
        known = {e.event_id: e for e in self.events}
        stored = [known[e.event_id] for e in events if e.event_id in known]
        fresh = [e for e in events if e.event_id not in known]
        if not fresh:
            return stored
        current = self.version(stream_id)
        if expected_version is not ANY_VERSION and not stored and current != expected_version:
            raise ConcurrencyError(stream_id, expected_version, current)
        now = self.clock.now()
        appended = []
        for offset, new in enumerate(fresh, start=1):
            appended.append(
                Event(
                    event_id=new.event_id,
                    event_type=new.event_type,
                    schema_version=new.schema_version or current_schema_version(new.event_type),
                    stream_id=stream_id,
                    stream_version=current + offset,
                    case_id=new.case_id,
                    center_id=new.center_id,
                    occurred_at=new.occurred_at or now,
                    recorded_at=now,
                    correlation_id=correlation_id or fresh[0].event_id,
                    causation_id=causation_id,
                    data=_json_roundtrip(new.data),
                    position=len(self.events) + offset,
                )
            )
        self.events.extend(appended)
        return appended

    def load(self, stream_id, after_version=0):
        return [
            upcast(e) for e in self.events if e.stream_id == stream_id and e.stream_version > after_version
        ]

    def read_all(self, after_position=0, limit=1000):
        return [upcast(e) for e in self.events if e.position > after_position][:limit]

    def last_position(self):
        return len(self.events)


def _json_roundtrip(data):
    import json

    return json.loads(dumps(data))


class Aggregate:
    """An aggregate's state is a fold of its events; commands record new ones.

    Subclasses implement `apply(event_type, data)` (pure state change) and command
    methods that check the rules and call `record(...)`.
    """

    def __init__(self, stream_id):
        self.stream_id = stream_id
        self.version = 0
        self.pending = []

    @classmethod
    def from_events(cls, stream_id, events):
        aggregate = cls(stream_id)
        for event in events:
            aggregate.apply(event.event_type, event.data)
            aggregate.version = event.stream_version
        return aggregate

    @property
    def loaded_version(self):
        return self.version - len(self.pending)

    def record(self, event_type, data, occurred_at=None, case_id=None, center_id=None):
        event = NewEvent(event_type, data, case_id=case_id, center_id=center_id, occurred_at=occurred_at)
        self.apply(event_type, _json_roundtrip(data))
        self.pending.append(event)
        self.version += 1
        return event

    def apply(self, event_type, data):  # pragma: no cover - abstract
        raise NotImplementedError


__all__ = [
    "ANY_VERSION",
    "Aggregate",
    "ConcurrencyError",
    "EventStore",
    "InMemoryEventStore",
    "EVENT_MIGRATIONS",
    "NOTIFY_CHANNEL",
    "PostgresEventStore",
    "row_to_event",
]

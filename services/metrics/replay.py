"""`tiaojie replay metrics`: rebuilds the read model from every event store, then switches over.

The rebuild goes into fresh tables (`<table>_rebuild`) while the live service keeps
consuming into the old ones:

1. Bulk passes read each store in position order with a server-side cursor, turn each
   batch of events into facts and append them, unmerged, to staging tables; the inbox
   records go into an unindexed copy of the inbox. Passes repeat from the positions
   reached until little is left.
2. One `GROUP BY` per table folds the staged facts into the rebuild tables (the
   projection is order-independent, so store after store is as good as any
   interleaving); the inbox copy gets its key.
3. In one transaction holding the live tables' locks, the last events are merged and
   the tables are renamed. The live consumer waits for that moment, then carries on.

The inbox is rebuilt with the read model: after the switch it records exactly the
events the new tables hold, so the live consumer skips those whenever they reach it
and applies everything else exactly once.
"""
import collections
import contextlib
import json
import logging
import sys
from datetime import datetime

import eventlet
import eventlet.queue
import psycopg2

from services.common.config import SERVICES, database_url
from services.common.db import migrate
from services.common.envelope import Event, current_schema_version, upcast
from services.common.schema import COMMON_MIGRATIONS

from .collector import INBOX_CONSUMER
from .projection import CONSUMED_TYPES, facts_of
from .readmodel import BY_TARGET, INBOX_TABLES, TABLES, facts_json, merge_json
from .schema import MIGRATIONS
from .settings import settings_from_env

log = logging.getLogger(__name__)

SUFFIX = "_rebuild"
STAGING = "_staging"
RETIRED = "_retired"
PROJECTIONS = ("metrics",)

# Parts of event data no indicator reads: left in the stores (with the personal data in
# them) unless an upcaster may need the whole.
UNREAD_DATA = ("applicant", "respondent", "claims", "description", "summary", "terms", "text",
               "comment", "agreement", "mediator_name")


def add_arguments(parser):
    parser.add_argument("projection", choices=PROJECTIONS, help="the projection to rebuild")
    parser.add_argument("--batch-size", type=int, default=20000, help="events per fetch and per write")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args):
    sources = {name: database_url(name) for name in SERVICES if name != "metrics"}
    rebuild = Rebuild(database_url("metrics"), sources, settings_from_env().zone, batch_size=args.batch_size)
    try:
        counts = rebuild.run(progress=not args.no_progress)
    except ReplayError as exc:
        print(f"tiaojie replay metrics: {exc}", file=sys.stderr)
        return 1
    print(f"metrics read model rebuilt from {sum(counts.values())} events ("
          + ", ".join(f"{name}: {n}" for name, n in counts.items()) + ")")
    return 0


class ReplayError(Exception):
    pass


def _events_query():
    upcast_types = sorted(t for t in CONSUMED_TYPES if current_schema_version(t) > 1)
    data = "data - %(unread)s::text[]"
    if upcast_types:
        data = f"CASE WHEN event_type = ANY(%(upcast)s) THEN data ELSE {data} END"
    query = (
        "SELECT event_id::text, event_type, schema_version, stream_id, stream_version,"
        f" case_id, center_id, occurred_at::text, ({data})::text, position"
        " FROM events WHERE position > %(after)s AND event_type = ANY(%(types)s) ORDER BY position"
    )
    return query, {"unread": list(UNREAD_DATA), "upcast": upcast_types, "types": sorted(CONSUMED_TYPES)}


# What the projection reads of a stored event; a full `Event` only where an upcaster runs.
StoredEvent = collections.namedtuple(
    "StoredEvent", "event_id event_type schema_version stream_id stream_version case_id center_id occurred_at"
                   " data position")


def _events(rows):
    """Stored rows as events. Their data comes as JSON text, decoded in one call for the
    whole batch (much faster than one per row); `occurred_at` stays text, as only the
    database reads it again."""
    datas = json.loads("[" + ",".join(row[8] for row in rows) + "]")
    events = []
    for row, data in zip(rows, datas):
        event = StoredEvent(*row[:8], data, row[9])
        if current_schema_version(event.event_type) != event.schema_version:
            event = upcast(Event(*row[:7], datetime.fromisoformat(row[7]), datetime.fromisoformat(row[7]),
                                 "", None, data, row[9]))
        events.append(event)
    return events


class PreparedBatch:
    """A batch of events read from a store, turned into facts ready to write."""

    def __init__(self, events, zone):
        self.events = events
        self.facts = facts_json([fact for event in events for fact in facts_of(event, zone)])
        self.event_ids = [event.event_id for event in events]


class Rebuild:
    def __init__(self, target_url, source_urls, zone, batch_size=20000, catch_up_threshold=None):
        self.target_url = target_url
        self.source_urls = source_urls
        self.zone = zone
        self.batch_size = batch_size
        self.catch_up_threshold = catch_up_threshold or batch_size
        self.positions = {name: 0 for name in source_urls}
        self.counts = {name: 0 for name in source_urls}
        self.streams = {}

    def run(self, progress=False):
        migrate(self.target_url, COMMON_MIGRATIONS + MIGRATIONS)
        target = psycopg2.connect(self.target_url)
        try:
            self._lock_out_other_replays(target)
            self._create_tables(target)
            bar = self._progress_bar(progress)
            try:
                while self._pass(target, bar, self._stage_batch) >= self.catch_up_threshold:
                    pass
                self._fold(target)
                self._switch_over(target, bar)
            finally:
                if bar is not None:
                    bar.close()
        finally:
            target.close()
        return dict(self.counts)

    # -- preparation ----------------------------------------------------------------
    def _lock_out_other_replays(self, target):
        with target.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext('tiaojie:replay:metrics'))")
            if not cur.fetchone()[0]:
                raise ReplayError("another replay of the metrics projection is running")
        target.commit()

    def _create_tables(self, target):
        with target.cursor() as cur:
            for name in self._live_tables():
                cur.execute(f"DROP TABLE IF EXISTS {name}{SUFFIX}")
            for table in TABLES:
                cur.execute(f"CREATE TABLE {table.name}{SUFFIX} (LIKE {table.name} INCLUDING ALL)")
                cur.execute(f"DROP TABLE IF EXISTS {table.name}{STAGING}")
                cur.execute(f"CREATE UNLOGGED TABLE {table.name}{STAGING} ({table.record_sql()})")
            cur.execute(f"CREATE TABLE inbox_streams{SUFFIX} (LIKE inbox_streams INCLUDING ALL)")
            # Keyed only once filled (one index build is faster than a million inserts
            # into it); no event is stored twice, so no duplicate can arise.
            cur.execute(f"CREATE TABLE inbox{SUFFIX} (LIKE inbox INCLUDING DEFAULTS)")
        target.commit()

    def _progress_bar(self, enabled):
        if not enabled:
            return None
        from tqdm import tqdm

        total = 0
        for name, url in self.source_urls.items():
            with contextlib.closing(self._connect_source(name, url)) as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM events WHERE event_type = ANY(%s)", (sorted(CONSUMED_TYPES),))
                total += cur.fetchone()[0]
        return tqdm(total=total, unit="event", unit_scale=True, desc="replay metrics", file=sys.stderr)

    # -- reading the stores ---------------------------------------------------------
    def _connect_source(self, name, url):
        try:
            return psycopg2.connect(url)
        except psycopg2.OperationalError as exc:
            raise ReplayError(f"cannot read the {name} event store: {exc}".strip()) from None

    def _pass(self, target, bar, write_batch, commit=True):
        """Writes every event after the positions reached; returns how many were read.

        A green thread reads and prepares the next batch while this one writes the
        current: the database works while Python decodes.
        """
        read = 0
        for name, url in self.source_urls.items():
            with contextlib.closing(self._connect_source(name, url)) as source:
                batches = eventlet.queue.Queue(maxsize=2)
                reader = eventlet.spawn(self._read_store, source, name, batches)
                try:
                    while (batch := batches.get()) is not None:
                        if isinstance(batch, BaseException):
                            raise batch
                        with target.cursor() as cur:
                            write_batch(cur, batch)
                        if commit:
                            target.commit()
                        self.positions[name] = batch.events[-1].position
                        self.counts[name] += len(batch.events)
                        read += len(batch.events)
                        if bar is not None:
                            bar.update(len(batch.events))
                finally:
                    reader.kill()
        return read

    def _read_store(self, source, name, batches):
        query, params = _events_query()
        try:
            with source.cursor(name=f"replay_{name}") as rows:
                rows.itersize = self.batch_size
                rows.execute(query, {**params, "after": self.positions[name]})
                while chunk := rows.fetchmany(self.batch_size):
                    batches.put(PreparedBatch(_events(chunk), self.zone))
            source.rollback()
            batches.put(None)
        except Exception as exc:  # noqa: BLE001 - handed to the writer, which raises it
            batches.put(exc)

    def _stage_batch(self, cur, batch):
        for target, rows_json in batch.facts.items():
            table = BY_TARGET[target]
            cur.execute(
                f"INSERT INTO {table.name}{STAGING} SELECT * FROM jsonb_to_recordset(%s::jsonb)"
                f" AS b({table.record_sql()})",
                (rows_json,),
            )
        self._record_consumption(cur, batch)

    def _merge_batch(self, cur, batch):
        for target, rows_json in batch.facts.items():
            merge_json(cur, target, rows_json, SUFFIX)
        self._record_consumption(cur, batch)
        self._write_streams(cur)

    def _record_consumption(self, cur, batch):
        cur.execute(
            f"INSERT INTO inbox{SUFFIX} (consumer, event_id) SELECT %s, unnest(%s::uuid[]) ON CONFLICT DO NOTHING",
            (INBOX_CONSUMER, batch.event_ids),
        )
        streams = self.streams
        for event in batch.events:
            if streams.get(event.stream_id, 0) < event.stream_version:
                streams[event.stream_id] = event.stream_version

    def _write_streams(self, cur):
        if self.streams:
            cur.execute(
                f"INSERT INTO inbox_streams{SUFFIX} AS s (consumer, stream_id, version)"
                " SELECT %s, stream_id, version FROM unnest(%s::text[], %s::int[]) AS u(stream_id, version)"
                " ON CONFLICT (consumer, stream_id) DO UPDATE SET version = GREATEST(s.version, EXCLUDED.version)",
                (INBOX_CONSUMER, list(self.streams), list(self.streams.values())),
            )
            self.streams = {}

    def _fold(self, target):
        """Merges the staged facts into the rebuild tables and keys the inbox copy."""
        with target.cursor() as cur:
            for table in TABLES:
                cur.execute(table.upsert_sql(f"{table.name}{SUFFIX}", f"{table.name}{STAGING}"))
                cur.execute(f"DROP TABLE {table.name}{STAGING}")
            self._write_streams(cur)
            cur.execute(f"ALTER TABLE inbox{SUFFIX} ADD PRIMARY KEY (consumer, event_id)")
        target.commit()

    # -- the switch -----------------------------------------------------------------
    def _switch_over(self, target, bar):
        names = self._live_tables()
        with target.cursor() as cur:
            cur.execute(f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE")
        self._pass(target, bar, self._merge_batch, commit=False)
        with target.cursor() as cur:
            # Consumption records of any other consumer in this database stay as they are.
            cur.execute(f"INSERT INTO inbox{SUFFIX} SELECT * FROM inbox WHERE consumer <> %s", (INBOX_CONSUMER,))
            cur.execute(f"INSERT INTO inbox_streams{SUFFIX} SELECT * FROM inbox_streams WHERE consumer <> %s",
                        (INBOX_CONSUMER,))
            for name in names:
                cur.execute(f"ALTER TABLE {name} RENAME TO {name}{RETIRED}")
                cur.execute(f"ALTER TABLE {name}{SUFFIX} RENAME TO {name}")
                cur.execute(f"DROP TABLE {name}{RETIRED}")
                cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (name,))
                for (index,) in cur.fetchall():
                    if f"{name}{SUFFIX}" in index:
                        cur.execute(f"ALTER INDEX {index} RENAME TO {index.replace(name + SUFFIX, name)}")
        target.commit()

    @staticmethod
    def _live_tables():
        return [table.name for table in TABLES] + list(INBOX_TABLES)

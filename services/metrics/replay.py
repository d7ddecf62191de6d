"""`tiaojie replay metrics`: rebuilds the read model from every event store, then switches over.

The rebuild goes into fresh tables (`<table>_rebuild`) while the live service keeps
consuming into the old ones:

1. Bulk passes read each store by ranges of positions. PostgreSQL itself computes each
   event's facts (`projection.facts_sql`, the same definitions the live consumer
   applies) and they stream, with COPY, unmerged into staging tables; the inbox records
   go into an unindexed copy of the inbox. Passes repeat from the positions reached
   until little is left.
2. One `GROUP BY` per table folds the staged facts into the rebuild tables (the
   projection is order-independent, so store after store is as good as any
   interleaving); the inbox copy gets its key.
3. In one transaction holding the live tables' locks, the last events are staged and
   folded and the tables are renamed. The live consumer waits for that moment, then
   carries on with the new tables.

The inbox is rebuilt with the read model: after the switch it records exactly the
events the new tables hold, so the live consumer skips those whenever they reach it
and applies everything else exactly once. Events whose stored shape needs an upcaster
go through Python (`facts_of`) instead, as the live consumer sees them.
"""

import contextlib
import io
import logging
import sys
import time

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from services.common.config import database_url
from services.common.db import migrate
from services.common.envelope import current_schema_version
from services.common.eventstore import _COLUMNS, row_to_event
from services.common.schema import COMMON_MIGRATIONS

from .collector import INBOX_CONSUMER
from .projection import CONSUMED_EVENTS, CONSUMED_TYPES, facts_of, facts_sql
from .readmodel import BY_TARGET, INBOX_TABLES, TABLES, facts_json
from .schema import MIGRATIONS
from .settings import settings_from_env

log = logging.getLogger(__name__)

SUFFIX = "_rebuild"
STAGING = "_staging"
RETIRED = "_retired"
PROJECTIONS = ("metrics",)
MAX_CATCH_UP_PASSES = 10
# The switch waits this long for the live tables, then lets go and tries again (up to
# SWITCH_ATTEMPTS times): shorter than PostgreSQL's deadlock_timeout (1 s), so a reader that
# holds one table while it waits for another (a scrape, a consumer) is never the one aborted.
SWITCH_LOCK_TIMEOUT = "500ms"
SWITCH_ATTEMPTS = 40


def add_arguments(parser):
    parser.add_argument("projection", choices=PROJECTIONS, help="the projection to rebuild")
    parser.add_argument("--batch-size", type=int, default=100000, help="positions read per step")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args):
    sources = {name: database_url(name) for name in CONSUMED_EVENTS}
    settings = settings_from_env()
    rebuild = Rebuild(database_url("metrics"), sources, settings.zone, batch_size=args.batch_size)
    try:
        counts = rebuild.run(progress=not args.no_progress)
    except ReplayError as exc:
        print(f"tiaojie replay metrics: {exc}", file=sys.stderr)
        return 1
    print(
        f"metrics read model rebuilt from {sum(counts.values())} events ("
        + ", ".join(f"{name}: {n}" for name, n in counts.items())
        + ")"
    )
    return 0


class ReplayError(Exception):
    pass


def python_types():
    """Consumed event types some stored events of which an upcaster must reshape first."""
    return sorted(t for t in CONSUMED_TYPES if current_schema_version(t) > 1)


class Rebuild:
    def __init__(self, target_url, source_urls, zone, batch_size=100000, catch_up_threshold=None):
        self.target_url = target_url
        self.source_urls = source_urls
        self.zone = zone
        self.batch_size = batch_size
        self.catch_up_threshold = catch_up_threshold or batch_size
        self.positions = {name: 0 for name in source_urls}
        self.counts = {name: 0 for name in source_urls}
        self.python_types = python_types()
        self.sql_types = sorted(CONSUMED_TYPES - set(self.python_types))

    def run(self, progress=False):
        try:
            migrate(self.target_url, COMMON_MIGRATIONS + MIGRATIONS)
        except psycopg2.OperationalError as exc:
            raise ReplayError(f"cannot open the metrics database (has `tiaojie setup` run?): {exc}".strip()) from None
        # COPY needs a blocking connection: no green waiting while the replay runs.
        callback = psycopg2.extensions.get_wait_callback()
        psycopg2.extensions.set_wait_callback(None)
        try:
            with contextlib.closing(psycopg2.connect(self.target_url)) as target:
                with target.cursor() as cur:  # room to fold and index in memory
                    cur.execute("SET work_mem = '128MB'; SET maintenance_work_mem = '256MB'")
                self._lock_out_other_replays(target)
                self._create_tables(target)
                with self._progress_bar(progress) as bar:
                    started = time.perf_counter()
                    for _ in range(MAX_CATCH_UP_PASSES):  # then the rest under the lock, however much
                        if self._pass(target, bar) < self.catch_up_threshold:
                            break
                    staged = time.perf_counter()
                    self._fold(target)
                    with target.cursor() as cur:
                        cur.execute(f"ALTER TABLE inbox{SUFFIX} ADD PRIMARY KEY (consumer, event_id)")
                    target.commit()
                    folded = time.perf_counter()
                    self._switch_over(target, bar)
                    log.info(
                        "replay metrics: %d events staged in %.1f s, folded in %.1f s, switched in %.1f s",
                        sum(self.counts.values()),
                        staged - started,
                        folded - staged,
                        time.perf_counter() - folded,
                    )
        finally:
            psycopg2.extensions.set_wait_callback(callback)
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
            cur.execute(f"DROP TABLE IF EXISTS inbox_streams{STAGING}")
            cur.execute(f"CREATE UNLOGGED TABLE inbox_streams{STAGING} (stream_id text, version integer)")
            # Keyed only once filled (one index build is faster than a million inserts
            # into it); no event is stored twice, so no duplicate can arise.
            cur.execute(f"CREATE TABLE inbox{SUFFIX} (LIKE inbox INCLUDING DEFAULTS)")
        target.commit()

    @contextlib.contextmanager
    def _progress_bar(self, enabled):
        if not enabled:
            yield None
            return
        from tqdm import tqdm

        total = 0
        for name, url in self.source_urls.items():
            with contextlib.closing(self._connect_source(name, url)) as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM events WHERE event_type = ANY(%s)", (sorted(CONSUMED_TYPES),))
                total += cur.fetchone()[0]
        with tqdm(total=total, unit="event", unit_scale=True, desc="replay metrics", file=sys.stderr) as bar:
            yield bar

    # -- reading the stores ---------------------------------------------------------
    def _connect_source(self, name, url):
        try:
            return psycopg2.connect(url)
        except psycopg2.OperationalError as exc:
            raise ReplayError(f"cannot read the {name} event store: {exc}".strip()) from None

    def _pass(self, target, bar, commit=True):
        """Stages every event after the positions reached; returns how many there were."""
        read = 0
        for name, url in self.source_urls.items():
            with contextlib.closing(self._connect_source(name, url)) as source:
                with source.cursor() as cur:
                    cur.execute("SELECT COALESCE(MAX(position), 0) FROM events")
                    last = cur.fetchone()[0]
                while self.positions[name] < last:
                    after, upto = self.positions[name], min(self.positions[name] + self.batch_size, last)
                    staged = self._stage(source, target, after, upto)
                    if commit:
                        target.commit()
                    self.positions[name] = upto
                    self.counts[name] += staged
                    read += staged
                    if bar is not None:
                        bar.update(staged)
                source.rollback()
        return read

    def _stage(self, source, target, after, upto):
        """Copies the facts, inbox records and stream versions of a range of positions."""
        params = {
            "after": after,
            "upto": upto,
            "zone": str(self.zone),
            "python_types": self.python_types,
            "types": self.sql_types,
        }
        for table in TABLES:
            columns = [c.name for c in table.columns]
            self._copy(
                source,
                target,
                facts_sql(table.target, columns),
                params,
                f"{table.name}{STAGING} (key, {', '.join(columns)})",
            )
        in_range = "position > %(after)s AND position <= %(upto)s AND event_type = ANY(%(types)s)"
        staged = self._copy(
            source,
            target,
            f"SELECT %(consumer)s, event_id FROM events WHERE {in_range}",
            {**params, "consumer": INBOX_CONSUMER},
            f"inbox{SUFFIX} (consumer, event_id)",
        )
        self._copy(
            source,
            target,
            f"SELECT stream_id, max(stream_version) FROM events WHERE {in_range} GROUP BY stream_id",
            params,
            f"inbox_streams{STAGING} (stream_id, version)",
        )
        if self.python_types:
            staged += self._stage_in_python(source, target, after, upto)
        return staged

    @staticmethod
    def _copy(source, target, query, params, into):
        """COPY from a query on the source into a table of the target; returns the rows."""
        buffer = io.BytesIO()
        with source.cursor() as cur:
            cur.copy_expert(f"COPY ({cur.mogrify(query, params).decode()}) TO STDOUT", buffer)
        buffer.seek(0)
        with target.cursor() as cur:
            cur.copy_expert(f"COPY {into} FROM STDIN", buffer)
            return cur.rowcount

    def _stage_in_python(self, source, target, after, upto):
        with source.cursor() as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM events WHERE position > %s AND position <= %s"
                " AND event_type = ANY(%s) ORDER BY position",
                (after, upto, self.python_types),
            )
            events = [row_to_event(row) for row in cur.fetchall()]
        if not events:
            return 0
        versions = {}
        for event in events:
            versions[event.stream_id] = max(versions.get(event.stream_id, 0), event.stream_version)
        with target.cursor() as cur:
            for target_name, rows_json in facts_json([f for e in events for f in facts_of(e, self.zone)]).items():
                table = BY_TARGET[target_name]
                cur.execute(
                    f"INSERT INTO {table.name}{STAGING} SELECT * FROM jsonb_to_recordset(%s::jsonb)"
                    f" AS b({table.record_sql()})",
                    (rows_json,),
                )
            cur.execute(
                f"INSERT INTO inbox{SUFFIX} (consumer, event_id) SELECT %s, unnest(%s::uuid[])",
                (INBOX_CONSUMER, [e.event_id for e in events]),
            )
            cur.execute(
                f"INSERT INTO inbox_streams{STAGING} SELECT unnest(%s::text[]), unnest(%s::int[])",
                (list(versions), list(versions.values())),
            )
        return len(events)

    def _fold(self, target):
        """Merges the staged facts and stream versions into the rebuild tables."""
        with target.cursor() as cur:
            for table in TABLES:
                cur.execute(table.upsert_sql(f"{table.name}{SUFFIX}", f"{table.name}{STAGING}"))
                cur.execute(f"TRUNCATE {table.name}{STAGING}")
            cur.execute(
                f"INSERT INTO inbox_streams{SUFFIX} AS s (consumer, stream_id, version)"
                f" SELECT %s, stream_id, max(version) FROM inbox_streams{STAGING} GROUP BY stream_id"
                " ON CONFLICT (consumer, stream_id) DO UPDATE SET version = GREATEST(s.version, EXCLUDED.version)",
                (INBOX_CONSUMER,),
            )
            cur.execute(f"TRUNCATE inbox_streams{STAGING}")

    # -- the switch -----------------------------------------------------------------
    def _switch_over(self, target, bar):
        names = self._live_tables()
        self._lock_live_tables(target)
        self._pass(target, bar, commit=False)
        self._fold(target)
        with target.cursor() as cur:
            # Consumption records of any other consumer in this database stay as they are.
            cur.execute(f"INSERT INTO inbox{SUFFIX} SELECT * FROM inbox WHERE consumer <> %s", (INBOX_CONSUMER,))
            cur.execute(
                f"INSERT INTO inbox_streams{SUFFIX} SELECT * FROM inbox_streams WHERE consumer <> %s", (INBOX_CONSUMER,)
            )
            for table in TABLES:
                cur.execute(f"DROP TABLE {table.name}{STAGING}")
            cur.execute(f"DROP TABLE inbox_streams{STAGING}")
            for name in names:
                cur.execute(f"ALTER TABLE {name} RENAME TO {name}{RETIRED}")
                cur.execute(f"ALTER TABLE {name}{SUFFIX} RENAME TO {name}")
                cur.execute(f"DROP TABLE {name}{RETIRED}")
                cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (name,))
                for (index,) in cur.fetchall():
                    if f"{name}{SUFFIX}" in index:
                        cur.execute(f"ALTER INDEX {index} RENAME TO {index.replace(name + SUFFIX, name)}")
        target.commit()
        with target.cursor() as cur:  # statistics of the new tables, for the planner
            cur.execute(f"ANALYZE {', '.join(names)}")
        target.commit()

    @staticmethod
    def _lock_live_tables(target):
        """Every live table, locked for the switch. The inbox first, as a consumer's transaction
        starts with it; a reader holding one table while it waits for another (a scrape reads
        them in its own order) makes the lock wait end, and the switch lets go and tries again
        rather than deadlock with it."""
        order = list(INBOX_TABLES) + [table.name for table in TABLES]
        for attempt in range(1, SWITCH_ATTEMPTS + 1):
            try:
                with target.cursor() as cur:
                    cur.execute(f"SET LOCAL lock_timeout = '{SWITCH_LOCK_TIMEOUT}'")
                    cur.execute(f"LOCK TABLE {', '.join(order)} IN ACCESS EXCLUSIVE MODE")
                    cur.execute("SET LOCAL lock_timeout = 0")
                return
            except (psycopg2.errors.LockNotAvailable, psycopg2.errors.DeadlockDetected):
                target.rollback()
                if attempt == SWITCH_ATTEMPTS:
                    raise
                log.info("replay metrics: the live tables are busy; switching again (attempt %d)", attempt + 1)
                time.sleep(0.05 * attempt)

    @staticmethod
    def _live_tables():
        """The read model's tables, then the inbox's."""
        return [table.name for table in TABLES] + list(INBOX_TABLES)

"""Event store append: ours against a raw psycopg2 INSERT, the `eventsourcing` recorder, and two global orders.

- One event per append (the normal case: one command, one event, one commit), against a
  bare `INSERT` + commit into the same table and against `eventsourcing`'s
  `PostgresApplicationRecorder` (its own database on the same server).
- 100 events per append against one `execute_values` + commit.
- The global order: the kernel holds an advisory lock from drawing positions to commit;
  the alternative stamps each row with its transaction id (`xid8`) and lets readers take
  only rows of transactions older than the oldest one in flight. Both appends are timed
  with 1 and 4 concurrent writers (processes), as bare SQL that differs only in that.
"""

import multiprocessing
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import psycopg2
import psycopg2.extras

from services.common.clock import SystemClock
from services.common.db import Database
from services.common.envelope import NewEvent, dumps
from services.common.eventstore import EVENT_MIGRATIONS, EventStore, PostgresEventStore

from . import profile
from .common import Row, fresh_database, median_rate, timed

CENTERS = ("huaguangjie", "longshengjie", "qifang", "weihuliang")
_RAW_INSERT = (
    "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, case_id,"
    " center_id, occurred_at, recorded_at, correlation_id, causation_id, data)"
    " VALUES (%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
)
_HWM_TABLE = """
CREATE TABLE events_hwm (
    position        bigserial PRIMARY KEY,
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid NOT NULL UNIQUE,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL,
    event_type      text NOT NULL,
    data            jsonb NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_hwm_order ON events_hwm (transaction_id, position);
CREATE TABLE events_locked (
    position        bigserial PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL,
    event_type      text NOT NULL,
    data            jsonb NOT NULL,
    UNIQUE (stream_id, stream_version)
);
"""
# What a reader of the high-water-mark order runs: only transactions older than every
# one still in flight, in (transaction, position) order, so nothing can appear behind it.
HWM_READ_SQL = (
    "SELECT position, transaction_id, event_id, data FROM events_hwm"
    " WHERE (transaction_id, position) > (%s::xid8, %s)"
    " AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
    " ORDER BY transaction_id, position LIMIT %s"
)
_LOCKED_READ_SQL = "SELECT position, event_id, data FROM events_locked WHERE position > %s ORDER BY position LIMIT %s"


def case_accepted(case_id, center_id):
    """A realistic `CaseAccepted` payload (docs/EVENTS.md)."""
    now = datetime.now(UTC)
    return {
        "case_id": case_id,
        "case_number": f"HG-2026-{case_id[:6]}",
        "center_id": center_id,
        "accepted_at": now,
        "received_at": now,
        "mediation_deadline": "2026-12-13",
        "category": "wages",
        "source": "self",
        "workers_involved": 1,
        "collective": False,
        "claimed_total": Decimal("12000.00"),
    }


def _new_event(index):
    case_id = str(uuid.uuid4())
    center_id = CENTERS[index % len(CENTERS)]
    return NewEvent("CaseAccepted", case_accepted(case_id, center_id), case_id=case_id, center_id=center_id)


# -- one event per append -------------------------------------------------------------
def ours_single(url, count):
    database = Database(url, max_connections=1)
    store = EventStore(database, SystemClock())
    try:
        seconds, _ = timed(_ours_single_loop, store, count)
    finally:
        database.close()
    return count, seconds


def _ours_single_loop(store, count):
    for i in range(count):
        event = _new_event(i)
        store.append(f"case-{event.case_id}", 0, [event])


def raw_single(url, count):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            start = time.perf_counter()
            for i in range(count):
                event = _new_event(i)
                now = datetime.now(UTC)
                cur.execute(_RAW_INSERT, _raw_row(event, f"case-{event.case_id}", 1, now))
                conn.commit()
            return count, time.perf_counter() - start
    finally:
        conn.close()


def _raw_row(event, stream_id, version, now):
    return (
        event.event_id,
        stream_id,
        version,
        event.event_type,
        1,
        event.case_id,
        event.center_id,
        now,
        now,
        event.event_id,
        None,
        dumps(event.data),
    )


def eventsourcing_recorder(url):
    from urllib.parse import urlsplit

    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        pool_size=1,
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    return datastore, recorder


def eventsourcing_single(recorder, count):
    from eventsourcing.persistence import StoredEvent

    start = time.perf_counter()
    for i in range(count):
        event = _new_event(i)
        recorder.insert_events(
            [StoredEvent(uuid.UUID(event.case_id), 1, "tiaojie:CaseAccepted", dumps(event.data).encode())]
        )
    return count, time.perf_counter() - start


# -- 100 events per append --------------------------------------------------------------
def ours_batch(url, batches, size):
    database = Database(url, max_connections=1)
    store = EventStore(database, SystemClock())
    try:
        prepared = [[_new_event(i) for i in range(size)] for _ in range(batches)]
        start = time.perf_counter()
        for events in prepared:
            store.append(f"case-{uuid.uuid4()}", 0, events)
        return batches * size, time.perf_counter() - start
    finally:
        database.close()


def raw_batch(url, batches, size):
    conn = psycopg2.connect(url)
    try:
        prepared = [[_new_event(i) for i in range(size)] for _ in range(batches)]
        with conn.cursor() as cur:
            start = time.perf_counter()
            for events in prepared:
                stream_id, now = f"case-{uuid.uuid4()}", datetime.now(UTC)
                rows = [_raw_row(e, stream_id, v, now) for v, e in enumerate(events, start=1)]
                psycopg2.extras.execute_values(
                    cur,
                    _RAW_INSERT.split(" VALUES ")[0] + " VALUES %s",
                    rows,
                    template="(%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                )
                conn.commit()
            return batches * size, time.perf_counter() - start
    finally:
        conn.close()


# -- the global order: advisory lock to commit vs high-water mark over in-flight xids ------
def _order_writer(args):
    url, order, seconds = args
    conn = psycopg2.connect(url)
    count = 0
    try:
        with conn.cursor() as cur:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                event = _new_event(count)
                row = (event.event_id, f"case-{event.case_id}", event.event_type, dumps(event.data))
                if order == "lock":
                    cur.execute("SELECT pg_advisory_xact_lock(hashtext('tiaojie:append'))")
                    cur.execute(
                        "INSERT INTO events_locked (event_id, stream_id, stream_version, event_type, data)"
                        " VALUES (%s::uuid, %s, 1, %s, %s::jsonb)",
                        row,
                    )
                else:
                    cur.execute(
                        "INSERT INTO events_hwm (event_id, stream_id, stream_version, event_type, data)"
                        " VALUES (%s::uuid, %s, 1, %s, %s::jsonb)",
                        row,
                    )
                cur.execute("SELECT pg_notify('tiaojie_events', '')")
                conn.commit()
                count += 1
    finally:
        conn.close()
    return count


def _kernel_writer(args):
    """The kernel's append, one event per transaction."""
    url, order, seconds = args
    database, clock = Database(url, max_connections=1), SystemClock()
    count = 0
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            event = _new_event(count)
            with database.transaction() as cur:
                PostgresEventStore(cur, clock).append(f"case-{event.case_id}", 0, [event])
            count += 1
    finally:
        database.close()
    return count


def concurrent_appends(url, order, writers, seconds):
    """Appends per second with `writers` processes appending for `seconds` each."""
    worker = _kernel_writer if order == "kernel" else _order_writer
    with multiprocessing.get_context("fork").Pool(writers) as pool:
        counts = pool.map(worker, [(url, order, seconds)] * writers)
    return sum(counts) / seconds


def read_rate(url, order, batch=500):
    """Events per second a relay-like reader gets, in 500-row pages, in either order."""
    if order == "hwm":
        sql, after, key = HWM_READ_SQL, ("0", 0), lambda row: (str(row[1]), row[0])
    else:
        sql, after, key = _LOCKED_READ_SQL, (0,), lambda row: (row[0],)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    total = 0
    try:
        with conn.cursor() as cur:
            start = time.perf_counter()
            while True:
                cur.execute(sql, (*after, batch))
                rows = cur.fetchall()
                if not rows:
                    return total, time.perf_counter() - start
                total += len(rows)
                after = key(rows[-1])
    finally:
        conn.close()


# -- the benchmark ----------------------------------------------------------------------
def run(sizes, log=print):
    ours_url = fresh_database("append_ours", EVENT_MIGRATIONS)
    raw_url = fresh_database("append_raw", EVENT_MIGRATIONS)
    try:
        datastore, recorder = eventsourcing_recorder(fresh_database("append_es"))
    except ImportError:  # the optional `bench` extra is not installed (as in CI's test run)
        datastore, recorder = None, None
    rows = []
    try:
        count, rounds = sizes["append_single"], sizes["rounds"]
        ours, raw, lib = [], [], []
        # Warm up each path once (connections, plans), then interleave the rounds so a
        # noisy neighbour hurts all three alike.
        ours_single(ours_url, 20), raw_single(raw_url, 20)
        if recorder:
            eventsourcing_single(recorder, 20)
        for _ in range(rounds):
            ours.append(ours_single(ours_url, count))
            raw.append(raw_single(raw_url, count))
            if recorder:
                lib.append(eventsourcing_single(recorder, count))
        ours_rate, raw_rate = median_rate(ours), median_rate(raw)
        lib_rate = median_rate(lib) if lib else None
        log(f"append 1/commit: ours {ours_rate:.0f}/s raw {raw_rate:.0f}/s eventsourcing {lib_rate or 0:.0f}/s")
        rows.append(
            Row(
                "append, 1 event per commit",
                ours_rate,
                "events/s",
                "eventsourcing 9.5.6 PostgresApplicationRecorder",
                lib_rate,
                "≥ 2.0×",
                target_ratio=2.0,
                note="" if recorder else "eventsourcing not installed (pip install -e '.[bench]')",
            )
        )
        rows.append(
            Row(
                "append, 1 event per commit",
                ours_rate,
                "events/s",
                "raw psycopg2 INSERT + commit",
                raw_rate,
                "≥ 0.7×",
                target_ratio=0.7,
            )
        )

        batches, size = sizes["append_batches"], 100
        ours_b, raw_b = [], []
        for _ in range(rounds):
            ours_b.append(ours_batch(ours_url, batches, size))
            raw_b.append(raw_batch(raw_url, batches, size))
        ours_rate, raw_rate = median_rate(ours_b), median_rate(raw_b)
        log(f"append 100/commit: ours {ours_rate:.0f}/s raw {raw_rate:.0f}/s")
        rows.append(
            Row(
                "append, 100 events per commit",
                ours_rate,
                "events/s",
                "raw psycopg2 execute_values + commit",
                raw_rate,
                "≥ 0.7×",
                target_ratio=0.7,
            )
        )
        _, lines = profile.profile_call(ours_single, ours_url, count)
        notes = [
            "Profile of our append, 1 event per commit (cProfile; the C calls are the round trips):",
            "",
            *lines,
            "",
        ]
    finally:
        if datastore is not None:
            datastore.close()
    rows.extend(run_order(sizes, log))
    return rows, notes


def run_order(sizes, log=print):
    url = fresh_database("append_order", EVENT_MIGRATIONS + [("bench-order", _HWM_TABLE)])
    seconds = sizes["order_seconds"]
    rows = []
    for writers in (1, 4):
        lock_rate = concurrent_appends(url, "lock", writers, seconds)
        hwm_rate = concurrent_appends(url, "hwm", writers, seconds)
        kernel_rate = concurrent_appends(url, "kernel", writers, seconds)
        log(f"order, {writers} writer(s): lock {lock_rate:.0f}/s hwm {hwm_rate:.0f}/s kernel {kernel_rate:.0f}/s")
        rows.append(
            Row(
                f"global order: advisory lock to commit, {writers} writer(s)",
                lock_rate,
                "appends/s",
                "high-water mark over in-flight xids (xid8 column, no lock)",
                hwm_rate,
                note="bare SQL, identical but for the order mechanism",
            )
        )
        rows.append(
            Row(
                f"kernel EventStore.append, {writers} writer(s)",
                kernel_rate,
                "appends/s",
                "same, high-water mark (bare SQL)",
                hwm_rate,
                note="the kernel's full append (dedup and version checks)",
            )
        )
    locked = read_rate(url, "lock")
    hwm = read_rate(url, "hwm")
    rows.append(
        Row(
            "global order, reader side: position order",
            median_rate([locked]),
            "events/s",
            "high-water-mark reader (xid8 < pg_snapshot_xmin)",
            median_rate([hwm]),
            note="500-row pages over the rows the writers left",
        )
    )
    return rows

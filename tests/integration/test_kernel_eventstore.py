"""The event store against the real PostgreSQL: the contract, concurrency, commit order."""

import base64
import os
import threading

import pytest

from services.common.clock import SystemClock
from services.common.envelope import NewEvent
from services.common.eventstore import ConcurrencyError, EventStore, PostgresEventStore
from tests.unit.test_kernel_eventstore_contract import EventStoreContract


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, fresh_database):
        _, database = fresh_database
        return EventStore(database, SystemClock())


def test_two_concurrent_appends_to_one_stream_exactly_one_wins(fresh_database):
    _, database = fresh_database
    store = EventStore(database, SystemClock())
    store.append("case-race", 0, [NewEvent("ApplicationReceived", {})])
    barrier = threading.Barrier(2)
    outcomes = []

    def accept(decision):
        barrier.wait()
        try:
            store.append("case-race", 1, [NewEvent(decision, {})])
            outcomes.append("won")
        except ConcurrencyError:
            outcomes.append("lost")

    threads = [threading.Thread(target=accept, args=(d,)) for d in ("CaseAccepted", "CaseNotAccepted")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["lost", "won"]
    assert [e.stream_version for e in store.load("case-race")] == [1, 2]


def test_a_reader_racing_a_transaction_held_open_never_skips_its_event(fresh_database):
    """A draws a position and stays open; B appends meanwhile; a reader polls throughout.

    Were B's later position visible before A's commit, the reader would move past A's
    position and never see A's event."""
    _, database = fresh_database
    store = EventStore(database, SystemClock())
    clock = SystemClock()
    seen, position = [], 0

    def read_new():
        nonlocal position
        batch = store.read_all(position, 100)
        if batch:
            position = batch[-1].position
        seen.extend(e.data["who"] for e in batch)

    b_done = threading.Event()
    with database.transaction() as cursor:
        PostgresEventStore(cursor, clock).append("stream-a", 0, [NewEvent("Slow", {"who": "A"})])

        def append_b():
            store.append("stream-b", 0, [NewEvent("Fast", {"who": "B"})])
            b_done.set()

        writer = threading.Thread(target=append_b)
        writer.start()
        b_done.wait(1.0)  # B would have committed by now if nothing held it back
        read_new()
    writer.join(10)
    read_new()
    read_new()
    assert sorted(seen) == ["A", "B"]
    assert seen == ["A", "B"]


def test_concurrent_writers_leave_positions_in_commit_order(fresh_database):
    _, database = fresh_database
    store = EventStore(database, SystemClock())
    errors = []

    def write(n):
        try:
            for i in range(20):
                store.append(f"w{n}-{i}", 0, [NewEvent("W", {"n": n, "i": i})])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    events = list(store.iter_all(0, batch_size=7))
    assert len(events) == 80
    assert [e.position for e in events] == sorted(e.position for e in events)


def test_an_append_reads_the_events_by_index_even_before_the_store_has_statistics(fresh_database):
    """A fresh store has no statistics until autovacuum analyzes it; the planner then took the
    append's lookups for scans of the whole table, and every append read every event."""
    _, database = fresh_database
    store = EventStore(database, SystemClock())
    store.append("case-warm", 0, [NewEvent("ApplicationReceived", {})])
    before = _sequential_scans_of_events(database)
    for n in range(30):
        store.append(f"case-{n}", 0, [NewEvent("ApplicationReceived", {"n": n}), NewEvent("CaseAccepted", {})])
    store.append("case-0", 2, [NewEvent("MediatorAssigned", {})])
    assert _sequential_scans_of_events(database) == before


def _sequential_scans_of_events(database):
    with database.transaction() as cur:
        cur.execute("SELECT pg_stat_force_next_flush()")  # this backend's counts, then a fresh look
    with database.transaction() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'events'")
        return cur.fetchone()["seq_scan"]


def test_an_event_of_a_few_kilobytes_is_stored_in_line_not_moved_to_the_toast_table(fresh_database):
    """Sealed personal data is AES-GCM text, which does not compress: an application's row passes
    the 2 KB at which PostgreSQL would move its data out of line (an extra lookup on every load)."""
    _, database = fresh_database
    store = EventStore(database, SystemClock())
    sealed = {f"field_{n}": base64.b64encode(os.urandom(90)).decode("ascii") for n in range(40)}  # ~5 KB
    store.append("case-large", 0, [NewEvent("ApplicationReceived", sealed)])
    assert store.load("case-large")[0].data == sealed
    with database.transaction() as cursor:
        cursor.execute("SELECT reltoastrelid::regclass::text AS toast FROM pg_class WHERE relname = 'events'")
        toast = cursor.fetchone()["toast"]
        cursor.execute(f"SELECT count(*) AS chunks FROM {toast}")
        assert cursor.fetchone()["chunks"] == 0

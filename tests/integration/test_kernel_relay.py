"""The relay against the real PostgreSQL and RabbitMQ: nothing committed is ever lost."""

import json
import threading
import time
import uuid

import kombu
import pytest

from services.common.clock import SystemClock
from services.common.envelope import NewEvent
from services.common.eventstore import EventStore
from services.common.relay import Relay, envelope_route
from tests import support

SERVICE = "kernelrelay"


@pytest.fixture
def relay_setup(fresh_database):
    """A store, a queue bound to `<service>.events`, and a way to drain that queue."""
    url, database = fresh_database
    store = EventStore(database, SystemClock())
    exchange = kombu.Exchange(f"{SERVICE}.events", type="topic", durable=True)
    queue = kombu.Queue(
        f"kernel-relay-test-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="#", durable=True, auto_delete=False
    )
    with support.amqp_connection() as conn:
        queue.bind(conn.default_channel).declare()

    def drain(expected, timeout=20):
        received = []
        with support.amqp_connection() as conn:
            deadline = time.monotonic() + timeout
            bound = queue.bind(conn.default_channel)
            while time.monotonic() < deadline:
                message = bound.get(no_ack=True)
                if message is None:
                    if len({r["event_id"] for r in received}) >= expected:
                        break
                    time.sleep(0.05)
                    continue
                received.append(json.loads(message.body))
        return received

    yield url, store, drain
    with support.amqp_connection() as conn:
        queue.bind(conn.default_channel).delete()


def make_relay(url, route=None, batch_size=500):
    return Relay(
        name=f"{SERVICE}.events",
        database_url=url,
        amqp_uri=support.AMQP_URI,
        route=route or envelope_route(SERVICE),
        exchanges=[(f"{SERVICE}.events", "topic")],
        batch_size=batch_size,
        idle_wait=0.2,
    )


def test_committed_events_are_published_in_order_with_their_envelope(relay_setup):
    url, store, drain = relay_setup
    appended = [
        store.append(f"case-{i}", 0, [NewEvent("CaseAccepted", {"i": i}, case_id=str(i))])[0] for i in range(10)
    ]
    relay = make_relay(url)
    relay._connect_db()
    assert relay.relay_pending() == 10
    received = drain(10)
    assert [r["event_id"] for r in received] == [e.event_id for e in appended]
    assert received[0]["data"] == {"i": 0} and received[0]["stream_version"] == 1
    relay._reset()


def test_relay_killed_between_publish_and_position_update_loses_nothing(relay_setup):
    url, store, drain = relay_setup
    ids = [store.append(f"case-{i}", 0, [NewEvent("CaseAccepted", {"i": i})])[0].event_id for i in range(5)]

    class CrashAfterPublish(Relay):
        def _advance(self, position):
            raise KeyboardInterrupt("process killed after the broker confirmed")

    crashing = make_relay(url)
    crashing.__class__ = CrashAfterPublish
    crashing._connect_db()
    with pytest.raises(KeyboardInterrupt):
        crashing.relay_pending()
    crashing._reset()  # the process is gone: its connections close

    successor = make_relay(url)
    successor._connect_db()
    assert successor.position() == 0
    successor.relay_pending()
    received = drain(5)
    assert {r["event_id"] for r in received} == set(ids)
    assert len(received) == 10  # published twice, never lost
    successor._reset()


def test_broker_connection_dropped_mid_batch_all_events_arrive_after_reconnect(relay_setup):
    url, store, drain = relay_setup
    total = 400
    ids = set()
    for chunk in range(8):
        with store.database.transaction() as cur:
            from services.common.eventstore import PostgresEventStore

            writer = PostgresEventStore(cur, SystemClock())
            for i in range(total // 8):
                ids.add(writer.append(f"case-{chunk}-{i}", 0, [NewEvent("CaseAccepted", {})])[0].event_id)

    def slow_route(event):
        time.sleep(0.01)  # slow enough that the drop lands inside the run
        return envelope_route(SERVICE)(event)

    relay = make_relay(url, route=slow_route, batch_size=20)
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    support.wait_for(lambda: relay.published > 0, timeout=20, message="first batches")
    support.rabbitmqctl("close_all_connections", "-p", support.NAMESPACE, "kernel test: broker drop")
    support.wait_for(lambda: relay.published >= total, timeout=60, message="all events relayed")
    relay.stop()
    runner.join(10)
    assert relay.failures >= 1, "the connection drop was not noticed: the test did not test anything"
    received = drain(total, timeout=30)
    assert {r["event_id"] for r in received} == ids


def test_two_relays_of_one_store_publish_each_event_once_while_both_run(relay_setup):
    url, store, drain = relay_setup
    first, second = make_relay(url), make_relay(url)
    threads = [threading.Thread(target=r.run, daemon=True) for r in (first, second)]
    for t in threads:
        t.start()
    ids = {store.append(f"case-{i}", 0, [NewEvent("CaseAccepted", {})])[0].event_id for i in range(30)}
    received = drain(30)
    for r in (first, second):
        r.stop()
    for t in threads:
        t.join(10)
    assert {r["event_id"] for r in received} == ids
    assert len(received) == 30
    assert (first.published == 0) != (second.published == 0)


def test_relay_wakes_on_commit_without_a_slow_poll(relay_setup):
    url, store, drain = relay_setup
    relay = make_relay(url)
    relay.idle_wait = 30  # a poll would take 30 s: only the NOTIFY can wake it in time
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    support.wait_for(lambda: relay.is_leader, timeout=10, message="relay leading")
    time.sleep(0.3)
    started = time.monotonic()
    store.append("case-wake", 0, [NewEvent("CaseAccepted", {})])
    received = drain(1, timeout=10)
    elapsed = time.monotonic() - started
    relay.stop()
    assert len(received) == 1
    assert elapsed < 5


def test_setup_twice_succeeds(infrastructure):
    first = support.cli("setup")
    second = support.cli("setup")
    assert first.returncode == 0 and second.returncode == 0
    assert "broker topology declared" in second.stdout


def test_the_backlog_counts_what_each_relay_has_not_published_and_everything_for_one_never_run(fresh_database):
    from services.common.relay import relay_backlogs

    _, database = fresh_database
    EventStore(database, SystemClock()).append("s-1", 0, [NewEvent("A", {}), NewEvent("B", {}), NewEvent("C", {})])
    with database.transaction() as cursor:
        cursor.execute("INSERT INTO relay_positions (relay, position) VALUES ('x.events', 1), ('y.events', 3)")
        assert relay_backlogs(cursor) == {"x.events": 2, "y.events": 0}
        assert relay_backlogs(cursor, "x.events") == {"x.events": 2}
        assert relay_backlogs(cursor, "never.ran") == {"never.ran": 3}

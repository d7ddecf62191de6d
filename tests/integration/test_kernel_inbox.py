"""The inbox against the real broker: one effect per event, poison messages dead-lettered."""

import json

import kombu
import psycopg2
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.clock import SystemClock
from services.common.envelope import NewEvent
from services.common.eventstore import InMemoryEventStore
from services.common.messaging import consumer_queue_name
from tests import support
from tests.integration.kernel_services import SINK_MIGRATIONS, SOURCE, SinkService, SourceService


def envelope(event_type, stream_id="thing-1", version=1, data=None):
    store = InMemoryEventStore(SystemClock())
    for v in range(1, version):
        store.append(stream_id, v - 1, [NewEvent("Earlier", {})])
    [event] = store.append(stream_id, version - 1, [NewEvent(event_type, data or {})])
    return event.to_envelope()


def publish(*envelopes):
    with support.amqp_connection() as conn:
        producer = kombu.Producer(
            conn.default_channel, exchange=kombu.Exchange(f"{SOURCE}.events", "topic", durable=True)
        )
        for env in envelopes:
            producer.publish(
                json.dumps(env), routing_key=env["event_type"], content_type="application/json", delivery_mode=2
            )


def effects(container, where=""):
    conn = psycopg2.connect(container.config["DATABASE_URL"])
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT event_id::text, stream_version, previous_version FROM effects {where} ORDER BY stream_version"
            )
            return cur.fetchall()
    finally:
        conn.close()


def first_dead_letter(dead_queue):
    """The body of the next message in a dead-letter queue, or None."""
    with support.amqp_connection() as conn:
        message = kombu.Queue(dead_queue).bind(conn.default_channel).get(no_ack=True)
        return json.loads(message.body) if message else None


@pytest.fixture
def sink(container_factory_with_db):
    return container_factory_with_db(SinkService, SINK_MIGRATIONS, DELIVERY_LIMIT=2)


def test_events_from_another_services_store_reach_the_consumer(container_factory_with_db, sink):
    container_factory_with_db(SourceService)
    with ClusterRpcProxy({"AMQP_URI": support.AMQP_URI}) as rpc:
        ids = {rpc[SOURCE].record("thing-rpc", "ThingHappened", {"n": i}) for i in range(3)}
    support.wait_for(lambda: {row[0] for row in effects(sink)} >= ids, message="three effects")


def test_the_same_event_delivered_twice_has_one_effect(sink):
    twice = envelope("ThingHappened", stream_id="thing-dup")
    publish(twice, twice, twice)
    marker = envelope("ThingHappened", stream_id="thing-dup-marker")
    publish(marker)
    support.wait_for(lambda: any(r[0] == marker["event_id"] for r in effects(sink)), message="marker")
    assert [r[0] for r in effects(sink)].count(twice["event_id"]) == 1


def test_reordered_events_tell_the_handler_what_it_had_seen(sink):
    later, earlier = envelope("ThingHappened", "thing-order", 3), envelope("ThingHappened", "thing-order", 2)
    later["stream_id"] = earlier["stream_id"] = "thing-order"
    publish(later)
    support.wait_for(lambda: effects(sink), message="first effect")
    publish(earlier)
    support.wait_for(lambda: len(effects(sink)) == 2, message="second effect")
    by_version = {version: previous for _, version, previous in effects(sink)}
    assert by_version == {3: 0, 2: 3}  # the late version-2 event knows version 3 was applied


def test_a_handler_that_always_raises_dead_letters_the_message_and_others_keep_flowing(sink):
    poison = envelope("ThingBroke", stream_id="thing-poison")
    publish(poison)
    fine = [envelope("ThingHappened", stream_id=f"thing-fine-{i}") for i in range(5)]
    publish(*fine)
    support.wait_for(lambda: len(effects(sink)) == 5, message="the healthy events applied")
    dead_queue = consumer_queue_name(SOURCE, "ThingBroke", "kernelsink", "on_thing_broke") + ".dead"
    dead = support.wait_for(
        lambda: first_dead_letter(dead_queue), timeout=30, message="the poison message in the dead-letter queue"
    )
    assert dead["event_id"] == poison["event_id"]


def test_an_invalid_envelope_is_dead_lettered_not_applied(sink):
    broken = envelope("ThingHappened", stream_id="thing-broken")
    del broken["event_id"]
    publish(broken)
    dead_queue = consumer_queue_name(SOURCE, "ThingHappened", "kernelsink", "on_thing_happened") + ".dead"
    dead = support.wait_for(
        lambda: first_dead_letter(dead_queue), timeout=30, message="the invalid envelope dead-lettered"
    )
    assert dead["stream_id"] == "thing-broken"
    assert effects(sink, "WHERE stream_id = 'thing-broken'") == []

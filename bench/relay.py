"""Relay: events per second from the store to the broker with confirms, against raw kombu without.

The store is filled with realistic intake history by bulk SQL; `Relay.relay_pending()`
publishes all of it (publisher confirms, position advanced after confirms). The
baseline publishes the same envelopes, already in memory, with kombu: persistent,
no confirms, i.e. the broker's ceiling for this message size. Both publish to the same
topic exchange, bound to one quorum queue like the services' consumer queues.
"""

import time

import kombu

from services.common.clock import SystemClock
from services.common.db import Database
from services.common.eventstore import EventStore
from services.common.relay import Relay, envelope_route, events_exchange
from services.common.schema import COMMON_MIGRATIONS

from . import history, profile
from .common import Row, amqp_uri, execute, fresh_database, fresh_vhost, median_rate

SERVICE = "benchrelay"
QUEUE = "bench.relay.sink"


def _declare_sink(connection):
    exchange = kombu.Exchange(events_exchange(SERVICE), type="topic", durable=True)
    queue = kombu.Queue(
        QUEUE, exchange=exchange, routing_key="#", durable=True, queue_arguments={"x-queue-type": "quorum"}
    )
    channel = connection.channel()
    queue.bind(channel).declare()
    return exchange, queue, channel


def _purge(connection):
    _, queue, channel = _declare_sink(connection)
    queue.bind(channel).purge()


def ours(url, relay_name, expected):
    relay = Relay(relay_name, url, amqp_uri(), envelope_route(SERVICE), [(events_exchange(SERVICE), "topic")])
    relay._connect_db()
    try:
        start = time.perf_counter()
        published = relay.relay_pending()
        seconds = time.perf_counter() - start
    finally:
        relay._reset()
    if published != expected:
        raise AssertionError(f"relay published {published} of {expected} events")
    return published, seconds


def raw(envelopes):
    with kombu.Connection(amqp_uri()) as connection:
        exchange, _, channel = _declare_sink(connection)
        producer = kombu.Producer(channel, exchange=exchange, serializer="json")
        start = time.perf_counter()
        for envelope in envelopes:
            producer.publish(
                envelope,
                routing_key=envelope["event_type"],
                delivery_mode=2,
                message_id=envelope["event_id"],
                type=envelope["event_type"],
                headers={"schema_version": envelope["schema_version"]},
            )
        seconds = time.perf_counter() - start
    return len(envelopes), seconds


def run(sizes, log=print):
    fresh_vhost()
    url = fresh_database("relay", COMMON_MIGRATIONS)
    history.fill({"intake": url}, sizes["relay_cases"])
    count = execute(url, "SELECT count(*) FROM events")[0][0]
    store = EventStore(Database(url, max_connections=1), SystemClock())
    envelopes = [e.to_envelope() for e in store.iter_all()]
    store.database.close()
    ours_rounds, raw_rounds = [], []
    with kombu.Connection(amqp_uri()) as connection:
        for round_number in range(sizes["rounds"]):
            _purge(connection)
            ours_rounds.append(ours(url, f"bench-{round_number}", count))
            _purge(connection)
            raw_rounds.append(raw(envelopes))
        _purge(connection)
        _, lines = profile.profile_call(ours, url, "bench-profile", count)
        _purge(connection)
    ours_rate, raw_rate = median_rate(ours_rounds), median_rate(raw_rounds)
    log(f"relay: ours {ours_rate:.0f}/s raw kombu {raw_rate:.0f}/s ({count} events)")
    notes = ["Profile of the relay publishing the same history (cProfile):", "", *lines, ""]
    return [
        Row(
            "relay: store → broker, publisher confirms",
            ours_rate,
            "events/s",
            "raw kombu publish, persistent, no confirms",
            raw_rate,
            "≥ 0.5×",
            target_ratio=0.5,
            note=f"{count} events, batches of 500, one quorum queue bound",
        )
    ], notes

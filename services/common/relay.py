"""The relay (transactional outbox): publishes committed events from the store to the bus.

It reads the global order after its own position, publishes a batch with publisher
confirms, and only then moves its position: a crash anywhere re-publishes, never loses
(consumers deduplicate by `event_id`). It wakes on the store's NOTIFY at commit, with a
short timeout as a safety net, and one instance per relay name works at a time (a
PostgreSQL advisory lock held by its connection; if that instance dies, another takes over).
"""

import dataclasses
import logging
import select
import time

import amqp
import kombu
import psycopg2
import psycopg2.extras

from .envelope import dumps
from .eventstore import _COLUMNS, NOTIFY_CHANNEL, row_to_event

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Publication:
    exchange: str
    routing_key: str
    body: dict
    message_id: str | None = None
    type: str | None = None
    headers: dict | None = None
    mandatory: bool = False


def events_exchange(service):
    return f"{service}.events"


def envelope_route(service):
    """The default route: every event, as its envelope, to `<service>.events`."""
    exchange = events_exchange(service)

    def route(event):
        return [
            Publication(
                exchange=exchange,
                routing_key=event.event_type,
                body=event.to_envelope(),
                message_id=event.event_id,
                type=event.event_type,
                headers={"schema_version": event.schema_version},
            )
        ]

    return route


class PublishFailed(Exception):
    pass


class ConfirmingPublisher:
    """Publishes batches on one channel in confirm mode and waits for every confirm."""

    def __init__(self, amqp_uri, exchanges, confirm_timeout=10.0):
        self.amqp_uri = amqp_uri
        self.exchanges = exchanges
        self.confirm_timeout = confirm_timeout
        self.connection = None

    def connect(self):
        self.connection = kombu.Connection(self.amqp_uri, heartbeat=0)
        self.connection.ensure_connection(max_retries=1)
        self.channel = self.connection.channel()
        self.channel.confirm_select()
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)
        self.channel.events["basic_return"].add(self._on_return)
        for name, kind in self.exchanges:
            self.channel.exchange_declare(name, kind, durable=True, auto_delete=False)
        self._next_tag = 1
        self._acked_upto = 0
        self._acked = set()
        self._nacked = set()
        self._returned = set()

    def close(self):
        if self.connection is not None:
            try:
                self.connection.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self.connection = None

    def _on_ack(self, delivery_tag, multiple):
        if multiple:
            self._acked_upto = max(self._acked_upto, delivery_tag)
        else:
            self._acked.add(delivery_tag)

    def _on_nack(self, delivery_tag, multiple):
        self._nacked.add(delivery_tag)

    def _on_return(self, exc, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id"))

    def _is_acked(self, tag):
        return tag <= self._acked_upto or tag in self._acked

    def publish(self, publications):
        """Publishes in order; returns how many leading publications the broker confirmed
        (and, where mandatory, routed)."""
        if self.connection is None:
            self.connect()
        tags = []
        for pub in publications:
            properties = {"content_type": "application/json", "delivery_mode": 2}
            if pub.message_id:
                properties["message_id"] = str(pub.message_id)
            if pub.type:
                properties["type"] = pub.type
            if pub.headers:
                properties["application_headers"] = pub.headers
            message = amqp.Message(dumps(pub.body).encode("utf-8"), **properties)
            self.channel.basic_publish(
                message, exchange=pub.exchange, routing_key=pub.routing_key, mandatory=pub.mandatory
            )
            tags.append(self._next_tag)
            self._next_tag += 1
        deadline = time.monotonic() + self.confirm_timeout
        while tags and not all(self._is_acked(t) or t in self._nacked for t in tags):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishFailed(f"no publisher confirm within {self.confirm_timeout:.1f}s")
            try:
                self.connection.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        confirmed = 0
        for tag, pub in zip(tags, publications, strict=True):
            if tag in self._nacked or (pub.mandatory and str(pub.message_id) in self._returned):
                break
            confirmed += 1
        self._acked = {t for t in self._acked if t > self._acked_upto}
        return confirmed


def relay_backlogs(cursor, relay=None):
    """`{relay: events committed and not yet published}`: every relay's, or one relay's (a
    relay that never ran has published nothing). The one reading of the backlog: the relay,
    its service's `/metrics` and `tiaojie status` use it."""
    names = [relay] if relay is not None else None
    cursor.execute(
        "SELECT n.relay AS relay, COALESCE((SELECT MAX(position) FROM events), 0) - COALESCE(r.position, 0) AS backlog"
        " FROM (SELECT relay FROM relay_positions WHERE %(names)s IS NULL"
        "       UNION SELECT unnest(%(names)s::text[])) AS n (relay)"
        " LEFT JOIN relay_positions r ON r.relay = n.relay ORDER BY n.relay",
        {"names": names},
    )
    rows = [(row["relay"], row["backlog"]) if isinstance(row, dict) else row for row in cursor.fetchall()]
    return {name: int(n) for name, n in rows}


class Relay:
    def __init__(
        self,
        name,
        database_url,
        amqp_uri,
        route,
        exchanges,
        batch_size=500,
        idle_wait=1.0,
    ):
        self.name = name
        self.database_url = database_url
        self.route = route
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.publisher = ConfirmingPublisher(amqp_uri, exchanges)
        self.conn = None
        self.is_leader = False
        self.published = 0
        self.failures = 0
        self._stopping = False

    # -- database side ------------------------------------------------------------
    def _connect_db(self):
        self.conn = psycopg2.connect(self.database_url)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
            cur.execute(
                "INSERT INTO relay_positions (relay, position) VALUES (%s, 0) ON CONFLICT DO NOTHING",
                (self.name,),
            )

    def _try_lead(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"tiaojie:relay:{self.name}",))
            self.is_leader = cur.fetchone()[0]
        return self.is_leader

    def position(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT position FROM relay_positions WHERE relay = %s", (self.name,))
            return cur.fetchone()[0]

    def _pending(self, after):
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s",
                (after, self.batch_size),
            )
            return [row_to_event(r) for r in cur.fetchall()]

    def _advance(self, position):
        with self.conn.cursor() as cur:
            cur.execute(
                "UPDATE relay_positions SET position = %s, updated_at = now() WHERE relay = %s",
                (position, self.name),
            )

    def _wait_for_commit(self, timeout):
        if select.select([self.conn], [], [], timeout)[0]:
            self.conn.poll()
            self.conn.notifies.clear()

    # -- the loop -----------------------------------------------------------------
    def relay_pending(self):
        """Publishes everything committed so far; returns the number of events published."""
        total = 0
        while True:
            position = self.position()
            events = self._pending(position)
            if not events:
                return total
            publications, owners = [], []
            for event in events:
                for pub in self.route(event):
                    publications.append(pub)
                    owners.append(event.position)
            confirmed = self.publisher.publish(publications) if publications else 0
            if confirmed == len(publications):
                new_position = events[-1].position
            else:
                # Advance only past events whose every publication was confirmed.
                failed_owner = owners[confirmed]
                new_position = max([e.position for e in events if e.position < failed_owner], default=position)
            if new_position > position:
                self._advance(new_position)
                total += sum(1 for e in events if e.position <= new_position)
                self.published += sum(1 for e in events if e.position <= new_position)
            if confirmed < len(publications):
                raise PublishFailed("a publication was refused or not routed")

    def run(self, should_stop=lambda: False):
        backoff = 0.2
        while not should_stop() and not self._stopping:
            try:
                if self.conn is None or self.conn.closed:
                    self._connect_db()
                if not self.is_leader and not self._try_lead():
                    time.sleep(self.idle_wait)
                    continue
                self.relay_pending()
                backoff = 0.2
                self._wait_for_commit(self.idle_wait)
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any fault
                self.failures += 1
                log.warning("relay %s: %s; retrying in %.1fs", self.name, exc, backoff)
                self._reset()
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        self._reset()

    def stop(self):
        self._stopping = True

    def _reset(self):
        self.publisher.close()
        self.is_leader = False
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
            self.conn = None

    def backlog(self):
        """Events committed and not yet published (read with a fresh connection)."""
        conn = psycopg2.connect(self.database_url)
        try:
            with conn.cursor() as cur:
                return relay_backlogs(cur, self.name)[self.name]
        finally:
            conn.close()

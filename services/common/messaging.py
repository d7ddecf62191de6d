"""Broker topology and the inbox entrypoint for consuming other services' events.

Every consumer queue is a quorum queue with a delivery limit and a dead-letter exchange:
a handler that raises returns its message to the queue (nameko would ack it and lose
it), and after `x-delivery-limit` failed deliveries the broker moves it to
`<queue>.dead`, where an operator can inspect it, while the others keep flowing.
"""

import logging
import re

import kombu
from amqp.exceptions import AMQPError
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.messaging import Consumer, QueueConsumer

from .relay import events_exchange

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "tiaojie.dead-letter"


def event_exchange(service):
    return kombu.Exchange(events_exchange(service), type="topic", durable=True, auto_delete=False)


def dead_letter_exchange():
    return kombu.Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True, auto_delete=False)


def consumer_queue_name(source_service, event_type, service, method):
    return f"evt-{source_service}-{event_type}--{service}.{method}"


def consumer_queue(source_service, event_type, service, method, delivery_limit):
    name = consumer_queue_name(source_service, event_type, service, method)
    return kombu.Queue(
        name,
        exchange=event_exchange(source_service),
        routing_key=event_type,
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        },
    )


def dead_letter_queue(queue_name):
    return kombu.Queue(
        f"{queue_name}.dead",
        exchange=dead_letter_exchange(),
        routing_key=queue_name,
        durable=True,
        auto_delete=False,
        queue_arguments={"x-queue-type": "quorum"},
    )


def declare_queue_with_dead_letters(channel, queue):
    dead_letter_queue(queue.name).bind(channel).declare()
    queue.bind(channel).declare()


# What settling a message on a connection the broker has just dropped raises: a socket
# error (ConnectionResetError, BrokenPipeError) or an AMQP error of the dead channel.
LOST_CONNECTION_ERRORS = (OSError, AMQPError)


def settle(action, message, what):
    """`action()` (an ack, requeue or reject of `message`), unless the connection is gone.

    nameko settles a message in the worker's own greenthread and guards only against
    amqp's ConnectionError: a broker restart that resets the socket between the handler's
    commit and its ack raised ConnectionResetError there, which killed the whole service
    container. A message that cannot be settled is unacknowledged, so the broker delivers
    it again and the inbox makes that delivery a no-op.
    """
    if not message.channel.connection:
        return
    try:
        action()
    except LOST_CONNECTION_ERRORS as exc:
        log.warning("could not %s a message, the broker will deliver it again: %s", what, type(exc).__name__)


class SettlingQueueConsumer(QueueConsumer):
    """nameko's queue consumer, whose acks and requeues survive a connection the broker dropped."""

    def ack_message(self, message):
        settle(message.ack, message, "acknowledge")

    def requeue_message(self, message):
        settle(message.requeue, message, "requeue")


class DeadLetteringQueueConsumer(SettlingQueueConsumer):
    """nameko's queue consumer, except that a body it cannot decode is dead-lettered
    (kombu's default acknowledges it, and the message would be gone without a trace)."""

    def on_decode_error(self, message, exc):
        log.error("undecodable message dead-lettered: %s (content type %r)", exc, message.content_type)
        message.reject(requeue=False)


class InboxEventHandler(EventHandler):
    """`@inbox_handler(CaseAccepted)`: a reliable, retrying event consumer of one event type
    (a class of services/events.py; `@inbox_handler("intake", "CaseAccepted")` also works).

    The method receives the envelope dict; it should record its effects through
    `ServiceStore.consume`, which makes a redelivered event a no-op.
    """

    queue_consumer = DeadLetteringQueueConsumer()

    def __init__(self, source_service, event_type=None, **kwargs):
        if event_type is None:  # one argument: the event type's class
            source_service, event_type = source_service.service, source_service.name
        super().__init__(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=True,
            **kwargs,
        )

    def setup(self):
        self.queue = consumer_queue(
            self.source_service,
            self.event_type,
            self.container.service_name,
            self.method_name,
            int(self.container.config.get("DELIVERY_LIMIT", 5)),
        )
        with kombu.Connection(self.container.config["AMQP_URI"]) as conn:
            declare_queue_with_dead_letters(conn.default_channel, self.queue)
        Consumer.setup(self)


inbox_handler = InboxEventHandler.decorator


def add_inbox_handlers(service_class, consumed_events, apply):
    """Gives `service_class` one inbox handler per `(source, event_type)` of `consumed_events`
    (`{source: (event_type, ...)}`), each calling `apply(self, source, envelope)`, named
    `on_<source>_<event_type in snake case>`: for a service that treats every event alike."""
    for source, event_types in consumed_events.items():
        for event_type in event_types:

            def handle(self, envelope, source=source):
                apply(self, source, envelope)

            handle.__name__ = f"on_{source}_{re.sub(r'(?<!^)(?=[A-Z])', '_', event_type).lower()}"
            handle.__doc__ = f"Consumes {source}'s {event_type}."
            setattr(service_class, handle.__name__, inbox_handler(source, event_type)(handle))


def inbox_handlers(service_class):
    """The `(source_service, event_type, method_name)` of every inbox handler of a service class."""
    found = []
    for attr in dir(service_class):
        method = getattr(service_class, attr, None)
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) or ():
            if isinstance(entrypoint, InboxEventHandler):
                found.append((entrypoint.source_service, entrypoint.event_type, attr))
    return found


def declare_service_topology(channel, service_name, service_class, delivery_limit):
    """Declares the service's events exchange and every consumer queue it will read.

    Run by `tiaojie setup`, so that events published before a consumer first starts
    wait in its queue instead of going nowhere.
    """
    event_exchange(service_name).bind(channel).declare()
    dead_letter_exchange().bind(channel).declare()
    queues = []
    for source, event_type, method in inbox_handlers(service_class):
        event_exchange(source).bind(channel).declare()
        queue = consumer_queue(source, event_type, service_name, method, delivery_limit)
        declare_queue_with_dead_letters(channel, queue)
        queues.append(queue.name)
    return queues

"""`@reply_consumer`: the nameko entrypoint that reads the institute's replies.

The replies come from another organization, on `arbitration.replies.link`, not from a
nameko event exchange. The method gets `(kind, body)`, kind being the routing key.

- It returns normally: the message is acknowledged.
- It raises one of `rejected` (the reply breaks the contract or cannot apply): the
  message is rejected without requeue, so the broker dead-letters it at once to
  `arbitration.replies.link.dead`; the queue keeps flowing.
- It raises anything else (e.g. the database is down): the message is requeued and
  retried; after `x-delivery-limit` attempts the broker dead-letters it.
- A body that is not JSON (or not declared as JSON) is rejected the same way before any
  worker runs: kombu cannot decode it.
"""

import functools
import logging

import kombu
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from services.common.messaging import SettlingQueueConsumer, declare_queue_with_dead_letters, settle

from .topology import replies_queue

log = logging.getLogger(__name__)


class ReplyQueueConsumer(SettlingQueueConsumer):
    """nameko's queue consumer, with its own connection, that dead-letters undecodable bodies."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for consumer in consumers:
            consumer.on_decode_error = self._reject_undecodable
        return consumers

    @staticmethod
    def _reject_undecodable(message, exc):
        log.warning(
            "dead-lettered a reply that is not JSON (routing key %s, content type %s): %s",
            message.delivery_info.get("routing_key"),
            message.content_type,
            type(exc).__name__,
        )
        message.reject(requeue=False)


class ReplyConsumer(Consumer):
    queue_consumer = ReplyQueueConsumer()

    def __init__(self, rejected=(), **kwargs):
        self.rejected = tuple(rejected)
        super().__init__(queue=None, requeue_on_error=True, expected_exceptions=self.rejected, **kwargs)

    def setup(self):
        self.queue = replies_queue(int(self.container.config.get("DELIVERY_LIMIT", 5)))
        with kombu.Connection(self.container.config["AMQP_URI"]) as conn:
            declare_queue_with_dead_letters(conn.default_channel, self.queue)
        super().setup()

    def handle_message(self, body, message):
        kind = message.delivery_info.get("routing_key")
        try:
            self.container.spawn_worker(
                self,
                (kind, body),
                {},
                context_data=self.unpack_message_headers(message),
                handle_result=functools.partial(self.handle_result, message),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is not None and issubclass(exc_info[0], self.rejected):
            log.warning(
                "dead-lettered an invalid reply (routing key %s): %s",
                message.delivery_info.get("routing_key"),
                exc_info[1],
            )
            settle(lambda: message.reject(requeue=False), message, "dead-letter")
            return
        super().handle_message_processed(message, result, exc_info)


reply_consumer = ReplyConsumer.decorator

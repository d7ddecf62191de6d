"""Settling a message (ack, requeue, dead-letter) on a connection the broker just dropped.

A broker restart can reset the socket between a handler's commit and its ack; nameko
guards that ack only against amqp's own ConnectionError, so the socket's
ConnectionResetError killed the service's container (seen in the broker-restart fault run:
metrics stopped answering). The message stays unacknowledged and the broker delivers it
again, which the inbox makes a no-op: losing the ack must not lose the service.
"""

import pytest
from amqp.exceptions import RecoverableConnectionError

from services.arbitration_link.replies import ReplyQueueConsumer
from services.common.messaging import DeadLetteringQueueConsumer


class Channel:
    connection = object()  # alive as far as the channel knows


class Message:
    def __init__(self, error):
        self.channel = Channel()
        self.error = error
        self.settled = []

    def _fail(self, what):
        self.settled.append(what)
        raise self.error

    def ack(self):
        self._fail("ack")

    def requeue(self):
        self._fail("requeue")


@pytest.mark.parametrize("consumer_class", [DeadLetteringQueueConsumer, ReplyQueueConsumer])
@pytest.mark.parametrize(
    "error", [ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(32), RecoverableConnectionError()]
)
def test_an_ack_or_requeue_on_a_dropped_connection_does_not_raise(consumer_class, error):
    consumer = consumer_class()
    message = Message(error)

    consumer.ack_message(message)
    consumer.requeue_message(message)

    assert message.settled == ["ack", "requeue"]  # both were tried, neither raised


def test_a_message_of_a_closed_channel_is_left_to_the_broker():
    message = Message(AssertionError("must not be called"))
    message.channel.connection = None

    DeadLetteringQueueConsumer().ack_message(message)

    assert message.settled == []


def test_other_errors_still_surface():
    with pytest.raises(ValueError):
        DeadLetteringQueueConsumer().ack_message(Message(ValueError("a bug, not a lost connection")))

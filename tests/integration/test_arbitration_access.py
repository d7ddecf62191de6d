"""The institute's broker user, as the broker itself enforces it: read referrals, write replies, nothing else."""

import amqp
import kombu
import pytest
from amqp.exceptions import AccessRefused

from services.arbitration_link import contract, topology
from services.arbitration_link.court import default_uri
from tests import support


def as_institute():
    return kombu.Connection(default_uri(support.test_env()))


@pytest.mark.parametrize(
    "queue",
    [
        "arbitration.replies.link",
        "arbitration.replies.link.dead",
        "arbitration.referrals.dead",
        "evt-intake-CaseNotAccepted--arbitration_link.on_case_not_accepted",
    ],
)
def test_the_institute_cannot_read_any_other_queue(infrastructure, queue):
    with as_institute() as conn, pytest.raises(AccessRefused):
        conn.channel().basic_get(queue)


@pytest.mark.parametrize("exchange", [contract.OUTBOUND_EXCHANGE, "arbitration_link.events", "intake.events", ""])
def test_the_institute_cannot_publish_anywhere_but_the_replies_exchange(infrastructure, exchange):
    with as_institute() as conn:
        with pytest.raises(AccessRefused):
            conn.channel().basic_publish_confirm(amqp.Message(b"{}"), exchange=exchange, routing_key="referral")


def test_the_institute_can_publish_replies_but_declare_nothing(infrastructure):
    with as_institute() as conn:
        # Confirmed, and bound to no queue: it reaches the exchange and goes nowhere.
        conn.channel().basic_publish_confirm(
            amqp.Message(b"{}"), exchange=contract.REPLIES_EXCHANGE, routing_key="nothing.bound"
        )
        with pytest.raises(AccessRefused):
            conn.channel().queue_declare("institute-own-queue", durable=True)


def test_setting_up_the_institute_user_again_keeps_it_working(infrastructure):
    assert topology.declare_users(support.test_env()) is True
    assert topology.declare_users(support.test_env()) is True
    with as_institute() as conn:
        conn.ensure_connection(max_retries=1)

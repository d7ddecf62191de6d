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


def _authenticates(user, password):
    return support.rabbitmqctl("authenticate_user", user, password, check=False).returncode == 0


def test_setup_in_another_vhost_does_not_change_the_password_the_first_one_uses(infrastructure, capsys):
    """A broker user belongs to the node: setup for vhost B with another password must not
    lock the institute out of vhost A. It says so; B sets a user of its own."""
    user, other_vhost = f"{support.NAMESPACE}_institute", f"{support.NAMESPACE}_institute_b"
    first = support.test_env(TIAOJIE_ARBITRATION_USER=user, TIAOJIE_ARBITRATION_PASSWORD="first-secret")
    second = support.test_env(
        TIAOJIE_ARBITRATION_USER=user,
        TIAOJIE_ARBITRATION_PASSWORD="second-secret",
        AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{other_vhost}",
    )
    support.rabbitmqctl("add_vhost", other_vhost)
    try:
        assert topology.declare_users(first) is True
        assert topology.declare_users(second) is True
        assert "also serves the vhosts" in capsys.readouterr().err
        assert _authenticates(user, "first-secret") and not _authenticates(user, "second-secret")
        with kombu.Connection(default_uri(first)) as conn:
            conn.ensure_connection(max_retries=1)

        # With a user of its own, the second vhost gets its own password.
        own = dict(second, TIAOJIE_ARBITRATION_USER=f"{user}_b")
        assert topology.declare_users(own) is True
        assert _authenticates(f"{user}_b", "second-secret") and _authenticates(user, "first-secret")
        with kombu.Connection(default_uri(own)) as conn:
            conn.ensure_connection(max_retries=1)

        # A user that serves only this vhost still has its password changed by setup.
        assert topology.declare_users(dict(first, TIAOJIE_ARBITRATION_PASSWORD="rotated")) is True
        assert _authenticates(user, "first-secret")  # it also serves the second vhost
        support.rabbitmqctl("clear_permissions", "-p", other_vhost, user)
        assert topology.declare_users(dict(first, TIAOJIE_ARBITRATION_PASSWORD="rotated")) is True
        assert _authenticates(user, "rotated")
    finally:
        support.rabbitmqctl("delete_vhost", other_vhost, check=False)
        for name in (user, f"{user}_b"):
            support.rabbitmqctl("delete_user", name, check=False)

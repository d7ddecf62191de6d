"""The broker definitions of the deployment, loaded into the real RabbitMQ.

deploy/rabbitmq/definitions.json is rendered with passwords (as the `rabbitmq-definitions`
container does) and imported into a vhost of this test's own, its users renamed so that
nothing outside the test changes. Then the services' user sets up and runs every
service, and the arbitration institute's user reads referrals and writes replies and is
refused everything else.
"""

import importlib.util
import json
import os
import secrets
import signal
import subprocess

import amqp
import kombu
import pytest

from services import registry
from tests import support

DEFINITIONS = support.ROOT / "deploy" / "rabbitmq" / "definitions.json"
VHOST = f"{support.NAMESPACE}_deploy"
USER_PREFIX = f"{support.NAMESPACE}_deploy_"


def renderer():
    spec = importlib.util.spec_from_file_location(
        "render_definitions", support.ROOT / "deploy/rabbitmq/render_definitions.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_test_vhost(definitions):
    """The definitions moved into this test's vhost, with namespaced user names."""
    moved = {key: value for key, value in definitions.items() if key not in ("vhosts", "users", "permissions")}
    moved["vhosts"] = [{"name": VHOST}]
    moved["users"] = [dict(user, name=USER_PREFIX + user["name"]) for user in definitions["users"]]
    moved["permissions"] = [dict(p, user=USER_PREFIX + p["user"], vhost=VHOST) for p in definitions["permissions"]]
    for kind in ("policies", "exchanges", "queues", "bindings"):
        moved[kind] = [dict(item, vhost=VHOST) for item in definitions.get(kind, [])]
    return moved


class Broker:
    def __init__(self, passwords):
        self.passwords = passwords

    def uri(self, user, password=None):
        return f"amqp://{USER_PREFIX}{user}:{password or self.passwords[user]}@127.0.0.1:5672/{VHOST}"

    def channel_of(self, user):
        connection = amqp.Connection(
            host="127.0.0.1:5672", userid=USER_PREFIX + user, password=self.passwords[user], virtual_host=VHOST
        )
        connection.connect()
        return connection


def rabbitmqctl(*args, input=None, timeout=120):
    """`rabbitmqctl`, killed with its Erlang child if it hangs (a busy broker can be slow to
    add or delete a vhost, and an orphaned CLI node holds one of its few distribution ports)."""
    process = subprocess.Popen(
        ["rabbitmqctl", "-q", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"rabbitmqctl {args[0]} did not answer in {timeout}s") from None
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def _remove(users):
    if VHOST in rabbitmqctl("list_vhosts", "name").stdout.split():
        rabbitmqctl("delete_vhost", VHOST)
    for user in users:
        rabbitmqctl("delete_user", USER_PREFIX + user)


@pytest.fixture(scope="module")
def broker(infrastructure):
    render = renderer()
    definitions = json.loads(DEFINITIONS.read_text())
    users = [u["name"] for u in definitions["users"]]
    environment = {variable: secrets.token_hex(12) for variable in render.PASSWORD_VARIABLES.values()}
    passwords = {user: environment[render.PASSWORD_VARIABLES[user]] for user in users}
    _remove(users)
    imported = rabbitmqctl(
        "import_definitions",
        "--format",
        "json",
        input=json.dumps(in_test_vhost(render.render(definitions, environment))),
    )
    assert imported.returncode == 0, imported.stderr
    yield Broker(passwords)
    _remove(users)


def refused(connection, operation):
    """Whether the broker refuses `operation(channel)` for lack of permission."""
    channel = connection.channel()
    try:
        operation(channel)
    except amqp.exceptions.AccessRefused:
        return True
    channel.close()
    return False


def publish(exchange, routing_key):
    def operation(channel):
        channel.basic_publish(amqp.Message("{}", content_type="application/json"), exchange, routing_key)
        # A refused publish closes the channel asynchronously: a round trip brings it back.
        channel.basic_qos(0, 1, False)

    return operation


def test_every_user_logs_in_with_the_rendered_password_only(broker):
    for user in broker.passwords:
        with kombu.Connection(broker.uri(user)) as connection:
            connection.ensure_connection(max_retries=1)
        with pytest.raises(amqp.exceptions.AccessRefused):
            with kombu.Connection(broker.uri(user, password="wrong")) as connection:
                connection.ensure_connection(max_retries=1)


def test_the_services_user_sets_up_and_runs_every_service_under_the_dead_letter_policies(broker):
    uri = broker.uri("tiaojie")
    support.cli("setup", env=support.test_env(AMQP_URI=uri))
    names = registry.available_services()
    with support.ServiceProcess(*names, env={"AMQP_URI": uri}) as running:
        for name in names:
            status, _, _ = support.http("GET", running.url(name) + "/metrics")
            assert status == 200, name
        consumers = rabbitmqctl("list_consumers", "-p", VHOST, "queue_name").stdout.split()
        services_user = broker.channel_of("tiaojie")
        try:
            assert not refused(services_user, publish("intake.events", "NothingListens"))
        finally:
            services_user.close()
    queues = dict(
        line.split("\t")[:2] if "\t" in line else (line, "")
        for line in rabbitmqctl("list_queues", "-p", VHOST, "name", "policy").stdout.splitlines()
    )
    event_queues = [q for q in queues if q.startswith("evt-") and not q.endswith(".dead")]
    assert event_queues, "setup declared no consumer queue"
    assert set(event_queues) <= set(consumers), "a consumer queue has no consumer"
    for queue in event_queues:
        assert queues[queue] == "event-consumers-dead-letter", queue
    for queue in [q for q in queues if q.endswith(".dead")]:
        assert queues[queue] == "", f"{queue} is under policy {queues[queue]}"


def test_the_institute_reads_referrals_and_writes_replies_and_nothing_else(broker):
    services = broker.channel_of("tiaojie")
    institute = broker.channel_of("arbitration")
    try:
        assert not refused(services, publish("arbitration.outbound", "referral"))

        def take_referral(channel):
            message = channel.basic_get("arbitration.referrals")
            assert message is not None, "the referral did not reach arbitration.referrals"
            channel.basic_ack(message.delivery_tag)

        assert not refused(institute, take_referral)
        assert not refused(institute, publish("arbitration.replies", "referral.docketed"))

        assert refused(institute, lambda ch: ch.basic_get("arbitration.replies.link"))
        assert refused(institute, lambda ch: ch.basic_get("arbitration.referrals.dead"))
        assert refused(institute, publish("arbitration.outbound", "referral"))
        assert refused(institute, publish("intake.events", "CaseAccepted"))
        assert refused(institute, publish("", "arbitration.referrals"))
        assert refused(
            institute,
            lambda ch: ch.queue_declare("arbitration.referrals", durable=True, arguments={"x-queue-type": "quorum"}),
        )
        assert refused(institute, lambda ch: ch.queue_declare("institute.own", auto_delete=True))
        assert refused(institute, lambda ch: ch.exchange_declare("arbitration.replies", "topic", durable=True))
    finally:
        services.close()
        institute.close()

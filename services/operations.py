"""`tiaojie setup` and `tiaojie token issue`: idempotent preparation of the stores and broker."""

import logging
import sys

import kombu
import psycopg2
import psycopg2.extras

from services import registry
from services.common import auth, privacy
from services.common.broker import file_handle_problem
from services.common.centers import centers_by_id
from services.common.config import SERVICES, amqp_uri, database_url, delivery_limit, environment
from services.common.db import ensure_database, migrate
from services.common.keystore import KEY_MIGRATIONS, keys_database_url
from services.common.messaging import declare_service_topology
from services.common.schema import COMMON_MIGRATIONS

log = logging.getLogger(__name__)


def migrate_service(name, env=None):
    url = database_url(name, env)
    ensure_database(url)
    migrate(url, COMMON_MIGRATIONS + registry.service_migrations(name))
    return url


class BrokerCannotHoldQueues(Exception):
    """The broker's file handles cannot hold the quorum queues tiaojie would declare."""


def declare_broker(env=None):
    env = environment(env)
    problem = file_handle_problem(amqp_uri(env), registry.quorum_queues())
    if problem:
        raise BrokerCannotHoldQueues(problem)
    with kombu.Connection(amqp_uri(env), connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
        channel = conn.channel()
        for name in registry.available_services():
            declare_service_topology(channel, name, registry.service_class(name), delivery_limit(env))
            topology = registry.service_topology(name)
            if topology is not None and hasattr(topology, "declare"):
                topology.declare(channel, env)
    for name in registry.available_services():
        topology = registry.service_topology(name)
        if topology is not None and hasattr(topology, "declare_users"):
            topology.declare_users(env)


def prepare_key_store(env=None):
    """The key store's database and the master key file (docs/PRIVACY.md)."""
    env = environment(env)
    url = keys_database_url(env)
    ensure_database(url)
    migrate(url, KEY_MIGRATIONS)
    return privacy.ensure_master_key_file(env)


def setup(skip_broker=False, env=None):
    try:
        for name in SERVICES:
            migrate_service(name, env)
            print(f"database ready: {name}")
        prepare_key_store(env)
        print("key store ready")
    except psycopg2.OperationalError as exc:
        print(
            f"cannot reach PostgreSQL ({exc.__class__.__name__}): is it running? "
            "Start it (e.g. `pg_ctlcluster 15 main start`) or `docker compose up postgres`.",
            file=sys.stderr,
        )
        return 1
    if not skip_broker:
        try:
            declare_broker(env)
        except BrokerCannotHoldQueues as exc:
            print(f"cannot declare the broker topology: {exc}", file=sys.stderr)
            return 1
        except (OSError, kombu.exceptions.OperationalError) as exc:
            print(
                f"cannot reach RabbitMQ at {amqp_uri(env)} ({exc}): is it running? "
                "Start it (e.g. `rabbitmq-server -detached`) or `docker compose up rabbitmq`.",
                file=sys.stderr,
            )
            return 1
        print("broker topology declared")
    return 0


def issue_token(center=None, district=False, admin=False, env=None):
    if center is not None and center not in centers_by_id():
        print(f"unknown center: {center}", file=sys.stderr)
        return 2
    role = "center" if center else "district" if district else "admin"
    print(create_token(role, center, env))
    return 0


def create_token(role, center=None, env=None):
    """A new token of `role` ("center", "district" or "admin"), stored in every service's database.

    It is also recorded in the console's store (`MachineTokenIssued`), so that
    `tiaojie token revoke PREFIX` finds it and every service learns of its revocation.
    """
    from services.console.cli import record_machine_token

    token = auth.new_token()
    for name in SERVICES:
        url = migrate_service(name, env)
        conn = psycopg2.connect(url)
        try:
            with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                auth.store_token(cur, token, role, center)
        finally:
            conn.close()
    record_machine_token(token, role, center, env)
    return token

"""The pipeline between the stores and the consumers: each relay's backlog, the depth of every
queue (passive declares: nothing is created or consumed), and the broker's file handles."""

import kombu
import psycopg2

from services import registry
from services.common import broker
from services.common.config import amqp_uri, database_url
from services.common.relay import relay_backlogs


def relay_backlog(names):
    backlog = {}
    for name in names:
        try:
            conn = psycopg2.connect(database_url(name), connect_timeout=3)
            try:
                with conn.cursor() as cur:
                    backlog[name] = relay_backlogs(cur)
            finally:
                conn.close()
        except psycopg2.Error as exc:
            backlog[name] = {"error": type(exc).__name__}
    return backlog


def queue_depths(queues):
    """`{queue: {messages, consumers, dead}}` by passive declares (nothing is created)."""
    depths = {}
    with kombu.Connection(amqp_uri(), connect_timeout=3) as conn:
        channel = conn.channel()
        for queue in queues:
            entry = {}
            for key, name in (("messages", queue), ("dead", f"{queue}.dead")):
                try:
                    _, messages, consumers = channel.queue_declare(name, passive=True)
                    entry[key] = messages
                    if key == "messages":
                        entry["consumers"] = consumers
                except Exception:  # noqa: BLE001 - not declared: the broker closed the channel
                    channel = conn.channel()
                    entry[key] = None
            depths[queue] = entry
    return depths


def broker_state(names):
    """The broker's file handles against the quorum queues of `names` (local broker only)."""
    handles = broker.file_handles() if broker.is_local(amqp_uri()) else None
    return {
        "file_handle_limit": handles[0] if handles else None,
        "file_handles_used": handles[1] if handles else None,
        "problem": broker.file_handle_problem(amqp_uri(), registry.quorum_queues(names)),
    }

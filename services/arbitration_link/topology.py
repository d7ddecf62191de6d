"""The arbitration link on the broker: exchanges, quorum queues, dead letters, the institute's user.

Run by `tiaojie setup` (`declare`, then `declare_users`). For deployment the same objects
are in `deploy/rabbitmq/definitions.json`; `definitions()` is the link's part of that file
(print it with `python -m services.arbitration_link.topology`), and a unit test checks the
file still holds it.

- `arbitration.outbound` (topic) → quorum queue `arbitration.referrals` (all routing keys),
  dead letters to `arbitration.referrals.dead`: what tiaojie sends the institute.
- `arbitration.replies` (topic) → quorum queue `arbitration.replies.link` (the four reply
  routing keys), dead letters to `arbitration.replies.link.dead`: what the institute answers.
- Broker user `arbitration` (the institute): configure nothing, write only
  `arbitration.replies`, read only `arbitration.referrals`, on the vhost of `AMQP_URI`.
  Its password comes from `TIAOJIE_ARBITRATION_PASSWORD` (development default
  `arbitration`); in a deployment the definitions file gets it rendered in, never committed.
"""

import json
import re
import subprocess
import sys

import kombu

from services.common.broker import is_local, rabbitmqctl, vhost_of
from services.common.config import amqp_uri, delivery_limit, environment
from services.common.messaging import DEAD_LETTER_EXCHANGE, dead_letter_queue, declare_queue_with_dead_letters

from .contract import OUTBOUND_EXCHANGE, REFERRALS_QUEUE, REPLIES_EXCHANGE, REPLIES_QUEUE, REPLY_KINDS

INSTITUTE_USER = "arbitration"
DEFAULT_INSTITUTE_PASSWORD = "arbitration"
# The institute's rights: regular expressions over resource names, as RabbitMQ checks them.
INSTITUTE_PERMISSIONS = {
    "configure": "^$",
    "write": f"^{re.escape(REPLIES_EXCHANGE)}$",
    "read": f"^{re.escape(REFERRALS_QUEUE)}$",
}


def outbound_exchange():
    return kombu.Exchange(OUTBOUND_EXCHANGE, type="topic", durable=True, auto_delete=False)


def replies_exchange():
    return kombu.Exchange(REPLIES_EXCHANGE, type="topic", durable=True, auto_delete=False)


def quorum_arguments(queue_name, limit):
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": queue_name,
    }


def referrals_queue(limit):
    return kombu.Queue(
        REFERRALS_QUEUE,
        exchange=outbound_exchange(),
        routing_key="#",
        durable=True,
        auto_delete=False,
        queue_arguments=quorum_arguments(REFERRALS_QUEUE, limit),
    )


def replies_queue(limit):
    return kombu.Queue(
        REPLIES_QUEUE,
        bindings=[kombu.binding(replies_exchange(), routing_key=kind) for kind in REPLY_KINDS],
        durable=True,
        auto_delete=False,
        queue_arguments=quorum_arguments(REPLIES_QUEUE, limit),
    )


def declare(channel, env=None):
    limit = delivery_limit(env)
    for exchange in (outbound_exchange(), replies_exchange()):
        exchange.bind(channel).declare()
    declare_queue_with_dead_letters(channel, referrals_queue(limit))
    declare_queue_with_dead_letters(channel, replies_queue(limit))


# --- the institute's broker user ------------------------------------------------------


def institute_user(env=None):
    """The institute's broker user: `arbitration` (CONTRACTS §4), or `TIAOJIE_ARBITRATION_USER`."""
    env = environment(env)
    return env.get("TIAOJIE_ARBITRATION_USER") or INSTITUTE_USER


def _vhosts_of_user(user):
    listed = rabbitmqctl("list_user_permissions", user, timeout=60)
    return (
        {line.split("\t", 1)[0] for line in listed.stdout.splitlines()[1:] if line} if listed.returncode == 0 else set()
    )


def declare_users(env=None):
    """Creates the institute's user if missing and grants it its rights on this vhost, with
    `rabbitmqctl`.

    A RabbitMQ user belongs to the whole node, not to a vhost, and the contract names it
    `arbitration`: one user, one password, for every vhost it may use. So the password of
    a user that already serves other vhosts is not changed from here (that would lock the
    institute out of those): setup says so, and a vhost that needs its own credentials sets
    `TIAOJIE_ARBITRATION_USER` (e.g. `arbitration_<vhost>`). A user that serves only this
    vhost, or none yet, gets the password of `TIAOJIE_ARBITRATION_PASSWORD`.

    Without a local `rabbitmqctl` (e.g. the broker runs in another container) it says
    what to load instead: the user is in `deploy/rabbitmq/definitions.json`.
    """
    env = environment(env)
    uri = amqp_uri(env)
    vhost = vhost_of(uri)
    user = institute_user(env)
    password = env.get("TIAOJIE_ARBITRATION_PASSWORD", DEFAULT_INSTITUTE_PASSWORD)
    if not is_local(uri):
        print(
            f"warning: cannot create the broker user {user!r} here (no local rabbitmqctl):"
            " load deploy/rabbitmq/definitions.json into the broker, then set its password.",
            file=sys.stderr,
        )
        return False
    try:
        added = rabbitmqctl("add_user", user, stdin=password, timeout=60)
        if added.returncode != 0:
            if "already exists" not in added.stderr + added.stdout:
                raise RuntimeError(added.stderr.strip() or added.stdout.strip())
            unchanged = rabbitmqctl("authenticate_user", user, stdin=password, timeout=60).returncode == 0
            others = _vhosts_of_user(user) - {vhost}
            if not unchanged and others:
                print(
                    f"warning: the broker user {user!r} also serves the vhosts {', '.join(sorted(others))}"
                    " with another password, which setup leaves as it is. Give this vhost a user of its"
                    f" own (TIAOJIE_ARBITRATION_USER=arbitration_{vhost.strip('/') or 'root'}), or set the"
                    " same TIAOJIE_ARBITRATION_PASSWORD.",
                    file=sys.stderr,
                )
            elif not unchanged:
                changed = rabbitmqctl("change_password", user, stdin=password, timeout=60)
                if changed.returncode != 0:
                    raise RuntimeError(changed.stderr.strip())
        granted = rabbitmqctl(
            "set_permissions",
            "-p",
            vhost,
            user,
            INSTITUTE_PERMISSIONS["configure"],
            INSTITUTE_PERMISSIONS["write"],
            INSTITUTE_PERMISSIONS["read"],
            timeout=60,
        )
        if granted.returncode != 0:
            raise RuntimeError(granted.stderr.strip())
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(
            f"warning: broker user {user!r} not set up ({exc}):"
            " load deploy/rabbitmq/definitions.json into the broker instead.",
            file=sys.stderr,
        )
        return False
    print(f"broker user {user} ready on vhost {vhost}")
    return True


# --- deployment definitions -----------------------------------------------------------


def _queue_definition(queue, vhost):
    return {
        "name": queue.name,
        "vhost": vhost,
        "durable": True,
        "auto_delete": False,
        "arguments": dict(queue.queue_arguments or {}),
    }


def definitions(vhost="/", limit=5):
    """The link's part of the broker definitions: its exchanges, queues, bindings and the
    institute's permissions (users and their password hashes belong to the deployment)."""
    queues = [referrals_queue(limit), replies_queue(limit)]
    dead = [dead_letter_queue(q.name) for q in queues]
    bindings = [
        {
            "source": OUTBOUND_EXCHANGE,
            "vhost": vhost,
            "destination": REFERRALS_QUEUE,
            "destination_type": "queue",
            "routing_key": "#",
            "arguments": {},
        },
        *(
            {
                "source": REPLIES_EXCHANGE,
                "vhost": vhost,
                "destination": REPLIES_QUEUE,
                "destination_type": "queue",
                "routing_key": kind,
                "arguments": {},
            }
            for kind in REPLY_KINDS
        ),
        *(
            {
                "source": DEAD_LETTER_EXCHANGE,
                "vhost": vhost,
                "destination": q.name,
                "destination_type": "queue",
                "routing_key": q.routing_key,
                "arguments": {},
            }
            for q in dead
        ),
    ]
    return {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": vhost}],
        "permissions": [{"user": INSTITUTE_USER, "vhost": vhost, **INSTITUTE_PERMISSIONS}],
        "exchanges": [
            {
                "name": name,
                "vhost": vhost,
                "type": kind,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for name, kind in (
                (OUTBOUND_EXCHANGE, "topic"),
                (REPLIES_EXCHANGE, "topic"),
                (DEAD_LETTER_EXCHANGE, "direct"),
            )
        ],
        "queues": [_queue_definition(q, vhost) for q in queues + dead],
        "bindings": bindings,
    }


if __name__ == "__main__":
    print(json.dumps(definitions(), indent=2, ensure_ascii=False))

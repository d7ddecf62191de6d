"""A namespace of the tests or the benchmarks: the databases `<ns>` and `<ns>_*` on one
PostgreSQL server, and the broker's vhosts and users `<ns>` and `<ns>_*`. Whoever creates one removes
it when done (`remove`), and `leftovers` says what is still there.
"""

import psycopg2

from .broker import rabbitmqctl, users, vhosts
from .db import drop_database


def _owned(name, namespace):
    return name == namespace or name.startswith(namespace + "_")


def databases(server_url, namespace):
    """The databases of `namespace` on the server of `server_url` (`postgresql://.../`)."""
    conn = psycopg2.connect(server_url.rstrip("/") + "/postgres", connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database ORDER BY datname")
            return [name for (name,) in cur.fetchall() if _owned(name, namespace)]
    finally:
        conn.close()


def leftovers(server_url, namespace):
    """`{"databases": [...], "vhosts": [...], "users": [...]}` of `namespace` still present."""
    return {
        "databases": databases(server_url, namespace),
        "vhosts": [vhost for vhost in vhosts() if _owned(vhost, namespace)],
        "users": [user for user in users() if _owned(user, namespace)],
    }


def remove(server_url, namespace):
    """Drops every database and deletes every vhost and user of `namespace`."""
    found = leftovers(server_url, namespace)
    for name in found["databases"]:
        drop_database(f"{server_url.rstrip('/')}/{name}")
    for vhost in found["vhosts"]:
        rabbitmqctl("delete_vhost", vhost, check=True, timeout=300)
    for user in found["users"]:
        rabbitmqctl("delete_user", user, check=True)
    return found

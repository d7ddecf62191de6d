"""The inbox does not grow for ever: records older than `TIAOJIE_INBOX_RETENTION_DAYS` are
pruned by a timer in every service (`TIAOJIE_INBOX_PRUNE_SECONDS`)."""

import uuid

import psycopg2

from services.common.config import database_url
from services.common.unit_of_work import prune_inbox
from tests import support

PROBE = "prune-probe.on_event"


def _insert(cur, age_days, consumer=PROBE):
    event_id, stream_id = str(uuid.uuid4()), f"case-{uuid.uuid4()}"
    cur.execute(
        "INSERT INTO inbox (consumer, event_id, processed_at) VALUES (%s, %s, now() - make_interval(days => %s))",
        (consumer, event_id, age_days),
    )
    cur.execute(
        "INSERT INTO inbox_streams (consumer, stream_id, version, updated_at)"
        " VALUES (%s, %s, 1, now() - make_interval(days => %s))",
        (consumer, stream_id, age_days),
    )
    return event_id, stream_id


def _left(url, consumer=PROBE):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT event_id::text FROM inbox WHERE consumer = %s", (consumer,))
            events = {r[0] for r in cur.fetchall()}
            cur.execute("SELECT stream_id FROM inbox_streams WHERE consumer = %s", (consumer,))
            return events, {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


def test_records_older_than_the_retention_are_deleted_in_batches(fresh_database):
    url, database = fresh_database
    with database.transaction() as cur:
        old = [_insert(cur, 45) for _ in range(5)]
        recent = [_insert(cur, 29), _insert(cur, 0)]
    with database.transaction() as cur:
        assert prune_inbox(cur, 30, batch=3) == (3, 3)
    with database.transaction() as cur:
        assert prune_inbox(cur, 30, batch=3) == (2, 2)
    with database.transaction() as cur:
        assert prune_inbox(cur, 30, batch=3) == (0, 0)
    assert _left(url) == ({e for e, _ in recent}, {s for _, s in recent})
    assert old


def test_a_running_service_prunes_its_inbox_by_itself(infrastructure):
    url = database_url("metrics")
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            _insert(cur, 400)
            kept = _insert(cur, 1)
    finally:
        conn.close()
    with support.ServiceProcess(
        "metrics", env={"TIAOJIE_INBOX_PRUNE_SECONDS": "0.5", "TIAOJIE_INBOX_RETENTION_DAYS": "90"}
    ):
        support.wait_for(lambda: _left(url) == ({kept[0]}, {kept[1]}), timeout=30, message="the old records pruned")
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM inbox WHERE consumer = %s", (PROBE,))
            cur.execute("DELETE FROM inbox_streams WHERE consumer = %s", (PROBE,))
    finally:
        conn.close()

"""`tiaojie documents catch-up`: fills the case files from the stores of intake, mediation and the link.

The documents service builds its case files from the events it consumes; events stored
before it was deployed never reach its queues. This reads every consumed event type from
the source stores, in their order, into the case files (the same insert-only rows the
consumer writes: an event already there is skipped), so the documents of older cases can
be issued too. Safe to run again, and while the service runs.
"""

import sys

import psycopg2
import psycopg2.extras

from services.common.clock import SystemClock
from services.common.config import database_url
from services.common.eventstore import PostgresEventStore

from .domain import CONSUMED_EVENTS
from .repository import PostgresDocuments

BATCH = 1000


def catch_up(target_url, source_urls, batch=BATCH):
    """Copies the consumed events of each source store into the case files; returns counts per source."""
    counts = {}
    target = psycopg2.connect(target_url, cursor_factory=psycopg2.extras.RealDictCursor)
    try:
        for source, url in source_urls.items():
            types = set(CONSUMED_EVENTS[source])
            counts[source] = 0
            reader = psycopg2.connect(url, cursor_factory=psycopg2.extras.RealDictCursor)
            try:
                position = 0
                while True:
                    with reader, reader.cursor() as cursor:
                        events = PostgresEventStore(cursor, SystemClock()).read_all(position, batch)
                    if not events:
                        break
                    position = events[-1].position
                    with target, target.cursor() as cursor:
                        documents = PostgresDocuments(cursor)
                        for event in events:
                            if event.event_type in types and event.case_id and event.center_id:
                                documents.add_fact(source, event)
                                counts[source] += 1
            finally:
                reader.close()
    finally:
        target.close()
    return counts


def run(args):
    sources = {source: database_url(source) for source in CONSUMED_EVENTS}
    try:
        counts = catch_up(database_url("documents"), sources)
    except psycopg2.Error as exc:
        print(f"documents catch-up: {str(exc).strip()}", file=sys.stderr)
        return 1
    print("documents catch-up: case files hold " + ", ".join(f"{n} events of {s}" for s, n in counts.items()))
    return 0

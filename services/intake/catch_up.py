"""`tiaojie intake catch-up`: intake notes how the mediations ended that ended before it
consumed mediation's events (before this release, or while its queues did not exist yet).

Reads mediation's store (read-only, as the retention sweep does), in its order, and hands
each ending and each refusal of a withdrawal to the live consumer's effect under the live
consumer's inbox name (`intake.mediation_outcomes`): an event either has applied is
applied once. Safe to run again, and while the services run (docs/EVENTS.md, "One truth
for withdrawal").
"""

import sys

import psycopg2
import psycopg2.extras

from services.common.clock import SystemClock
from services.common.commands import decide_again
from services.common.config import database_url, service_config
from services.common.eventstore import PostgresEventStore

from . import handlers
from .bootstrap import bootstrap

BATCH = 1000


def catch_up(wiring, mediation_url, batch=BATCH):
    """Applies mediation's endings intake has not consumed; returns how many it applied now."""
    consumer = f"intake.{handlers.MEDIATION_OUTCOMES}"
    reader = psycopg2.connect(mediation_url, cursor_factory=psycopg2.extras.RealDictCursor)
    applied, position = 0, 0
    try:
        while True:
            with reader, reader.cursor() as cursor:
                events = PostgresEventStore(cursor, SystemClock()).read_all(position, batch)
            if not events:
                return applied
            position = events[-1].position
            for event in events:
                if event.event_type in handlers.MEDIATION_OUTCOME_TYPES and event.case_id:
                    applied += decide_again(lambda event=event: _apply(wiring, consumer, event))
    finally:
        reader.close()


def _apply(wiring, consumer, event):
    # What the live consumer appends, this appends with the same cause and actor.
    with wiring.units_of_work(event.correlation_id, event.event_id, event.actor) as uow:
        if uow.inbox.claim(consumer, event) is None:
            return 0
        handlers.record_mediation_end(uow, event)
        return 1


def add_arguments(parser):
    parser.add_argument(
        "action",
        choices=["catch-up"],
        help="catch-up: note how the mediations ended that ended before intake consumed mediation's events",
    )


def run(args):
    try:
        applied = catch_up(bootstrap(service_config("intake")), database_url("mediation"))
    except psycopg2.Error as exc:
        print(f"intake catch-up: {str(exc).strip()}", file=sys.stderr)
        return 1
    print(f"intake catch-up: {applied} of mediation's endings applied now")
    return 0

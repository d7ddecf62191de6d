"""Two small services for the kernel's tests: one appends events, one consumes them."""

from nameko.rpc import rpc

from services.common.envelope import NewEvent
from services.common.eventstore import ANY_VERSION
from services.common.messaging import inbox_handler
from services.common.service import BaseService, EventRelay

SOURCE = "kernelsource"


class SourceService(BaseService):
    name = SOURCE
    relay = EventRelay()

    @rpc
    def record(self, stream_id, event_type, data):
        with self.store.unit_of_work() as uow:
            [event] = uow.events.append(stream_id, ANY_VERSION, [NewEvent(event_type, data)])
        return event.event_id


class SinkService(BaseService):
    name = "kernelsink"

    @inbox_handler(SOURCE, "ThingHappened")
    def on_thing_happened(self, envelope):
        def effect(uow, event, previous_version):
            uow.cursor.execute(
                "INSERT INTO effects (event_id, stream_id, stream_version, previous_version) VALUES (%s, %s, %s, %s)",
                (event.event_id, event.stream_id, event.stream_version, previous_version),
            )

        self.store.consume("on_thing_happened", envelope, effect)

    @inbox_handler(SOURCE, "ThingBroke")
    def on_thing_broke(self, envelope):
        raise RuntimeError("this handler always fails")


SINK_MIGRATIONS = [
    (
        "kernelsink-0001-effects",
        "CREATE TABLE effects (event_id uuid, stream_id text, stream_version int, previous_version int)",
    )
]

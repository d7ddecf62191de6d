"""The aggregate base: state is a fold of events, commands record new ones. Pure: no I/O.

Domain modules build on this one, which imports no database driver, framework or HTTP.
"""

import json

from services.events import type_name

from .envelope import NewEvent, dumps


def json_roundtrip(data):
    """`data` as it reads back from the store (decimals and datetimes become strings)."""
    return json.loads(dumps(data))


class Aggregate:
    """An aggregate's state is a fold of its events; commands record new ones.

    A subclass names its stream prefix (`stream_prefix = "case"`: streams `case-<id>`),
    folds each event type in a method `_on_<EventType>(data)` (an event it does not fold
    changes nothing), and has command methods that check the rules and `record(...)`.
    `state` is what a refusal on a lost race reports as the current state.
    """

    stream_prefix = None

    def __init__(self, stream_id):
        self.stream_id = stream_id
        self.version = 0
        self.pending = []

    @classmethod
    def stream_for(cls, identifier):
        return f"{cls.stream_prefix}-{identifier}"

    @classmethod
    def owns(cls, stream_id):
        return cls.stream_prefix is not None and stream_id.startswith(f"{cls.stream_prefix}-")

    @classmethod
    def from_events(cls, stream_id, events):
        aggregate = cls(stream_id)
        for event in events:
            aggregate.apply(event.event_type, event.data)
            aggregate.version = event.stream_version
        return aggregate

    @property
    def loaded_version(self):
        return self.version - len(self.pending)

    @property
    def state(self):
        return getattr(self, "status", None)

    def record(self, event_type, data, occurred_at=None, case_id=None, center_id=None):
        """Records a new event; `event_type` is its class of services/events.py (or its name)."""
        event_type = type_name(event_type)
        event = NewEvent(event_type, data, case_id=case_id, center_id=center_id, occurred_at=occurred_at)
        self.apply(event_type, json_roundtrip(data))
        self.pending.append(event)
        self.version += 1
        return event

    def apply(self, event_type, data):
        fold = getattr(self, f"_on_{event_type}", None)
        if fold is not None:
            fold(data)

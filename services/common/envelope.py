"""The event envelope of CONTRACTS §3, its marshmallow schema, and the upcaster chain.

Every event any service stores or publishes has this shape:
`{event_id, event_type, schema_version, stream_id, stream_version, case_id, center_id,
occurred_at, recorded_at, correlation_id, causation_id, data}`, and, when a person or a
token caused it, the optional `actor` (CONTRACTS §7): `{account_id, login, name, role}`
or `{token: "<role>:<center>"}`.
"""

import dataclasses
import json
import uuid
from datetime import date, datetime
from decimal import Decimal

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate


@dataclasses.dataclass(frozen=True)
class NewEvent:
    """An event a command decided on, before the store gives it a place in a stream."""

    event_type: str
    data: dict
    case_id: str | None = None
    center_id: str | None = None
    occurred_at: datetime | None = None
    event_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    schema_version: int | None = None


@dataclasses.dataclass(frozen=True)
class Event:
    """A stored event. `position` is its place in the store's global order."""

    event_id: str
    event_type: str
    schema_version: int
    stream_id: str
    stream_version: int
    case_id: str | None
    center_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: str
    causation_id: str | None
    data: dict
    position: int | None = None
    actor: dict | None = None

    def with_data(self, data):
        """The same event with other data (sealed, or opened): `dataclasses.replace(self, data=data)`
        without its look at every field, which cost more than opening the data on each load."""
        event = object.__new__(Event)
        event.__dict__.update(self.__dict__, data=data)
        return event

    def to_envelope(self):
        """The JSON-ready envelope (what goes on the bus)."""
        envelope = {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "case_id": self.case_id,
            "center_id": self.center_id,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": self.data,
        }
        if self.actor is not None:
            envelope["actor"] = self.actor
        return envelope

    @classmethod
    def from_envelope(cls, envelope, position=None):
        """Validates a received envelope and upcasts it to the current shape."""
        loaded = EnvelopeSchema().load(envelope)
        return upcast(cls(position=position, **loaded))


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    schema_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    stream_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stream_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    case_id = fields.String(required=True, allow_none=True)
    center_id = fields.String(required=True, allow_none=True)
    occurred_at = fields.AwareDateTime(required=True)
    recorded_at = fields.AwareDateTime(required=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True)
    actor = fields.Dict(load_default=None, allow_none=True)

    def load(self, data, **kwargs):
        loaded = super().load(data, **kwargs)
        loaded["event_id"] = str(loaded["event_id"])
        return loaded


def json_default(value):
    """JSON for the types events and responses carry: money stays an exact string."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value):
    return json.dumps(value, default=json_default, ensure_ascii=False)


# --- upcasting ------------------------------------------------------------------------
# An upcaster turns the data of (event_type, version n) into version n + 1. Stored events
# are never rewritten: they are upcast when loaded, so old rows read as the current shape.

_upcasters = {}
_current_versions = {}


def register_upcaster(event_type, from_version):
    def decorator(fn):
        _upcasters[(event_type, from_version)] = fn
        _current_versions[event_type] = max(_current_versions.get(event_type, 1), from_version + 1)
        return fn

    return decorator


def current_schema_version(event_type):
    return _current_versions.get(event_type, 1)


def upcast(event):
    version, data = event.schema_version, event.data
    while (event.event_type, version) in _upcasters:
        data = _upcasters[(event.event_type, version)](dict(data))
        version += 1
    if version == event.schema_version:
        return event
    return dataclasses.replace(event, schema_version=version, data=data)


__all__ = [
    "NewEvent",
    "Event",
    "EnvelopeSchema",
    "ValidationError",
    "dumps",
    "json_default",
    "register_upcaster",
    "current_schema_version",
    "upcast",
]

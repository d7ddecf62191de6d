"""The envelope: validation with marshmallow and the upcaster chain."""

import dataclasses

import pytest
from marshmallow import ValidationError

from services.common.clock import FixedClock
from services.common.envelope import Event, NewEvent, register_upcaster, upcast
from services.common.eventstore import InMemoryEventStore


def _envelope(**overrides):
    [event] = InMemoryEventStore(FixedClock()).append("case-1", 0, [NewEvent("Probe", {"x": 1}, case_id="1")])
    envelope = event.to_envelope()
    envelope.update(overrides)
    return envelope


def test_a_valid_envelope_loads():
    event = Event.from_envelope(_envelope())
    assert event.event_type == "Probe" and event.data == {"x": 1}


@pytest.mark.parametrize(
    "field, value",
    [
        ("event_id", "not-a-uuid"),
        ("stream_version", 0),
        ("stream_version", "1"),
        ("occurred_at", "2026-03-01T10:00:00"),
        ("data", "text"),
        ("event_type", ""),
    ],
)
def test_an_invalid_envelope_is_refused(field, value):
    with pytest.raises(ValidationError) as info:
        Event.from_envelope(_envelope(**{field: value}))
    assert field in info.value.messages


def test_missing_fields_are_all_named():
    envelope = _envelope()
    del envelope["event_id"], envelope["correlation_id"]
    with pytest.raises(ValidationError) as info:
        Event.from_envelope(envelope)
    assert {"event_id", "correlation_id"} <= set(info.value.messages)


def test_old_events_are_upcast_through_the_chain():
    @register_upcaster("KernelProbeRenamed", 1)
    def split_name(data):
        first, _, last = data.pop("name").partition(" ")
        return {**data, "first": first, "last": last}

    @register_upcaster("KernelProbeRenamed", 2)
    def add_channel(data):
        return {**data, "channel": data.get("channel", "walk_in")}

    stored_v1 = dataclasses.replace(
        Event.from_envelope(_envelope()),
        event_type="KernelProbeRenamed",
        schema_version=1,
        data={"name": "Li Lei"},
    )
    current = upcast(stored_v1)
    assert current.schema_version == 3
    assert current.data == {"first": "Li", "last": "Lei", "channel": "walk_in"}


def test_new_events_get_the_current_schema_version():
    @register_upcaster("KernelProbeVersioned", 1)
    def noop(data):
        return data

    [event] = InMemoryEventStore(FixedClock()).append("s", 0, [NewEvent("KernelProbeVersioned", {})])
    assert event.schema_version == 2


def test_the_actor_is_an_optional_part_of_the_envelope():
    store = InMemoryEventStore(FixedClock())
    [anonymous] = store.append("case-2", 0, [NewEvent("Probe", {})])
    actor = {"account_id": "a-1", "login": "li.ming", "name": "李明", "role": "staff"}
    [named] = store.append("case-2", 1, [NewEvent("Probe", {})], actor=actor)
    assert "actor" not in anonymous.to_envelope()
    assert named.to_envelope()["actor"] == actor
    assert Event.from_envelope(named.to_envelope()).actor == actor
    assert Event.from_envelope(anonymous.to_envelope()).actor is None


def test_an_event_with_other_data_is_the_same_event_otherwise_and_leaves_the_first_as_it_was():
    event = Event.from_envelope(_envelope())
    opened = event.with_data({"applicant": {"name": "张三"}})
    assert opened == dataclasses.replace(event, data={"applicant": {"name": "张三"}})
    assert type(opened) is Event and event.data == _envelope()["data"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        opened.data = {}

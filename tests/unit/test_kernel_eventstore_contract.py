"""The event store contract, run against the in-memory store (the PostgreSQL run is in
tests/integration/test_kernel_eventstore.py, which subclasses this)."""

import pytest

from services.common.clock import FixedClock
from services.common.envelope import NewEvent
from services.common.eventstore import ANY_VERSION, ConcurrencyError, InMemoryEventStore


class EventStoreContract:
    """Subclasses provide `store` (a fixture): an object with append/load/read_all."""

    def test_append_numbers_stream_versions_from_one(self, store):
        appended = store.append("s-1", 0, [NewEvent("A", {"n": 1}), NewEvent("B", {"n": 2})])
        assert [e.stream_version for e in appended] == [1, 2]
        assert [e.event_type for e in store.load("s-1")] == ["A", "B"]

    def test_wrong_expected_version_raises_and_writes_nothing(self, store):
        store.append("s-2", 0, [NewEvent("A", {})])
        with pytest.raises(ConcurrencyError):
            store.append("s-2", 0, [NewEvent("B", {}), NewEvent("C", {})])
        assert [e.event_type for e in store.load("s-2")] == ["A"]

    def test_reappending_a_stored_event_id_is_a_no_op(self, store):
        event = NewEvent("A", {"n": 1})
        first = store.append("s-3", 0, [event])
        again = store.append("s-3", 0, [event])
        assert [e.event_id for e in again] == [e.event_id for e in first]
        assert len(store.load("s-3")) == 1

    def test_any_version_appends_at_the_end(self, store):
        store.append("s-4", 0, [NewEvent("A", {})])
        store.append("s-4", ANY_VERSION, [NewEvent("B", {})])
        assert [e.stream_version for e in store.load("s-4")] == [1, 2]

    def test_read_all_returns_global_order_in_batches(self, store):
        start = store.read_all(0, 100000)[-1].position if store.read_all(0, 100000) else 0
        for i in range(5):
            store.append(f"s-5-{i}", 0, [NewEvent("A", {"i": i})])
        first = store.read_all(start, 3)
        rest = store.read_all(first[-1].position, 3)
        assert [e.data["i"] for e in first + rest] == [0, 1, 2, 3, 4]
        assert [e.position for e in first + rest] == sorted(e.position for e in first + rest)

    def test_money_survives_as_an_exact_string(self, store):
        from decimal import Decimal

        store.append("s-6", 0, [NewEvent("A", {"amount": Decimal("12000.10")})])
        assert store.load("s-6")[0].data["amount"] == "12000.10"

    def test_an_appended_event_is_the_event_loading_it_gives(self, store):
        from datetime import UTC, datetime
        from decimal import Decimal

        data = {"amount": Decimal("12000.10"), "at": datetime(2026, 3, 1, tzinfo=UTC), "parties": [{"n": "张三"}]}
        appended = store.append("s-8", 0, [NewEvent("A", data), NewEvent("B", {"n": 2})])
        assert appended == store.load("s-8")
        assert appended[0].data["amount"] == "12000.10"

    def test_envelope_carries_the_contract_fields(self, store):
        [event] = store.append(
            "s-7",
            0,
            [NewEvent("A", {}, case_id="c-1", center_id="qifang")],
            correlation_id="corr-1",
            causation_id="cause-1",
        )
        envelope = event.to_envelope()
        assert set(envelope) == {
            "event_id",
            "event_type",
            "schema_version",
            "stream_id",
            "stream_version",
            "case_id",
            "center_id",
            "occurred_at",
            "recorded_at",
            "correlation_id",
            "causation_id",
            "data",
        }
        assert envelope["correlation_id"] == "corr-1" and envelope["causation_id"] == "cause-1"
        assert envelope["occurred_at"].endswith("+00:00")


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self):
        return InMemoryEventStore(FixedClock())

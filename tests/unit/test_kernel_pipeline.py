"""The kernel's command pipeline on fakes: one retry policy, one error mapping, idempotent responses."""

import dataclasses

import pytest

from services.common.aggregate import Aggregate
from services.common.auth import Principal
from services.common.clock import FixedClock
from services.common.commands import ATTEMPTS, Command
from services.common.errors import ConcurrencyError, Forbidden, NotFound, Rejected, StateConflict
from services.common.http import error_response
from services.common.unit_of_work import FakeUnitOfWork
from tests.unit.kernel_requests import answer, pipeline, request

STAFF = Principal("center", "huaguangjie", "h1")


class Counter(Aggregate):
    stream_prefix = "counter"

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.status = "empty"
        self.total = 0

    def add(self, amount):
        self.record("Added", {"amount": amount})

    def _on_Added(self, data):
        self.total += data["amount"]
        self.status = "counting"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Add(Command):
    counter_id: str
    amount: int


def add(command, uow):
    counter = uow.load(Counter, Counter.stream_for(command.counter_id))
    counter.add(command.amount)
    uow.save(counter)
    return {"total": counter.total}


@pytest.fixture
def uow():
    return FakeUnitOfWork(FixedClock())


def test_a_lost_race_is_decided_again_on_the_new_state(uow):
    stale = [Counter("counter-1")]  # what the first attempt read, before a rival appended
    with uow:
        add(Add(counter_id="1", amount=10), uow)

    def add_after_a_rival(command, unit_of_work):
        counter = stale.pop() if stale else unit_of_work.load(Counter, "counter-1")
        counter.add(command.amount)
        unit_of_work.save(counter)
        return {"total": counter.total}

    status, body = answer(
        pipeline(uow, STAFF).run, request(body={"amount": 5}), add_after_a_rival, Add, None, counter_id="1"
    )

    assert (status, body) == (200, {"total": 15})


def test_a_race_lost_every_time_is_409_with_the_current_state(uow):
    with uow:
        add(Add(counter_id="1", amount=1), uow)
    tries = []

    def always_losing(command, unit_of_work):
        tries.append(1)
        raise ConcurrencyError("counter-1", 1, 2)

    status, body = answer(
        pipeline(uow, STAFF, (Counter,)).run, request(body={"amount": 5}), always_losing, Add, None, counter_id="1"
    )

    assert (status, body["status"]) == (409, "counting")
    assert len(tries) == ATTEMPTS


@pytest.mark.parametrize(
    "refusal, status",
    [
        (NotFound("no such counter"), 404),
        (StateConflict("closed", state="closed"), 409),
        (Rejected({"amount": ["too big"]}), 422),
        (Forbidden("not yours"), 403),
    ],
)
def test_each_refusal_has_one_status_and_stores_nothing(uow, refusal, status):
    def refusing(command, unit_of_work):
        add(command, unit_of_work)
        raise refusal

    answered, _ = answer(pipeline(uow, STAFF).run, request(body={"amount": 5}), refusing, Add, None, counter_id="1")

    assert answered == status
    assert uow.events.events == []


def test_a_state_conflict_names_the_state():
    response = error_response(StateConflict("a closed counter takes nothing", state="closed"))
    assert response.status_code == 409 and b'"status": "closed"' in response.get_data()


def test_a_repeated_key_returns_the_first_response_and_another_body_is_409(uow):
    commands = pipeline(uow, STAFF)
    first = answer(
        commands.run, request(body={"amount": 5}, **{"Idempotency-Key": "k1"}), add, Add, None, counter_id="1"
    )
    again = answer(
        commands.run, request(body={"amount": 5}, **{"Idempotency-Key": "k1"}), add, Add, None, counter_id="1"
    )
    other = answer(
        commands.run, request(body={"amount": 6}, **{"Idempotency-Key": "k1"}), add, Add, None, counter_id="1"
    )

    assert first == again == (200, {"total": 5})
    assert other[0] == 409
    assert len(uow.events.events) == 1


def test_a_body_the_schema_refuses_is_422_before_the_handler_runs(uow):
    from marshmallow import Schema, fields

    class AddSchema(Schema):
        amount = fields.Integer(required=True)

    status, body = answer(pipeline(uow, STAFF).run, request(body={}), add, Add, AddSchema(), counter_id="1")

    assert (status, list(body["errors"])) == (422, ["amount"])
    assert uow.events.events == []

"""The command pipeline every service runs its staff commands through, and its one retry policy.

authenticate → load the body through the boundary schema into a command value → run
`handler(command, uow)` in a unit of work → on `ConcurrencyError` decide again on the new
state (`commands.ATTEMPTS` in all) → store the `Idempotency-Key` response → commit → answer.

A refusal (`services.common.errors`) rolls everything back: a refused request stores and
emits nothing. A repeated key with the same body returns the stored response; with
another body, 409. Two requests with one key serialize on the key's row. A race lost
`ATTEMPTS` times is 409 with the current state of the stream that kept moving, never 500.
"""

import json
import logging

from .commands import ATTEMPTS, Command, decide_again
from .envelope import dumps
from .errors import ConcurrencyError, StateConflict
from .http import json_response, parse_json, validate
from .logs import correlation_id_var
from .unit_of_work import KeyReuse

log = logging.getLogger(__name__)

# `Command` and `decide_again` live in services.common.commands (no HTTP); named here too.
__all__ = ["ATTEMPTS", "Command", "CommandPipeline", "decide_again", "jsonable"]


class CommandPipeline:
    """Runs commands for one service: its units of work, its authentication, its aggregates.

    `aggregates` are the service's aggregate classes: on an exhausted retry, the one that
    owns the stream that kept moving says its current state.
    """

    def __init__(self, units_of_work, authenticate, aggregates=(), attempts=ATTEMPTS):
        self.units_of_work = units_of_work
        self.authenticate = authenticate
        self.aggregates = tuple(aggregates)
        self.attempts = attempts

    def run(self, request, handler, command_type, schema=None, status=200, optional_body=False, **params):
        """The whole pipeline for one HTTP request; returns the response."""
        actor = self.authenticate(request)
        empty = optional_body and not request.get_data()
        body = {} if empty else parse_json(request)
        loaded = validate(schema, body) if schema is not None else body
        command = command_type.from_request(actor, loaded, **params)
        return self.execute(request, command, handler, status)

    def execute(self, request, command, handler, status=200):
        """Runs `handler(command, uow)` with retries and the idempotent response; returns the response."""
        key = request.headers.get("Idempotency-Key")
        correlation_id = getattr(request, "correlation_id", None) or correlation_id_var.get()
        scope = getattr(command.actor, "token_hash", None)

        def attempt():
            # Who asks goes on every event the command appends: `Principal.actor` (CONTRACTS §7).
            with self.units_of_work(correlation_id, actor=getattr(command.actor, "actor", None)) as uow:
                if key:
                    request_hash = uow.idempotency.request_hash(
                        request.method, request.path, request.get_data(as_text=True)
                    )
                    try:
                        stored = uow.idempotency.begin(scope, key, request_hash)
                    except KeyReuse:
                        raise StateConflict("this Idempotency-Key was used with another request") from None
                    if stored is not None:
                        return json_response(stored[0], stored[1], {"Idempotent-Replayed": "true"})
                result = handler(command, uow)
                if key:
                    uow.idempotency.complete(scope, key, status, jsonable(result))
            return json_response(status, result)

        try:
            return decide_again(attempt, self.attempts)
        except ConcurrencyError as exc:
            raise StateConflict(
                "the record keeps changing; try again", state=self.current_state(exc.stream_id)
            ) from None

    def read(self, request, answer):
        """A staff read: authenticate, then `answer(actor, uow)` in a unit of work, as 200."""
        actor = self.authenticate(request)
        with self.units_of_work(correlation_id=getattr(request, "correlation_id", None)) as uow:
            return json_response(200, answer(actor, uow))

    def current_state(self, stream_id):
        owner = next((cls for cls in self.aggregates if cls.owns(stream_id)), None)
        if owner is None:
            return None
        with self.units_of_work() as uow:
            return uow.load(owner, stream_id).state


def jsonable(value):
    """`value` as JSON types, the way the response carries it (what a replay returns)."""
    return json.loads(dumps(value))

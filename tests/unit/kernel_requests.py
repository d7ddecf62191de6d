"""Runs a service's commands through the kernel's real pipeline on fakes, as HTTP would call them."""

import json

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.errors import ConcurrencyError
from services.common.http import error_response
from services.common.pipeline import CommandPipeline


def request(method="POST", path="/api/v1/x", body=None, **headers):
    data = None if body is None else json.dumps(body)
    builder = EnvironBuilder(method=method, path=path, data=data, headers=headers, content_type="application/json")
    return Request(builder.get_environ())


def pipeline(uow, actor, aggregates=()):
    return CommandPipeline(uow, lambda request: actor, aggregates)


def answer(run, *args, **kwargs):
    """`(status, body)` of a pipeline call, refusals mapped as the HTTP entrypoint maps them."""
    try:
        response = run(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the entrypoint's mapping decides
        response = error_response(exc)
        if response is None:
            raise
    return response.status_code, json.loads(response.get_data(as_text=True))


def losing_every_race(handler, uow):
    """`handler`, but another writer appends to the stream it saves between its load and its save."""

    def racing(command, unit_of_work):
        save = unit_of_work.save

        def save_after_a_rival(aggregate):
            raise ConcurrencyError(aggregate.stream_id, aggregate.loaded_version, aggregate.loaded_version + 1)

        unit_of_work.save = save_after_a_rival
        try:
            return handler(command, unit_of_work)
        finally:
            unit_of_work.save = save

    return racing

"""The refusals a domain or a handler raises, with no HTTP in them.

- `NotFound`: the thing named does not exist (no such case, mediator, referral).
- `StateConflict`: not allowed in the current state; carries that state.
- `Rejected`: the request names something the rules refuse, `{field path: [message, ...]}`.
- `Forbidden`: the actor may not do this to that center's cases.

`services.common.http` maps them to 404/409/422/403 in one place; a consumer of events
treats them as refusals of the message. `ConcurrencyError` is here too (not a refusal:
the stream moved on, so the kernel decides again on the new state), so that pure domain
modules can name it without importing the database driver.
"""

_NO_STATE = object()


class DomainError(Exception):
    """A refusal: the request is understood and answered, nothing is stored."""

    code = "error"

    def __init__(self, message=None, **details):
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details = details

    def body(self):
        return {"error": self.code, "message": self.message, **self.details}

    @property
    def extra(self):  # the name the HTTP errors used for `details`
        return self.details


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class StateConflict(DomainError):
    """Not allowed in the current state; `state` is that state (the API answers it as `status`).

    Without a state (the same `Idempotency-Key` with another request) the answer names none.
    """

    code = "conflict"

    def __init__(self, message=None, state=_NO_STATE, **details):
        if state is not _NO_STATE:
            details["status"] = state
        super().__init__(message, **details)
        self.state = None if state is _NO_STATE else state

    @property
    def status(self):
        """The current state, under the name the API answers it with."""
        return self.state


class Rejected(DomainError):
    """Fields the rules refuse: `errors` is `{field path: [message, ...]}`."""

    code = "validation_failed"

    def __init__(self, errors):
        super().__init__("validation failed")
        self.errors = errors

    def body(self):
        return {"errors": self.errors}


class ConcurrencyError(Exception):
    """The stream moved on since it was read: reload and decide again."""

    def __init__(self, stream_id, expected_version, actual_version):
        super().__init__(f"stream {stream_id}: expected version {expected_version}, found {actual_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version

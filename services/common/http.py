"""HTTP plumbing shared by the staff APIs: errors as JSON, one exception mapper, validation.

Handlers raise the domain refusals of `services.common.errors`; `api` (a nameko http
entrypoint) turns them, and the few HTTP-only `ApiError`s, into the responses of
CONTRACTS §2 through `error_response`, so no handler formats an error itself.
"""

import json
import logging
import re
import time
import uuid

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler

from . import limits
from .errors import ConcurrencyError, DomainError, Forbidden, NotFound, Rejected, StateConflict
from .logs import correlation_id_var
from .ops import ops_metrics
from .web import BoundedWebServer, json_response

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer only HTTP has: a malformed request, no credentials, a service unavailable."""

    status = 500
    code = "error"

    def __init__(self, message=None, **extra):
        super().__init__(message or self.code)
        self.message = message or self.code
        self.extra = extra

    def body(self):
        return {"error": self.code, "message": self.message, **self.extra}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


# The one place a domain refusal becomes an HTTP status (CONTRACTS §2).
DOMAIN_ERROR_STATUS = {NotFound: 404, Forbidden: 403, StateConflict: 409, Rejected: 422}

# Older spellings of the domain refusals, kept for callers that import them from here.
Conflict = StateConflict
Unprocessable = Rejected


def error_response(exc):
    """The JSON answer to a refusal, or None when `exc` is not one (a failure: 500)."""
    if isinstance(exc, ApiError):
        return json_response(exc.status, exc.body())
    if isinstance(exc, DomainError):
        status = next(code for cls, code in DOMAIN_ERROR_STATUS.items() if isinstance(exc, cls))
        return json_response(status, exc.body())
    if isinstance(exc, ConcurrencyError):
        # Reached only where no retry ran: still a lost race, never an internal error.
        return json_response(409, {"error": "conflict", "message": "the record keeps changing; try again"})
    return None


def flatten_errors(messages, prefix=""):
    """marshmallow's nested messages as `{"applicant.id_number": [...], "claims.0.amount": [...]}`."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(flatten_errors(value, path))
            elif isinstance(value, list):
                strings = [v for v in value if isinstance(v, str)]
                nested = [v for v in value if not isinstance(v, str)]
                if strings:
                    flat.setdefault(path, []).extend(strings)
                for item in nested:
                    flat.update(flatten_errors(item, path))
            else:
                flat.setdefault(path, []).append(str(value))
    elif isinstance(messages, list):
        flat.setdefault(prefix or "_schema", []).extend(str(m) for m in messages)
    else:
        flat.setdefault(prefix or "_schema", []).append(str(messages))
    return flat


# What no text column stores: NUL, and a surrogate without its pair (not encodable as UTF-8).
# A caller's X-Correlation-Id is kept only if it looks like one (it is stored in every event).
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def parse_json(request):
    """The request body as a JSON object, or 400 (422 for a text that cannot be stored)."""
    raw = request.get_data()
    try:
        body = json.loads(
            raw.decode("utf-8") if raw else "null",
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except UnicodeDecodeError:
        raise BadRequest("the body must be UTF-8") from None
    except RecursionError:
        raise BadRequest(f"the body nests deeper than {limits.MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unstorable = {}
    _check_json(body, "", 1, unstorable)
    if unstorable:
        raise Rejected(unstorable)
    return body


def _bounded_int(digits):
    if len(digits.lstrip("-")) > len(str(limits.MAX_JSON_INTEGER)) or abs(int(digits)) > limits.MAX_JSON_INTEGER:
        raise ValueError(f"the number {digits[:20]}... is out of range (at most 2^53)")
    return int(digits)


def _finite_float(digits):
    value = float(digits)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {digits[:20]} is out of range")
    return value


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _check_json(value, path, depth, unstorable):
    """Refuses nesting past `limits.MAX_JSON_DEPTH` (400) and collects texts no column can store (422)."""
    if depth > limits.MAX_JSON_DEPTH:
        raise BadRequest(f"the body nests deeper than {limits.MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if _UNSTORABLE.search(key):
                raise BadRequest("a member name contains a NUL character or an unpaired surrogate")
            _check_json(item, f"{path}.{key}" if path else key, depth + 1, unstorable)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}.{index}" if path else str(index), depth + 1, unstorable)
    elif isinstance(value, str) and _UNSTORABLE.search(value):
        unstorable.setdefault(path, []).append("Must not contain NUL characters or unpaired surrogates.")


def validate(schema, body):
    """Loads `body` with a marshmallow schema, or 422 with every failing field at once."""
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise Rejected(flatten_errors(exc.messages)) from None


class ApiEntrypoint(HttpRequestHandler):
    """A nameko http entrypoint whose errors are JSON, with a correlation id per request.

    `ApiError`s are expected answers (401, 422, 409...), not failures: nameko logs them
    as warnings instead of errors with a traceback.
    """

    server = BoundedWebServer()

    def __init__(self, method, url, expected_exceptions=(ApiError, DomainError, ConcurrencyError), **kwargs):
        super().__init__(method, url, expected_exceptions=expected_exceptions, **kwargs)

    def handle_request(self, request):
        correlation_id = request.headers.get("X-Correlation-Id", "")
        if not _CORRELATION_ID.match(correlation_id):
            correlation_id = str(uuid.uuid4())
        request.correlation_id = correlation_id
        token = correlation_id_var.set(correlation_id)
        started = time.perf_counter()
        try:
            response = super().handle_request(request)
        finally:
            correlation_id_var.reset(token)
        metrics = ops_metrics(self.container.service_name)
        metrics.http_requests.labels(self.container.service_name, request.method, str(response.status_code)).inc()
        metrics.http_latency.labels(self.container.service_name, request.method).observe(time.perf_counter() - started)
        response.headers["X-Correlation-Id"] = correlation_id
        return response

    def response_from_exception(self, exc):
        response = error_response(exc)
        if response is not None:
            return response
        log.exception("unhandled error in %s %s", self.method, self.url)
        return json_response(500, {"error": "internal", "message": "internal error"})


api = ApiEntrypoint.decorator

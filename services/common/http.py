"""HTTP plumbing shared by the staff APIs: errors as JSON, one exception mapper, validation.

Every handler raises `ApiError`s; `api` (a nameko http entrypoint) turns them into the
responses of CONTRACTS §2, so no handler formats an error itself.
"""

import json
import logging
import time
import uuid

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from .envelope import dumps
from .logs import correlation_id_var
from .ops import ops_metrics

log = logging.getLogger(__name__)


class ApiError(Exception):
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


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    """A command not allowed in the current state; the body names the state."""

    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "validation_failed"

    def __init__(self, errors):
        super().__init__("validation failed")
        self.errors = errors

    def body(self):
        return {"errors": self.errors}


class Unavailable(ApiError):
    status, code = 503, "unavailable"


def json_response(status, payload, headers=None):
    response = Response(dumps(payload), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


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


def parse_json(request):
    """The request body as a JSON object, or 400."""
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def validate(schema, body):
    """Loads `body` with a marshmallow schema, or 422 with every failing field at once."""
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise Unprocessable(flatten_errors(exc.messages)) from None


class ApiEntrypoint(HttpRequestHandler):
    """A nameko http entrypoint whose errors are JSON, with a correlation id per request.

    `ApiError`s are expected answers (401, 422, 409...), not failures: nameko logs them
    as warnings instead of errors with a traceback.
    """

    def __init__(self, method, url, expected_exceptions=ApiError, **kwargs):
        super().__init__(method, url, expected_exceptions=expected_exceptions, **kwargs)

    def handle_request(self, request):
        correlation_id = request.headers.get("X-Correlation-Id") or str(uuid.uuid4())
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
        if isinstance(exc, ApiError):
            return json_response(exc.status, exc.body())
        log.exception("unhandled error in %s %s", self.method, self.url)
        return json_response(500, {"error": "internal", "message": "internal error"})


api = ApiEntrypoint.decorator

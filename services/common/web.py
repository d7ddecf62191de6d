"""The HTTP server every service runs: each request bounded in size and time, every refusal JSON.

nameko reads a request body inside the worker, so twenty clients trickling bodies used to
hold all twenty workers and `/health` went unanswered. Here the connection's own green
thread reads the whole body first, at most `HTTP_MAX_BODY_BYTES` (413 beyond) within
`HTTP_READ_TIMEOUT_SECONDS` (408 after), and only then hands the request to a worker.
What no entrypoint answers (an unknown route, a wrong method, an odd path, query or
header) gets the JSON error shape of CONTRACTS §2 here, before any worker runs.
"""

import io
import logging
import re
import uuid
from urllib.parse import parse_qsl, urlencode

import eventlet
from eventlet.wsgi import ChunkReadError
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from . import limits
from .envelope import dumps

log = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{limits.MAX_IDEMPOTENCY_KEY_LENGTH}}}$")
_CHUNK = 64 * 1024


def json_response(status, payload, headers=None):
    response = Response(dumps(payload), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class ClientGone(Exception):
    """The client closed its connection before its request was read."""


class _Refusal(Exception):
    def __init__(self, status, code, message, close=False, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.close, self.headers = status, code, message, close, headers

    def response(self):
        return json_response(self.status, {"error": self.code, "message": self.message}, self.headers)


class BoundedProtocol(HttpOnlyProtocol):
    """Lets the application close the connection after its answer (413, 408: the rest of the
    body is never read)."""

    def get_environ(self):
        environ = super().get_environ()
        environ["tiaojie.close_connection"] = self._close_after_response
        return environ

    def _close_after_response(self):
        self.close_connection = 1


class BoundedWsgiApp(WsgiApp):
    def __init__(self, server, max_body_bytes, read_timeout):
        super().__init__(server)
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout

    def __call__(self, environ, start_response):
        try:
            check_request_line(environ)
            provider, values = self.url_map.bind_to_environ(environ).match()
            if environ.get("REQUEST_METHOD") in BODY_METHODS:
                read_body(environ, self.max_body_bytes, self.read_timeout)
        except ClientGone:
            log.debug("client closed the connection before its request was read")
            _close(environ)
            return json_response(400, {"error": "bad_request", "message": "incomplete request"})(
                environ, start_response
            )
        except _Refusal as refusal:
            if refusal.close:
                _close(environ)
            return refusal.response()(environ, start_response)
        except HTTPException as exc:
            return error_response(exc)(environ, start_response)
        request = Request(environ, shallow=True)
        request.path_values = {name: canonical_id(name, value) for name, value in values.items()}
        return provider.handle_request(request)(environ, start_response)


def check_request_line(environ):
    """Refuses what no handler could take: NUL in the path or query, a malformed Idempotency-Key."""
    if "\x00" in environ.get("PATH_INFO", ""):
        raise _Refusal(404, "not_found", "no such resource")
    query = environ.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        raise _Refusal(400, "bad_request", "the query must not contain NUL characters")
    if "_id=" in query:
        pairs = parse_qsl(query, keep_blank_values=True)
        canonical = [(name, canonical_id(name, value)) for name, value in pairs]
        if canonical != pairs:
            environ["QUERY_STRING"] = urlencode(canonical)
    key = environ.get("HTTP_IDEMPOTENCY_KEY")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise _Refusal(
            400,
            "bad_request",
            f"Idempotency-Key must be 1 to {limits.MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters",
        )


def canonical_id(name, value):
    """An id in the path or query in the one form every service stores: a UUID in any form
    intake accepts (upper case, `urn:uuid:`, braces) becomes lower case with hyphens."""
    if not (name.endswith("_id") and isinstance(value, str)):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def read_body(environ, max_body_bytes, read_timeout):
    """Reads the whole body into memory, or refuses it; the request then reads it from there."""
    length = environ.get("CONTENT_LENGTH") or None
    if length is not None and int(length) > max_body_bytes:
        raise _Refusal(413, "payload_too_large", f"the body may have at most {max_body_bytes} bytes", close=True)
    stream = environ["wsgi.input"]
    remaining = int(length) if length is not None else None
    chunks, size = [], 0
    try:
        with eventlet.Timeout(read_timeout):
            while remaining is None or remaining > 0:
                chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
                if not chunk:
                    if remaining:
                        raise ClientGone()
                    break
                size += len(chunk)
                if size > max_body_bytes:
                    raise _Refusal(
                        413, "payload_too_large", f"the body may have at most {max_body_bytes} bytes", close=True
                    )
                chunks.append(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
    except eventlet.Timeout:
        raise _Refusal(408, "request_timeout", f"the body was not sent within {read_timeout:g} s", close=True) from None
    except (OSError, ChunkReadError, ValueError):
        raise ClientGone() from None
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = True


def error_response(exc):
    """A werkzeug HTTP error (no such route, wrong method) in the JSON error shape."""
    if exc.code is not None and exc.code < 400:  # a redirect (a missing trailing slash): pass it on
        return exc.get_response()
    headers = {key: value for key, value in exc.get_headers() if key.lower() == "allow"}
    code = re.sub(r"\W+", "_", (exc.name or "error").lower()).strip("_")
    return json_response(exc.code or 500, {"error": code, "message": exc.description or exc.name}, headers)


def _close(environ):
    environ.get("tiaojie.close_connection", lambda: None)()


class BoundedWebServer(WebServer):
    """nameko's web server with a read timeout, a body limit and JSON refusals."""

    def _setting(self, key, default):
        return type(default)(self.container.config.get(key) or default)

    def get_wsgi_app(self):
        return BoundedWsgiApp(
            self,
            max_body_bytes=self._setting("HTTP_MAX_BODY_BYTES", limits.MAX_BODY_BYTES),
            read_timeout=self._setting("HTTP_READ_TIMEOUT_SECONDS", limits.READ_TIMEOUT_SECONDS),
        )

    def get_wsgi_server(self, sock, wsgi_app, protocol=BoundedProtocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)
        # An idle connection (headers trickled, a keep-alive nobody uses) is closed after this.
        server.socket_timeout = self._setting("HTTP_READ_TIMEOUT_SECONDS", limits.READ_TIMEOUT_SECONDS)
        return server

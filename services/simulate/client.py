"""The staff HTTP APIs as the simulator calls them (plain urllib, JSON, bearer tokens)."""

import json
import time
import urllib.error
import urllib.request
import uuid

from services.common.envelope import dumps


class ApiRefused(Exception):
    """The service answered 4xx: the request was refused and stored nothing."""

    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class ApiUnavailable(Exception):
    """No answer, or a 5xx, after the retries."""


class StaffApi:
    """One service's `/api/v1`, retrying what the network or a restart loses.

    Every POST carries an `Idempotency-Key`, so a retry after a lost response has no
    second effect.
    """

    def __init__(self, base_url, timeout=10.0, attempts=10):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts

    def call(self, method, path, token, body=None, idempotency_key=None):
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        delay = 0.2
        for attempt in range(self.attempts):
            request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8") or "null")
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", errors="replace")
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = text
                if exc.code < 500:
                    raise ApiRefused(exc.code, payload) from None
                failure = f"{exc.code}: {payload}"
            except (OSError, ValueError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if attempt < self.attempts - 1:
                time.sleep(delay)
                delay = min(delay * 2, 3.0)
        raise ApiUnavailable(f"{method} {self.base_url}{path}: {failure}")

    def get(self, path, token):
        return self.call("GET", path, token)

    def post(self, path, token, body, idempotency_key=None):
        return self.call("POST", path, token, body, idempotency_key)

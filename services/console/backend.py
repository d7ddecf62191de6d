"""The services' staff APIs as the console calls them: always with the person's own credential.

The console keeps no copy of case data: every page asks the services, with the session
secret as the bearer, so each service decides the person's rights and records the actor.
"""

import dataclasses
import json

import requests

from services.common.config import environment, http_port

# The services the console talks to, and the variables that may point it elsewhere.
BACKENDS = ("intake", "mediation", "arbitration_link", "metrics", "documents")
DEFAULT_PORTS = {"documents": 8006}
TIMEOUT_SECONDS = 15


def backend_urls(env=None):
    """`{"intake": "http://127.0.0.1:8001", ...}`; `<SERVICE>_URL` overrides each."""
    env = environment(env)
    urls = {}
    for service in BACKENDS:
        port = env.get(f"{service.upper()}_HTTP_PORT") or DEFAULT_PORTS.get(service) or http_port(service, env)
        urls[service] = (env.get(f"{service.upper()}_URL") or f"http://127.0.0.1:{port}").rstrip("/")
    return urls


@dataclasses.dataclass
class Answer:
    """A service's answer: the status and the JSON body (or `{}`)."""

    status: int
    body: dict
    content: bytes = b""
    content_type: str = ""
    disposition: str = ""

    @property
    def ok(self):
        return 200 <= self.status < 300

    def errors(self):
        return self.body.get("errors", {}) if isinstance(self.body, dict) else {}


class Unreachable(Exception):
    """A service did not answer (down or too slow)."""

    def __init__(self, service):
        super().__init__(service)
        self.service = service


class Backends:
    """Calls on the services with one person's bearer."""

    def __init__(self, urls, bearer, session=None):
        self.urls = urls
        self.bearer = bearer
        self.http = session or requests

    def call(self, service, method, path, body=None, params=None, idempotency_key=None):
        headers = {"Authorization": f"Bearer {self.bearer}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            response = self.http.request(
                method,
                self.urls[service] + path,
                data=data,
                params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                headers=headers,
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException:
            raise Unreachable(service) from None
        content_type = response.headers.get("Content-Type", "")
        parsed = {}
        if content_type.startswith("application/json"):
            try:
                parsed = response.json()
            except ValueError:
                parsed = {}
        return Answer(
            response.status_code,
            parsed,
            response.content,
            content_type,
            response.headers.get("Content-Disposition", ""),
        )

    def get(self, service, path, **params):
        return self.call(service, "GET", path, params=params)

    def post(self, service, path, body, idempotency_key=None):
        return self.call(service, "POST", path, body=body, idempotency_key=idempotency_key)

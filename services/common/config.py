"""Configuration from the environment: ports, database and broker addresses, time zone.

The names are public (CONTRACTS §1): `<SERVICE>_HTTP_PORT`, `AMQP_URI`, `DATABASE_URL`
and the per-service `<SERVICE>_DATABASE_URL`.
"""

import os
from urllib.parse import urlsplit, urlunsplit

from . import limits

SERVICES = ("intake", "mediation", "arbitration_link", "metrics", "console", "documents")

DEFAULT_HTTP_PORTS = {
    "intake": 8001,
    "mediation": 8002,
    "arbitration_link": 8003,
    "metrics": 8004,
    "console": 8005,
    "documents": 8006,
}

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tiaojie"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def environment(env=None):
    """The settings' source: `env` when given (tests), else the process environment.

    The one place outside the services' bootstraps that reads the environment.
    """
    return os.environ if env is None else env


_env = environment


def database_url(service, env=None):
    """The database of one service.

    `<SERVICE>_DATABASE_URL` wins; otherwise the database named in `DATABASE_URL`
    gets the service's name as a suffix (`tiaojie` → `tiaojie_intake`), so every
    service keeps its own event store on one server.
    """
    env = _env(env)
    own = env.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return own
    base = env.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "tiaojie"
    return urlunsplit(parts._replace(path=f"/{name}_{service}"))


def amqp_uri(env=None):
    return _env(env).get("AMQP_URI", DEFAULT_AMQP_URI)


def http_port(service, env=None):
    env = _env(env)
    return int(env.get(f"{service.upper()}_HTTP_PORT", DEFAULT_HTTP_PORTS[service]))


def http_host(env=None):
    return _env(env).get("HTTP_HOST", "0.0.0.0")


def timezone_name(env=None):
    return _env(env).get("TIAOJIE_TIMEZONE", DEFAULT_TIMEZONE)


def delivery_limit(env=None):
    """How often a consumer may fail one message before it is dead-lettered."""
    return int(_env(env).get("TIAOJIE_DELIVERY_LIMIT", "5"))


def service_config(service, env=None):
    """The nameko container config of one service."""
    env = _env(env)
    return {
        "SERVICE_NAME": service,
        "AMQP_URI": amqp_uri(env),
        "DATABASE_URL": database_url(service, env),
        "WEB_SERVER_ADDRESS": f"{http_host(env)}:{http_port(service, env)}",
        "TIMEZONE": timezone_name(env),
        "DELIVERY_LIMIT": delivery_limit(env),
        "INBOX_RETENTION_DAYS": int(env.get("TIAOJIE_INBOX_RETENTION_DAYS", "30")),
        "INBOX_PRUNE_SECONDS": float(env.get("TIAOJIE_INBOX_PRUNE_SECONDS", "3600")),
        "PREFETCH_COUNT": int(env.get("TIAOJIE_PREFETCH_COUNT", "20")),
        "max_workers": int(env.get("TIAOJIE_MAX_WORKERS", "20")),
        "HTTP_MAX_BODY_BYTES": int(env.get("TIAOJIE_HTTP_MAX_BODY_BYTES", limits.MAX_BODY_BYTES)),
        "HTTP_READ_TIMEOUT_SECONDS": float(env.get("TIAOJIE_HTTP_READ_TIMEOUT_SECONDS", limits.READ_TIMEOUT_SECONDS)),
        "CLOCK_FILE": env.get("TIAOJIE_CLOCK_FILE"),
        "serializer": "json",
        "LOGGING": None,
    }

"""nameko building blocks every service uses: its store, its relay, health and metrics.

- `ServiceStore` runs the service's `bootstrap` once and gives a worker its settings,
  database, clock, units of work, command pipeline (`store.commands.run(...)`) and
  `consume()`, the idempotent way to apply an event from another service.
- `EventRelay` runs the relay (outbox → `<service>.events`) beside the service.
- `BaseService` answers `/health`, `/ready` and the operational `/metrics`, and prunes
  the inbox of records older than `TIAOJIE_INBOX_RETENTION_DAYS`.
"""

import logging
import time

import kombu
import psycopg2
from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily

from . import auth
from .bootstrap import wire
from .calendar import district_calendar
from .commands import Command, decide_again
from .config import environment
from .credentials import CredentialsConsumer
from .envelope import Event
from .http import api, json_response
from .logs import correlation_id_var
from .messaging import consumer_queue_name, dead_letter_queue, inbox_handlers
from .ops import ops_metrics
from .pipeline import CommandPipeline
from .relay import Relay, envelope_route, events_exchange, relay_backlogs
from .unit_of_work import prune_inbox

log = logging.getLogger(__name__)

# How long a consumer whose database failed waits for it to answer again before the
# message goes back to the queue: each redelivery uses one of its `x-delivery-limit`.
DATABASE_OUTAGE_WAIT_SECONDS = 30.0


class StoreAccess:
    """What a worker sees of `ServiceStore`: the service's settings, units of work and command pipeline."""

    def __init__(self, provider, worker_ctx):
        self.provider = provider
        self.database = provider.database
        self.clock = provider.clock
        self.settings = provider.wiring.settings
        self.commands = provider.commands
        self.service_name = provider.container.service_name
        self.worker_ctx = worker_ctx

    def unit_of_work(self, correlation_id=None, causation_id=None, actor=None):
        return self.provider.wiring.units_of_work(correlation_id or correlation_id_var.get(), causation_id, actor)

    def query(self, fn):
        with self.database.transaction() as cursor:
            return fn(cursor)

    def authenticate(self, request):
        return self.provider.authenticate(request)

    def command(self, request, principal, decide, status=200):
        """Runs `decide(uow)` as a command of `principal` through the pipeline (retries, idempotency)."""
        return self.commands.execute(request, Command(actor=principal), lambda command, uow: decide(uow), status)

    def consume(self, consumer, envelope, effect):
        """Applies `effect(uow, event, previous_version)` once per event for this consumer.

        The effect and the inbox record commit together; a redelivery finds the record
        and does nothing. An envelope that fails validation raises, so the message is
        retried and, at the delivery limit, dead-lettered.
        """
        consumer = f"{self.service_name}.{consumer}"
        metrics = ops_metrics(self.service_name)
        token = correlation_id_var.set(envelope.get("correlation_id") if isinstance(envelope, dict) else None)
        try:
            event = Event.from_envelope(envelope)

            def attempt():
                # What a consumer appends was caused by whoever caused the event it handles.
                with self.unit_of_work(event.correlation_id, event.event_id, event.actor) as uow:
                    previous = uow.inbox.claim(consumer, event)
                    if previous is None:
                        metrics.duplicates.labels(self.service_name, consumer).inc()
                        return _DUPLICATE
                    return effect(uow, event, previous)

            result = decide_again(attempt)
            if result is _DUPLICATE:
                return None
        except Exception as exc:
            metrics.handler_errors.labels(self.service_name, consumer).inc()
            log.exception(
                "consumer %s failed",
                consumer,
                extra={"event_id": envelope.get("event_id") if isinstance(envelope, dict) else None},
            )
            if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
                # The database, not the message, failed: hold the message until the database
                # answers again, so an outage does not use up its deliveries and dead-letter it.
                self._wait_for_database(DATABASE_OUTAGE_WAIT_SECONDS)
            raise
        finally:
            correlation_id_var.reset(token)
        metrics.consumed.labels(self.service_name, consumer).inc()
        metrics.consumer_lag.labels(self.service_name, consumer).set(
            max(0.0, (self.clock.now() - event.recorded_at).total_seconds())
        )
        return result

    def _wait_for_database(self, timeout):
        deadline = time.monotonic() + timeout
        pause = 0.5
        while True:
            time.sleep(pause)
            try:
                self.database.ping()
                return True
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                if time.monotonic() + pause > deadline:
                    return False
                pause = min(pause * 2, 5.0)


_DUPLICATE = object()


class ServiceStore(DependencyProvider):
    """The kernel's parts of one service, built once per container by the service's `bootstrap`."""

    def __init__(self, bootstrap=None):
        self.bootstrap = bootstrap or wire
        self._wiring = None

    def wired(self):
        """The bootstrap's parts, built on first use: once per container, whichever extension asks first."""
        if self._wiring is None:
            self._wiring = self.bootstrap(self.container.config)
        return self._wiring

    def setup(self):
        self.wiring = self.wired()
        self.database = self.wiring.database
        self.clock = self.wiring.clock
        self.commands = CommandPipeline(self.wiring.units_of_work, self.authenticate, self.wiring.aggregates)

    def authenticate(self, request):
        token = auth.bearer_token(request)
        with self.database.transaction() as cursor:
            return auth.find_principal(cursor, token, self.clock.now())

    def stop(self):
        self.database.close()

    def kill(self):
        self.database.close()

    def get_dependency(self, worker_ctx):
        return StoreAccess(self, worker_ctx)


class SettingTimer(Timer):
    """A nameko timer whose interval, in seconds, is read at start: a setting of the service's
    bootstrap (`every("sweep_seconds")`), else a key of the container config, else `default`."""

    def __init__(self, setting, default=None, **kwargs):
        self.setting = setting
        self.default = default
        super().__init__(interval=None, **kwargs)

    def setup(self):
        store = next(d for d in self.container.dependencies if isinstance(d, ServiceStore))
        value = getattr(store.wired().settings, self.setting, None)
        if value is None:
            value = self.container.config.get(self.setting, self.default)
        self.interval = float(value)
        super().setup()


every = SettingTimer.decorator


class EventRelay(DependencyProvider):
    """Runs a relay in a managed green thread for the life of the container.

    By default it publishes every event envelope to `<service>.events`; a service may
    add relays of its own with another `name`, `route` and `exchanges`.
    """

    def __init__(self, name=None, route=None, exchanges=None):
        self.relay_name = name
        self.route = route
        self.exchanges = exchanges

    def setup(self):
        config = self.container.config
        service = self.container.service_name
        self.relay = Relay(
            name=self.relay_name or events_exchange(service),
            database_url=config["DATABASE_URL"],
            amqp_uri=config["AMQP_URI"],
            route=self.route or envelope_route(service),
            exchanges=self.exchanges or [(events_exchange(service), "topic")],
            batch_size=int(config.get("RELAY_BATCH_SIZE", 500)),
        )
        self._thread = None

    def start(self):
        self._thread = self.container.spawn_managed_thread(self.relay.run)

    def stop(self):
        self.relay.stop()
        if self._thread is not None:
            self._thread.kill()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.relay


class _PipelineCollector:
    """Relay backlog and queue depths, read when scraped and kept for a few seconds.

    A reading costs a database connection and two passive declares per consumer queue;
    scrapes closer together than `max_age` seconds get the last one.
    """

    def __init__(self, service_name, service_class, database_url, amqp_uri, max_age=5.0):
        self.service_name = service_name
        self.database_url = database_url
        self.amqp_uri = amqp_uri
        self.max_age = max_age
        self._reading = (float("-inf"), [])
        self.queues = [
            consumer_queue_name(source, event_type, service_name, method)
            for source, event_type, method in inbox_handlers(service_class)
        ]

    def describe(self):
        return []

    def collect(self):
        taken_at, families = self._reading
        if time.monotonic() - taken_at > self.max_age:
            families = list(self._read())
            self._reading = (time.monotonic(), families)
        return families

    def _read(self):
        backlog = GaugeMetricFamily(
            "tiaojie_relay_backlog_events", "Committed events not yet published", labels=["service", "relay"]
        )
        try:
            conn = psycopg2.connect(self.database_url, connect_timeout=2)
            try:
                with conn.cursor() as cur:
                    for relay, value in relay_backlogs(cur).items():
                        backlog.add_metric([self.service_name, relay], value)
            finally:
                conn.close()
        except psycopg2.Error:
            pass
        yield backlog
        depth = GaugeMetricFamily("tiaojie_queue_messages", "Messages ready in a consumer queue", labels=["queue"])
        dead = GaugeMetricFamily("tiaojie_dead_letter_messages", "Messages in a dead-letter queue", labels=["queue"])
        try:
            with kombu.Connection(self.amqp_uri, connect_timeout=2) as conn:
                channel = conn.channel()
                for name in self.queues:
                    try:
                        _, ready, _ = channel.queue_declare(name, passive=True)
                        depth.add_metric([name], ready)
                        _, ready, _ = channel.queue_declare(dead_letter_queue(name).name, passive=True)
                        dead.add_metric([name], ready)
                    except Exception:  # noqa: BLE001 - a queue not yet declared
                        channel = conn.channel()
        except Exception:  # noqa: BLE001 - the broker is down: report no depths
            pass
        yield depth
        yield dead


INBOX_PRUNE_BATCH = 10000


class BaseService(CredentialsConsumer):
    """Health, readiness, operational metrics and the people's credentials, the same on every service."""

    store = ServiceStore()

    @api("GET", "/api/v1/me")
    def me(self, request):
        """Who the bearer is, as this service knows it: 401 until it has the session's event.
        The console asks this after a login before it sends the person anywhere."""
        principal = self.store.authenticate(request)
        return json_response(
            200,
            {
                **(principal.person or {"role": principal.role}),
                "center_id": principal.center_id,
                "actor": principal.actor,
            },
        )

    @every("INBOX_PRUNE_SECONDS", default=3600)
    def prune_inbox(self):
        """Deletes inbox records older than the retention, a batch per transaction."""
        days = int(self.store.provider.container.config.get("INBOX_RETENTION_DAYS", 30))
        removed = [0, 0]
        while True:
            with self.store.database.transaction() as cursor:
                batch = prune_inbox(cursor, days, INBOX_PRUNE_BATCH)
            removed = [total + n for total, n in zip(removed, batch, strict=True)]
            if max(batch) < INBOX_PRUNE_BATCH:
                break
        if any(removed):
            log.info("inbox pruned: %d records and %d stream versions older than %d days", *removed, days)
        return removed

    @api("GET", "/health")
    def health(self, request):
        return json_response(200, {"status": "ok", "service": self.name})

    @api("GET", "/ready")
    def ready(self, request):
        problems = {}
        try:
            self.store.database.ping()
        except Exception as exc:  # noqa: BLE001
            problems["database"] = type(exc).__name__
        try:
            with kombu.Connection(self.store.provider.container.config["AMQP_URI"], connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
        except Exception as exc:  # noqa: BLE001
            problems["broker"] = type(exc).__name__
        problems.update(self.readiness_problems())
        calendar = self._calendar_coverage()
        if problems:
            return json_response(503, {"status": "unavailable", "reason": problems, "calendar": calendar})
        return json_response(200, {"status": "ready", "calendar": calendar})

    def _calendar_coverage(self):
        """What the district calendar knows around today; a `warning` when a year is missing."""
        config = self.store.provider.container.config
        calendar = district_calendar({**environment(None), "TIAOJIE_TIMEZONE": config["TIMEZONE"]})
        return calendar.coverage(calendar.local_date(self.store.provider.clock.now()))

    @api("GET", "/metrics")
    def metrics(self, request):
        from werkzeug.wrappers import Response

        metrics = ops_metrics(self.name)
        if not getattr(metrics, "_pipeline", None):
            config = self.store.provider.container.config
            metrics._pipeline = _PipelineCollector(self.name, type(self), config["DATABASE_URL"], config["AMQP_URI"])
            metrics.add_collector(metrics._pipeline)
        body = generate_latest(metrics.registry) + self.extra_metrics()
        return Response(body, status=200, mimetype="text/plain; version=0.0.4")

    def readiness_problems(self):
        """What else this service needs to answer its requests, `{what: why}` (empty when ready)."""
        return {}

    def extra_metrics(self):
        """Bytes appended to `/metrics` (the metrics service adds the domain gauges)."""
        return b""


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()

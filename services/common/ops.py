"""Each service's own operational metrics (consumers, HTTP), in a registry of its own."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_ops = {}


class OpsMetrics:
    """A service's own operational metrics, in a registry of its own."""

    def __init__(self, service):
        self.service = service
        self.registry = CollectorRegistry()
        self.consumed = Counter(
            "tiaojie_events_consumed_total",
            "Events applied by a consumer",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "tiaojie_events_duplicate_total",
            "Redelivered events skipped by the inbox",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "tiaojie_handler_errors_total",
            "Consumer failures (the message is retried, then dead-lettered)",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "tiaojie_consumer_lag_seconds",
            "Age of the last event a consumer applied, when applied",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "tiaojie_http_requests_total",
            "Staff API requests",
            ["service", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "tiaojie_http_request_seconds",
            "Staff API latency",
            ["service", "method"],
            registry=self.registry,
        )

    def add_collector(self, collector):
        self.registry.register(collector)


def ops_metrics(service):
    if service not in _ops:
        _ops[service] = OpsMetrics(service)
    return _ops[service]

"""Where each service's parts are found, by convention: `services/<name>/`.

- `service.py` defines the nameko service class named in `SERVICE_CLASSES`;
- `schema.py` may define `MIGRATIONS`, applied after the common tables;
- `topology.py` may define `declare(channel, env)` and `declare_users(env)` for broker
  objects beyond the events exchange and consumer queues.
"""

import importlib

from services.common.config import SERVICES

SERVICE_CLASSES = {
    "intake": "services.intake.service:IntakeService",
    "mediation": "services.mediation.service:MediationService",
    "arbitration_link": "services.arbitration_link.service:ArbitrationLinkService",
    "metrics": "services.metrics.service:MetricsService",
    "console": "services.console.service:ConsoleService",
    "documents": "services.documents.service:DocumentsService",
}


def _optional(module):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def available_services():
    return [name for name in SERVICES if _optional(SERVICE_CLASSES[name].split(":")[0]) is not None]


def service_class(name):
    module, cls = SERVICE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def service_migrations(name):
    module = _optional(f"services.{name}.schema")
    return list(getattr(module, "MIGRATIONS", [])) if module else []


def service_topology(name):
    return _optional(f"services.{name}.topology")


def queue_names(names):
    """The consumer queues of the services `names` and the arbitration link's queues, in a
    vhost (each also has its `<queue>.dead`)."""
    from services.common.messaging import consumer_queue_name, inbox_handlers

    queues = []
    for name in names:
        for source, event_type, method in inbox_handlers(service_class(name)):
            queues.append(consumer_queue_name(source, event_type, name, method))
    if "arbitration_link" in names:
        from services.arbitration_link.contract import REFERRALS_QUEUE, REPLIES_QUEUE

        queues += [REFERRALS_QUEUE, REPLIES_QUEUE]
    return queues


def quorum_queues(names=None):
    """Every quorum queue `tiaojie setup` declares in a vhost: the queues and their dead letters."""
    queues = queue_names(available_services() if names is None else names)
    return queues + [f"{queue}.dead" for queue in queues]

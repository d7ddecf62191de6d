"""`tiaojie serve`: runs nameko service containers in this process until SIGTERM.

Each service gets a container with its own config (its own HTTP port and database), so
`serve all` runs the four side by side; docker-compose runs one per container.
"""

import errno
import logging
import signal
import sys

import eventlet
from nameko.containers import ServiceContainer

from services import registry
from services.common.config import SERVICES, environment, service_config
from services.common.db import make_green
from services.common.logs import configure_logging

log = logging.getLogger(__name__)


def resolve(names):
    if "all" in names:
        return registry.available_services()
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise SystemExit(f"unknown service(s): {', '.join(unknown)}; choose from {', '.join(SERVICES)} or all")
    return list(dict.fromkeys(names))


def serve(names, env=None):
    configure_logging(environment().get("TIAOJIE_LOG_LEVEL", "INFO"))
    make_green()
    names = resolve(names)
    containers = [ServiceContainer(registry.service_class(n), service_config(n, env)) for n in names]
    stopping = []
    started = []

    def shutdown(signum, frame):
        # Signal handlers run in the hub's main loop: stop in a green thread, once every
        # container has started (a container stopped while it starts keeps running).
        if not stopping:
            stopping.append(signum)
            if started:
                eventlet.spawn_n(_stop_all, containers)

    # Before the containers start: a service answers /ready as soon as its web server
    # runs, and a SIGTERM from then on must stop it cleanly, not kill it.
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    for container in containers:
        container.start()
        log.info("service started", extra={"service": container.service_name})
    started.append(True)
    if stopping:
        eventlet.spawn_n(_stop_all, containers)

    waiter = eventlet.spawn(lambda: [c.wait() for c in containers])
    while True:
        try:
            waiter.wait()
            break
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise
        except KeyboardInterrupt:
            shutdown(signal.SIGINT, None)
    log.info("stopped")
    return 0


def _stop_all(containers):
    pool = eventlet.GreenPool()
    for container in containers:
        pool.spawn(_stop_one, container)
    pool.waitall()


def _stop_one(container):
    try:
        with eventlet.Timeout(20):
            container.stop()
    except eventlet.Timeout:
        log.warning("service did not stop in time; killing", extra={"service": container.service_name})
        container.kill()


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))

"""Every service's /health, /ready and /metrics, and a clean stop of `tiaojie serve`."""

import signal

from tests import support
from tests.integration.kernel_services import SourceService


def test_health_ready_and_metrics(container_factory_with_db):
    port = support.free_port()
    container_factory_with_db(SourceService, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    assert support.http("GET", base + "/health")[0] == 200
    status, body, _ = support.http("GET", base + "/ready")
    assert (status, body["status"]) == (200, "ready")
    status, text, _ = support.http("GET", base + "/metrics")
    assert status == 200 and "tiaojie_relay_backlog_events" in text


def test_ready_is_503_with_a_reason_when_the_database_is_unreachable(container_factory_with_db):
    port = support.free_port()
    container = container_factory_with_db(SourceService, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    container.config["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/no_such_database_here"
    container.stop()
    from nameko.containers import ServiceContainer

    broken = ServiceContainer(SourceService, container.config)
    broken.start()
    try:
        status, body, _ = support.http("GET", f"http://127.0.0.1:{port}/ready")
        assert status == 503
        assert "database" in body["reason"]
        assert support.http("GET", f"http://127.0.0.1:{port}/health")[0] == 200
    finally:
        broken.kill()


def test_serve_stops_cleanly_on_sigterm(infrastructure):
    service = support.ServiceProcess("intake").start()
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(30) == 0
    service.stop()

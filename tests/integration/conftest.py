"""Fixtures for integration tests: databases and in-process service containers."""

import pytest
from nameko.containers import ServiceContainer

from services.common.config import database_url, service_config
from services.common.db import Database, drop_database, ensure_database, migrate
from services.common.schema import COMMON_MIGRATIONS
from services.metrics.schema import MIGRATIONS as METRICS_MIGRATIONS


@pytest.fixture
def fresh_database(infrastructure, request):
    """An empty, migrated database of its own for one test: `(url, Database)`."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:40]
    url = database_url(name)
    drop_database(url)
    ensure_database(url)
    migrate(url, COMMON_MIGRATIONS)
    database = Database(url)
    yield url, database
    database.close()
    drop_database(url)


@pytest.fixture(scope="module")
def read_model_database():
    """A metrics read model of its own (the metrics migrations), for a module's tests."""
    url = database_url("metrics_property")
    drop_database(url)
    ensure_database(url)
    migrate(url, COMMON_MIGRATIONS + METRICS_MIGRATIONS)
    database = Database(url)
    database.url = url
    yield database
    database.close()
    drop_database(url)


@pytest.fixture
def container_factory_with_db(infrastructure):
    """Starts nameko containers in this process, each with a fresh migrated database."""
    started = []

    def make(service_class, extra_migrations=(), **config_overrides):
        name = service_class.name
        config = service_config("intake")  # the shape; the names below are the service's own
        config.update(SERVICE_NAME=name, DATABASE_URL=database_url(name), WEB_SERVER_ADDRESS="127.0.0.1:0")
        config.update(config_overrides)
        drop_database(config["DATABASE_URL"])
        ensure_database(config["DATABASE_URL"])
        migrate(config["DATABASE_URL"], COMMON_MIGRATIONS + list(extra_migrations))
        container = ServiceContainer(service_class, config)
        started.append((container, config["DATABASE_URL"]))
        container.start()
        return container

    yield make
    for container, _ in started:
        container.kill()
    for _, url in started:
        drop_database(url)

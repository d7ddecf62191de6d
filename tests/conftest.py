"""Test configuration. eventlet is patched before anything else imports (nameko's helpers need it)."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

import pytest  # noqa: E402

from tests import support  # noqa: E402

os.environ["DATABASE_URL"] = support.DATABASE_URL
os.environ["AMQP_URI"] = support.AMQP_URI


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/e2e/" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def infrastructure():
    """Fresh databases and a fresh vhost for the session, prepared by `tiaojie setup`."""
    from services.common.config import SERVICES, database_url
    from services.common.db import drop_database

    for name in SERVICES:
        drop_database(database_url(name))
    support.reset_vhost()
    support.cli("setup")
    return support


@pytest.fixture(scope="session")
def tokens(infrastructure):
    """Staff tokens for two centers, the district and an admin."""
    return {
        "huaguangjie": support.issue_token("--center", "huaguangjie"),
        "longshengjie": support.issue_token("--center", "longshengjie"),
        "district": support.issue_token("--district"),
        "admin": support.issue_token("--admin"),
    }


from services.common.db import make_green  # noqa: E402

# Database calls yield to other green threads in tests too, as they do in the services.
make_green()

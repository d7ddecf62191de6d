"""Test configuration. eventlet is patched before anything else imports (nameko's helpers need it)."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

import psycopg2  # noqa: E402
import pytest  # noqa: E402

from tests import support  # noqa: E402

os.environ["DATABASE_URL"] = support.DATABASE_URL
os.environ["AMQP_URI"] = support.AMQP_URI


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/e2e/" in path or "/browser/" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def infrastructure(request):
    """Fresh databases and a fresh vhost for the session, prepared by `tiaojie setup`; at
    the end of the session every database and vhost of the test namespace is removed."""
    from services.common import namespace

    request.config.stash[_USED_INFRASTRUCTURE] = True
    namespace.remove(support.PG_SERVER, support.NAMESPACE)
    support.reset_vhost()
    support.cli("setup")
    yield support
    namespace.remove(support.PG_SERVER, support.NAMESPACE)


_USED_INFRASTRUCTURE = pytest.StashKey[bool]()


def pytest_sessionfinish(session, exitstatus):
    """A session that used PostgreSQL and the broker leaves nothing of its namespace there."""
    if not session.config.stash.get(_USED_INFRASTRUCTURE, False):
        return
    from services.common import namespace

    found = namespace.leftovers(support.PG_SERVER, support.NAMESPACE)
    if any(found.values()):
        print(f"\nthe test session left behind: {found}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_NOT_DRAWN = pytest.StashKey[set]()


@pytest.fixture(scope="module", autouse=True)
def case_numbers_are_drawn_by_intake(request):
    """After each module, in a session that uses the shared stores: every case number in
    intake's store was drawn from intake's counter. A test that stores a case with a number
    of its own there (a fixture's `HGJ-2026-00017`) makes that center's registrations fail
    with 500 in a later module once the counter reaches it: such a test works in databases
    of its own. Each such number is reported once, after the module that left it."""
    yield
    if not request.config.stash.get(_USED_INFRASTRUCTURE, False):
        return
    from services.common.config import database_url

    try:
        found = support.case_numbers_not_drawn(database_url("intake", support.test_env()))
    except psycopg2.OperationalError:
        return  # the session's stores are gone
    reported = request.config.stash.setdefault(_NOT_DRAWN, set())
    new = found - reported
    reported |= found
    if new:
        pytest.fail(f"{request.node.nodeid} left case numbers intake's counter did not draw: {sorted(new)}")


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

"""The test suite and the benchmarks leave nothing behind: a namespace's databases, vhosts
and broker users are removed at the end (the session fixture and `python -m bench` both
call `namespace.remove`; `pytest_sessionfinish` and `python -m tests.leftovers` check)."""

import subprocess
import sys

from services.common import namespace
from services.common.db import ensure_database
from tests import support


def test_a_namespace_is_removed_whole_and_the_leftovers_check_sees_what_remains(infrastructure):
    probe = f"{support.NAMESPACE}_leftover_probe"
    ensure_database(f"{support.PG_SERVER}/{probe}")
    ensure_database(f"{support.PG_SERVER}/{probe}_intake")
    support.rabbitmqctl("add_vhost", probe)
    support.rabbitmqctl("add_user", f"{probe}_user", "x")
    try:
        found = namespace.leftovers(support.PG_SERVER, probe)
        assert found == {"databases": [probe, f"{probe}_intake"], "vhosts": [probe], "users": [f"{probe}_user"]}
        checked = subprocess.run(
            [sys.executable, "-m", "tests.leftovers"],
            cwd=support.ROOT,
            capture_output=True,
            text=True,
            env=support.test_env(TIAOJIE_TEST_NS=probe),
            timeout=60,
        )
        assert checked.returncode == 1 and probe in checked.stderr
    finally:
        namespace.remove(support.PG_SERVER, probe)
    assert namespace.leftovers(support.PG_SERVER, probe) == {"databases": [], "vhosts": [], "users": []}
    checked = subprocess.run(
        [sys.executable, "-m", "tests.leftovers"],
        cwd=support.ROOT,
        capture_output=True,
        text=True,
        env=support.test_env(TIAOJIE_TEST_NS=probe),
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


def test_another_namespace_sharing_a_prefix_is_not_touched(infrastructure):
    other = f"{support.NAMESPACE}x_neighbour"  # `<ns>x...`: not `<ns>` nor `<ns>_...`
    ensure_database(f"{support.PG_SERVER}/{other}")
    try:
        assert other not in namespace.leftovers(support.PG_SERVER, support.NAMESPACE)["databases"]
    finally:
        namespace.remove(support.PG_SERVER, other)

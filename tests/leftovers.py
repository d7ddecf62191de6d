"""`python -m tests.leftovers`: exits 1, naming them, when the test namespace's databases, vhosts or
broker users are still there after a run (`.ci/run` runs it after `make test`)."""

import sys

from services.common import namespace
from tests.support import NAMESPACE, PG_SERVER


def main():
    found = namespace.leftovers(PG_SERVER, NAMESPACE)
    if any(found.values()):
        print(f"the test run left behind: {found}", file=sys.stderr)
        return 1
    print(f"nothing of the test namespace {NAMESPACE!r} is left in PostgreSQL or RabbitMQ")
    return 0


if __name__ == "__main__":
    sys.exit(main())

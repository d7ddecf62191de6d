"""What a service's `bootstrap` builds once, at start: its settings, database, clock and units of work.

Each service has one `bootstrap(config, env=None)` in `services/<name>/bootstrap.py`: the
only place its settings are read (from the container config and the environment) and
its repositories are declared. It returns `wire(config, ...)`; the kernel's `ServiceStore`
runs it once per container and hands its parts to every worker.
"""

import dataclasses

from .clock import clock_from_config
from .db import Database
from .unit_of_work import UnitsOfWork


@dataclasses.dataclass(frozen=True)
class Wiring:
    settings: object
    database: Database
    clock: object
    units_of_work: UnitsOfWork
    aggregates: tuple = ()
    vault: object = None


def wire(config, settings=None, repositories=None, aggregates=(), vault=None, open_loaded=True, remember_keys=True):
    """The kernel's parts for one service: `repositories` by name (`{"records": PostgresIntakeRecords}`).

    A service that keeps personal data passes its `vault` (`services.common.keystore.Vault`):
    its units of work then seal personal fields on append and, unless `open_loaded` is False
    (a service that never shows them), open them on load. They keep the live keys between
    units of work (forgotten as the key store announces their destruction); `remember_keys`
    False asks the key store in every unit of work instead."""
    database = Database(config["DATABASE_URL"], max_connections=int(config.get("DB_POOL_SIZE", 20)))
    clock = clock_from_config(config)
    return Wiring(
        settings=settings,
        database=database,
        clock=clock,
        units_of_work=UnitsOfWork(database, clock, repositories, settings, vault, open_loaded, remember_keys),
        aggregates=tuple(aggregates),
        vault=vault,
    )

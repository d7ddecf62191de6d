"""Intake's bootstrap: its settings, read once at start, and the repositories of its unit of work."""

import functools
from zoneinfo import ZoneInfo

from services.common.bootstrap import wire
from services.common.calendar import district_calendar
from services.common.centers import centers_by_id
from services.common.config import database_url, environment, timezone_name
from services.common.keystore import Vault
from services.common.steps import backdate_days

from .domain import DEFAULT_MEDIATION_DAYS, Case
from .handlers import DEFAULT_RETENTION_SWEEP_SECONDS, DEFAULT_RETENTION_YEARS, IntakeSettings
from .records import PostgresIntakeRecords
from .retention import CLOSING_EVENTS


def intake_settings(config, env=None):
    """Zone, mediation period, centers and retention from the container config and the environment."""
    env = environment(env)
    days = config.get("MEDIATION_DAYS") or env.get("TIAOJIE_MEDIATION_DAYS") or DEFAULT_MEDIATION_DAYS
    zone = config.get("TIMEZONE") or timezone_name(env)
    return IntakeSettings(
        zone=ZoneInfo(zone),
        mediation_days=int(days),
        calendar=district_calendar({**env, "TIAOJIE_TIMEZONE": zone}),
        backdate_days=backdate_days(env),
        centers=centers_by_id(),
        retention_years=int(env.get("TIAOJIE_RETENTION_YEARS", DEFAULT_RETENTION_YEARS)),
        retention_sweep_seconds=float(env.get("TIAOJIE_RETENTION_SWEEP_SECONDS", DEFAULT_RETENTION_SWEEP_SECONDS)),
        closure_databases={
            service: (service == "intake" and config.get("DATABASE_URL")) or database_url(service, env)
            for service in CLOSING_EVENTS
        },
    )


def bootstrap(config, env=None):
    vault = Vault.from_env(env, max_connections=int(config.get("DB_POOL_SIZE", 20)))
    return wire(
        config,
        settings=intake_settings(config, env),
        repositories={"records": functools.partial(PostgresIntakeRecords, search_token=vault.search_token)},
        aggregates=(Case,),
        vault=vault,
    )

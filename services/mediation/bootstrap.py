"""Mediation's bootstrap: its settings, read once at start, and the read models of its unit of work."""

from zoneinfo import ZoneInfo

from services.common.bootstrap import wire
from services.common.config import environment, timezone_name
from services.common.keystore import Vault
from services.common.steps import backdate_days

from .domain import Complaint, Mediation, Mediator
from .readmodels import PostgresReadModels
from .settings import (
    DEFAULT_EXPIRY_GRACE_HOURS,
    DEFAULT_PERFORMANCE_GRACE_DAYS,
    DEFAULT_SWEEP_INTERVAL_SECONDS,
    Settings,
)


def mediation_settings(config, env=None):
    env = environment(env)
    return Settings(
        tz=ZoneInfo(config.get("TIMEZONE") or timezone_name(env)),
        performance_grace_days=int(env.get("TIAOJIE_PERFORMANCE_GRACE_DAYS", DEFAULT_PERFORMANCE_GRACE_DAYS)),
        sweep_interval_seconds=float(env.get("TIAOJIE_SWEEP_INTERVAL_SECONDS", DEFAULT_SWEEP_INTERVAL_SECONDS)),
        backdate_days=backdate_days(env),
        expiry_grace_hours=float(env.get("TIAOJIE_EXPIRY_GRACE_HOURS", DEFAULT_EXPIRY_GRACE_HOURS)),
    )


def bootstrap(config, env=None):
    """Mediation seals its free text and the mediators' names (docs/PRIVACY.md). Its streams do
    not record an erasure (intake's case does): the keys it remembers are forgotten as the key
    store announces their destruction (services/common/keystore.py)."""
    vault = Vault.from_env(env, max_connections=int(config.get("DB_POOL_SIZE", 20)))
    return wire(
        config,
        settings=mediation_settings(config, env),
        repositories={"views": PostgresReadModels},
        aggregates=(Mediation, Mediator, Complaint),
        vault=vault,
    )

"""Intake's bootstrap: its settings, read once at start, and the repositories of its unit of work."""

import os
from zoneinfo import ZoneInfo

from services.common.bootstrap import wire
from services.common.centers import centers_by_id
from services.common.config import timezone_name

from .domain import DEFAULT_MEDIATION_DAYS, Case
from .handlers import IntakeSettings
from .records import PostgresIntakeRecords


def intake_settings(config, env=None):
    """Zone, mediation period and centers from the container config and the environment."""
    env = os.environ if env is None else env
    days = config.get("MEDIATION_DAYS") or env.get("TIAOJIE_MEDIATION_DAYS") or DEFAULT_MEDIATION_DAYS
    return IntakeSettings(
        zone=ZoneInfo(config.get("TIMEZONE") or timezone_name(env)),
        mediation_days=int(days),
        centers=centers_by_id(),
    )


def bootstrap(config, env=None):
    return wire(
        config,
        settings=intake_settings(config, env),
        repositories={"records": PostgresIntakeRecords},
        aggregates=(Case,),
    )

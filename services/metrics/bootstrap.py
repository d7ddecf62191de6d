"""The metrics service's bootstrap: the indicator settings, the centers and the event stores it reads, once at start."""

import dataclasses

from services.common.bootstrap import wire
from services.common.centers import load_centers
from services.common.config import database_url, environment

from .projection import CONSUMED_EVENTS
from .settings import IndicatorSettings, settings_from_env


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    indicators: IndicatorSettings
    centers: tuple
    sources: tuple  # (service, database URL) of each event store the projection follows


def metrics_settings(env=None):
    env = environment(env)
    return MetricsSettings(
        indicators=settings_from_env(env),
        centers=tuple(load_centers()),
        sources=tuple((name, database_url(name, env)) for name in CONSUMED_EVENTS),
    )


def bootstrap(config, env=None):
    return wire(config, settings=metrics_settings(env))

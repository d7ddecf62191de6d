"""Mediation's settings: the district's zone, the performance grace period, the sweep interval.

Read once at start by the bootstrap (services/mediation/bootstrap.py).
"""

import dataclasses
import uuid
from zoneinfo import ZoneInfo

from .domain import local_date

DEFAULT_PERFORMANCE_GRACE_DAYS = 3
DEFAULT_SWEEP_INTERVAL_SECONDS = 1.0


def new_uuid():
    return str(uuid.uuid4())


@dataclasses.dataclass(frozen=True)
class Settings:
    tz: ZoneInfo
    performance_grace_days: int = DEFAULT_PERFORMANCE_GRACE_DAYS
    sweep_interval_seconds: float = DEFAULT_SWEEP_INTERVAL_SECONDS
    new_id: object = new_uuid

    def today(self, now):
        return local_date(now, self.tz)

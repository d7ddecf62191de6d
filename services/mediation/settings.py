"""Mediation's settings: the district's zone, the performance grace period, the sweep interval,
how far back staff may date a step and how long the sweep waits for late entries.

Read once at start by the bootstrap (services/mediation/bootstrap.py).
"""

import dataclasses
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from services.common.steps import DEFAULT_BACKDATE_DAYS

from .domain import local_date

DEFAULT_PERFORMANCE_GRACE_DAYS = 3
DEFAULT_SWEEP_INTERVAL_SECONDS = 1.0
# How long after a deadline (or an agreement's `defaults_from`) the sweep waits before it
# records the expiry (or the default): time for staff to key in a step that happened by
# then, such as a paper agreement signed on the last day and entered the next morning.
DEFAULT_EXPIRY_GRACE_HOURS = 24.0


def new_uuid():
    return str(uuid.uuid4())


@dataclasses.dataclass(frozen=True)
class Settings:
    tz: ZoneInfo
    performance_grace_days: int = DEFAULT_PERFORMANCE_GRACE_DAYS
    sweep_interval_seconds: float = DEFAULT_SWEEP_INTERVAL_SECONDS
    backdate_days: int = DEFAULT_BACKDATE_DAYS
    expiry_grace_hours: float = DEFAULT_EXPIRY_GRACE_HOURS
    new_id: object = new_uuid

    def today(self, now):
        return local_date(now, self.tz)

    @property
    def expiry_grace(self):
        return timedelta(hours=self.expiry_grace_hours)

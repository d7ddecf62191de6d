"""The indicator settings: time zone, success-rate denominator, target and yearly milestones.

From the environment (README): `TIAOJIE_TIMEZONE`, `TIAOJIE_SUCCESS_DENOMINATOR`
(`closed` | `accepted` | `received`), `TIAOJIE_SUCCESS_TARGET` (0.60) and
`TIAOJIE_MILESTONES` ("2019:0.80,2020:0.95": the share of centers expected at or above
the target, from that year on).
"""

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from services.common.config import environment, timezone_name

DENOMINATORS = ("closed", "accepted", "received")
DEFAULT_MILESTONES = "2019:0.80,2020:0.95"


@dataclasses.dataclass(frozen=True)
class IndicatorSettings:
    timezone: str = "Asia/Shanghai"
    denominator: str = "closed"
    target: float = 0.60
    milestones: tuple = ((2019, 0.80), (2020, 0.95))

    def __post_init__(self):
        if self.denominator not in DENOMINATORS:
            raise ValueError(f"success-rate denominator must be one of {', '.join(DENOMINATORS)}")
        if not 0 <= self.target <= 1:
            raise ValueError("the success-rate target is a share between 0 and 1")
        ZoneInfo(self.timezone)

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    def milestone(self, year):
        """The goal for the share of centers meeting the target in `year`.

        A milestone holds from its year on; before the first one, the first is the goal.
        """
        ordered = sorted(self.milestones)
        if not ordered:
            return None
        applicable = [goal for since, goal in ordered if since <= year]
        return applicable[-1] if applicable else ordered[0][1]

    def local_year(self, now):
        return now.astimezone(self.zone).year

    def period_bounds(self, year, month=None):
        """[start, end) of a calendar year or month in the district's time zone."""
        if month is None:
            start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
        else:
            start = datetime(year, month, 1)
            end = datetime(year + (month == 12), month % 12 + 1, 1)
        return start.replace(tzinfo=self.zone), end.replace(tzinfo=self.zone)


def parse_milestones(text):
    """`"2019:0.80,2020:0.95"` → `((2019, 0.8), (2020, 0.95))`."""
    milestones = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        year, _, goal = part.partition(":")
        try:
            milestones.append((int(year), float(goal)))
        except ValueError:
            raise ValueError(f"TIAOJIE_MILESTONES: expected YEAR:SHARE, got {part!r}") from None
    return tuple(sorted(milestones))


def settings_from_env(env=None):
    env = environment(env)
    return IndicatorSettings(
        timezone=timezone_name(env),
        denominator=env.get("TIAOJIE_SUCCESS_DENOMINATOR", "closed"),
        target=float(env.get("TIAOJIE_SUCCESS_TARGET", "0.60")),
        milestones=parse_milestones(env.get("TIAOJIE_MILESTONES", DEFAULT_MILESTONES)),
    )

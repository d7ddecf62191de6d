"""The indicator settings: time zone, success-rate denominator, target and yearly milestones.

From the environment (README): `TIAOJIE_TIMEZONE`, `TIAOJIE_SUCCESS_DENOMINATOR`
(`closed` | `accepted` | `received`), `TIAOJIE_SUCCESS_TARGET` (0.60).

The plan's milestones are data (`data/milestones.json`, or `TIAOJIE_MILESTONES_FILE`): each
is the share of a set of centers expected at or above the target from its year on, and
the set it applies to (2018: the two demonstration centers; 2019 and 2020: all centers).
`TIAOJIE_MILESTONES` ("2019:0.80,2020:0.95", a set as `:demonstration` or
`:huaguangjie+longshengjie`) overrides the file.
"""

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from services.common.config import environment, timezone_name

DENOMINATORS = ("closed", "accepted", "received")
DEFAULT_MILESTONES_FILE = Path(__file__).parent / "data" / "milestones.json"
ALL, DEMONSTRATION = "all", "demonstration"


class Milestone(NamedTuple):
    """The plan's goal from `year` on: `share` of the centers of `centers` at or above the target.

    `centers` is `all`, `demonstration`, or a tuple of center ids."""

    year: int
    share: float
    centers: object = ALL
    text: str = ""

    def applies_to(self, centers):
        """The centers (of `centers`, in order) this milestone counts."""
        if self.centers == ALL:
            return list(centers)
        if self.centers == DEMONSTRATION:
            return [c for c in centers if c.demonstration]
        return [c for c in centers if c.center_id in self.centers]


def _milestone(year, share, centers=ALL, text=""):
    if centers not in (ALL, DEMONSTRATION):
        centers = tuple(centers.split("+")) if isinstance(centers, str) else tuple(centers)
    year, share = int(year), float(share)
    if not 0 <= share <= 1:
        raise ValueError(f"milestone {year}: the share of centers is between 0 and 1")
    return Milestone(year, share, centers, text)


def read_milestones(path=DEFAULT_MILESTONES_FILE):
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)
    return tuple(sorted(_milestone(**entry) for entry in entries))


DEFAULT_MILESTONES = read_milestones()


@dataclasses.dataclass(frozen=True)
class IndicatorSettings:
    timezone: str = "Asia/Shanghai"
    denominator: str = "closed"
    target: float = 0.60
    milestones: tuple = DEFAULT_MILESTONES

    def __post_init__(self):
        if self.denominator not in DENOMINATORS:
            raise ValueError(f"success-rate denominator must be one of {', '.join(DENOMINATORS)}")
        if not 0 <= self.target <= 1:
            raise ValueError("the success-rate target is a share between 0 and 1")
        ZoneInfo(self.timezone)

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    def milestone_for(self, year):
        """The milestone that holds in `year`: the latest one from before or in it; before
        the first one, the first. None without milestones."""
        ordered = sorted(self.milestones)
        if not ordered:
            return None
        applicable = [m for m in ordered if m.year <= year]
        return applicable[-1] if applicable else ordered[0]

    def milestone(self, year):
        """The goal for the share of centers meeting the target in `year` (None without one)."""
        found = self.milestone_for(year)
        return found.share if found else None

    def counted_centers(self, centers, year):
        """The centers the share of `year` counts: its milestone's set (all without one)."""
        found = self.milestone_for(year)
        return found.applies_to(centers) if found else list(centers)

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
    """`"2018:1.0:demonstration,2019:0.80"` → `(Milestone(2018, 1.0, "demonstration"), Milestone(2019, 0.8))`."""
    milestones = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            milestones.append(_milestone(*part.split(":", 2)))
        except (TypeError, ValueError):
            raise ValueError(f"TIAOJIE_MILESTONES: expected YEAR:SHARE[:CENTERS], got {part!r}") from None
    return tuple(sorted(milestones))


def milestones_from_env(env):
    if env.get("TIAOJIE_MILESTONES"):
        return parse_milestones(env["TIAOJIE_MILESTONES"])
    if env.get("TIAOJIE_MILESTONES_FILE"):
        return read_milestones(env["TIAOJIE_MILESTONES_FILE"])
    return DEFAULT_MILESTONES


def settings_from_env(env=None):
    env = environment(env)
    return IndicatorSettings(
        timezone=timezone_name(env),
        denominator=env.get("TIAOJIE_SUCCESS_DENOMINATOR", "closed"),
        target=float(env.get("TIAOJIE_SUCCESS_TARGET", "0.60")),
        milestones=milestones_from_env(env),
    )

"""The district's working-day calendar and the periods the law counts on it (DOMAIN.md, "Time rules").

Civil Code Art. 201 and 203: a period of N days starts on the day after the event that
starts it and ends at 24:00 of its N-th day, in the district's time zone; when that day
is a statutory rest day (a weekend not declared a working day, or a public holiday) it
ends at 24:00 of the next working day. Adjusted working weekends (调休上班) are working
days. The 2017 arbitration rules count their 3-, 5- and 10-day periods in working days.

Which days are rest days is the State Council's yearly holiday notice, kept as data: the
maintained `chinese-calendar` package, plus an operator file (`TIAOJIE_CALENDAR_FILE`)
for a year the package does not know yet. Nothing here invents a year: a date in a year
neither knows is counted with weekends only, and that is said loudly (a warning in the
log, and `coverage()` for `/ready` and `tiaojie status`).

The calendar itself is pure (no clock, no I/O); `district_calendar()` builds the one of
the running process from its settings.
"""

import dataclasses
import functools
import json
import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from services.common.config import environment, timezone_name

log = logging.getLogger(__name__)

# How far ahead of today `/ready` looks for dates the calendar does not know: longer
# than the longest period a step starts today (15 days, rolled over the longest holiday).
LOOKAHEAD_DAYS = 45


class CalendarFileError(ValueError):
    """The operator's calendar file cannot be read as a holiday notice."""


@dataclasses.dataclass(frozen=True)
class YearRules:
    """One year's holiday notice: rest days (holidays) and adjusted working days (调休上班)."""

    holidays: frozenset
    workdays: frozenset
    source: str


class WorkingCalendar:
    """Which days are working days, and the periods counted on them, in one time zone."""

    def __init__(self, years, zone):
        self.years = dict(years)
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.unknown_years = set()  # years a computation needed and the calendar lacked

    # -- days -------------------------------------------------------------------------
    def knows(self, day):
        return day.year in self.years

    def is_working_day(self, day):
        rules = self.years.get(day.year)
        if rules is None:
            self._outside(day)
            return day.weekday() < 5
        if day in rules.workdays:
            return True
        if day in rules.holidays:
            return False
        return day.weekday() < 5

    def next_working_day(self, day):
        """`day` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _outside(self, day):
        if day.year not in self.unknown_years:
            self.unknown_years.add(day.year)
            log.warning(
                "CALENDAR: %s is outside the known holiday calendar (years %s); counted with weekends only "
                "until the State Council's notice for %d is added to TIAOJIE_CALENDAR_FILE",
                day.isoformat(),
                self.known_range(),
                day.year,
            )

    # -- moments ------------------------------------------------------------------------
    def local_date(self, moment):
        return moment.astimezone(self.zone).date()

    def ends_at(self, day):
        """24:00 of `day` in the district: the instant a period whose last day is `day` ends."""
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=self.zone)

    def within(self, moment, last_day):
        """Whether `moment` falls on or before `last_day` (a period's end, 24:00) in the district."""
        return moment < self.ends_at(last_day)

    # -- periods ------------------------------------------------------------------------
    def period_end(self, start, days):
        """The last day of a period of `days` calendar days started by an event on `start`
        (a date, or a moment taken on its local date): Art. 201 and 203."""
        start = self._day(start)
        return self.next_working_day(start + timedelta(days=days))

    def working_period_end(self, start, days):
        """The last day of a period of `days` working days started by an event on `start`."""
        day = self._day(start)
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def _day(self, value):
        return self.local_date(value) if isinstance(value, datetime) else value

    # -- what it knows ------------------------------------------------------------------
    def known_range(self):
        if not self.years:
            return "none"
        return f"{min(self.years)}–{max(self.years)}"

    def coverage(self, today, lookahead_days=LOOKAHEAD_DAYS):
        """What `/ready` and `tiaojie status` say about the calendar on `today`.

        `warning` is set when today or the coming `lookahead_days` reach a year the
        calendar does not know, or a computation of this process already needed one.
        """
        ahead = {today.year, (today + timedelta(days=lookahead_days)).year}
        missing = sorted(year for year in ahead | self.unknown_years if year not in self.years)
        found = {
            "known_years": self.known_range(),
            "operator_years": sorted(year for year, rules in self.years.items() if rules.source != "package"),
        }
        if missing:
            found["unknown_years"] = missing
            found["warning"] = (
                f"holiday calendar does not know {', '.join(map(str, missing))}: periods reaching it count "
                "weekends only; add the State Council's holiday notice to TIAOJIE_CALENDAR_FILE"
            )
        return found


# -- the data ------------------------------------------------------------------------------


def package_years():
    """The years the `chinese-calendar` package holds, as `YearRules`."""
    by_year = {}
    for day in chinese_calendar.holidays:
        by_year.setdefault(day.year, (set(), set()))[0].add(day)
    for day in chinese_calendar.workdays:
        by_year.setdefault(day.year, (set(), set()))[1].add(day)
    return {
        year: YearRules(frozenset(holidays), frozenset(workdays), "package")
        for year, (holidays, workdays) in by_year.items()
    }


def read_calendar_file(path):
    """An operator's calendar file: `{"2027": {"holidays": [...], "workdays": [...], "source": "..."}}`.

    Each year listed is a whole holiday notice: it replaces what the package says of that
    year. `holidays` are the rest days the notice declares (a list of dates, or a mapping of
    date to the holiday's name); `workdays` the weekend days it declares working days.
    """
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as exc:
        raise CalendarFileError(f"calendar file {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise CalendarFileError(f"calendar file {path}: expected an object of years")
    return {int(year): _year_rules(path, year, entry) for year, entry in raw.items()}


def _year_rules(path, year, entry):
    if not str(year).isdigit() or not isinstance(entry, dict):
        raise CalendarFileError(f"calendar file {path}: {year!r} is not a year with its notice")
    days = {}
    for key in ("holidays", "workdays"):
        listed = entry.get(key, [])
        try:
            days[key] = frozenset(date.fromisoformat(text) for text in listed)
        except (TypeError, ValueError):
            raise CalendarFileError(f"calendar file {path}: {year} {key}: dates must be YYYY-MM-DD") from None
        strays = sorted(d.isoformat() for d in days[key] if d.year != int(year))
        if strays:
            raise CalendarFileError(f"calendar file {path}: {year} {key} lists days of another year: {strays}")
    if not days["holidays"]:
        raise CalendarFileError(f"calendar file {path}: {year} lists no holidays")
    return YearRules(days["holidays"], days["workdays"], entry.get("source") or f"operator file {path}")


def build_calendar(zone, calendar_file=None):
    years = package_years()
    if calendar_file:
        years.update(read_calendar_file(calendar_file))
    return WorkingCalendar(years, zone)


@functools.lru_cache(maxsize=8)
def _district_calendar(zone, calendar_file):
    return build_calendar(zone, calendar_file)


def calendar_file(env=None):
    return environment(env).get("TIAOJIE_CALENDAR_FILE") or None


def district_calendar(env=None):
    """The calendar of this process: `TIAOJIE_TIMEZONE` and `TIAOJIE_CALENDAR_FILE`."""
    return _district_calendar(timezone_name(env), calendar_file(env))

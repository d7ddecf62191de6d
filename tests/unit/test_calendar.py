"""The district calendar and the periods counted on it (DOMAIN.md, "Time rules"), table-driven.

The 2027 operator file used here is test data (tests/data/calendar_2027_test_only.json),
not a holiday notice: the shipped calendar holds only published years.
"""

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.common.calendar import CalendarFileError, build_calendar, read_calendar_file

ZONE = ZoneInfo("Asia/Shanghai")
TEST_2027 = Path(__file__).parent.parent / "data" / "calendar_2027_test_only.json"


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture
def calendar():
    return build_calendar(ZONE)


# (what the row shows, the event starting the period, days, the last day)
CALENDAR_DAYS = [
    ("Art. 201/203: counted from the next day", at("2026-03-02 10:00"), 15, date(2026, 3, 17)),
    (
        "the day of an event near midnight is its local day",
        datetime(2026, 3, 1, 17, 0, tzinfo=UTC),
        15,
        date(2026, 3, 17),
    ),
    ("a last day on a Saturday rolls to Monday", at("2026-03-06 09:00"), 15, date(2026, 3, 23)),
    ("a last day on a Sunday rolls to Monday", at("2026-03-07 09:00"), 15, date(2026, 3, 23)),
    ("an adjusted working Sunday (调休上班) does not roll", at("2026-09-05 09:00"), 15, date(2026, 9, 20)),
    ("an adjusted working Saturday does not roll", at("2026-09-25 09:00"), 15, date(2026, 10, 10)),
    ("National Day 2026: rolls to the first working day after it", at("2026-09-16 09:30"), 15, date(2026, 10, 8)),
    ("Spring Festival 2026: rolls past the whole week", at("2026-02-01 11:00"), 15, date(2026, 2, 24)),
    ("New Year 2026 rolls onto its adjusted working Sunday", at("2025-12-17 09:00"), 15, date(2026, 1, 4)),
]


@pytest.mark.parametrize(("rule", "event", "days", "last_day"), CALENDAR_DAYS, ids=[r[0] for r in CALENDAR_DAYS])
def test_a_period_in_calendar_days_ends_on_its_last_day_rolled_over_rest_days(calendar, rule, event, days, last_day):
    assert calendar.period_end(event, days) == last_day


WORKING_DAYS = [
    ("three working days over a weekend", date(2026, 3, 5), 3, date(2026, 3, 10)),
    ("an adjusted working Saturday counts", date(2026, 2, 13), 3, date(2026, 2, 25)),
    ("National Day 2026 does not count", date(2026, 9, 29), 3, date(2026, 10, 9)),
    ("five working days: the review of an agreement", date(2026, 9, 28), 5, date(2026, 10, 10)),
]


@pytest.mark.parametrize(("rule", "start", "days", "last_day"), WORKING_DAYS, ids=[r[0] for r in WORKING_DAYS])
def test_a_period_in_working_days_counts_only_working_days(calendar, rule, start, days, last_day):
    assert calendar.working_period_end(start, days) == last_day


def test_a_period_ends_at_24_00_of_its_last_day_in_the_district():
    calendar = build_calendar(ZONE)
    last_day = calendar.period_end(at("2026-03-02 10:00"), 15)
    assert calendar.ends_at(last_day) == at("2026-03-18 00:00")
    assert calendar.within(at("2026-03-17 23:59:59"), last_day)
    assert not calendar.within(at("2026-03-18 00:00"), last_day)
    # the old code's deadline was the moment 15×24 h later: 2026-03-17 10:00
    assert calendar.within(at("2026-03-17 10:00:01"), last_day)


def test_a_year_the_calendar_does_not_know_counts_weekends_only_and_says_so_loudly(caplog):
    calendar = build_calendar(ZONE)
    assert not calendar.knows(date(2027, 1, 1))
    with caplog.at_level(logging.WARNING, logger="services.common.calendar"):
        # 2026-12-17 + 15 = 2027-01-01, a Friday: without a notice it is a working day
        assert calendar.period_end(at("2026-12-17 09:00"), 15) == date(2027, 1, 1)
    assert any(
        "2027" in r.getMessage() and "outside the known holiday calendar" in r.getMessage() for r in caplog.records
    )
    coverage = calendar.coverage(date(2026, 11, 29))
    assert coverage["unknown_years"] == [2027]
    assert "2027" in coverage["warning"]


def test_the_operator_file_adds_a_year_the_package_does_not_know():
    calendar = build_calendar(ZONE, TEST_2027)
    assert calendar.knows(date(2027, 1, 1))
    assert calendar.period_end(at("2026-12-17 09:00"), 15) == date(2027, 1, 4)
    assert calendar.is_working_day(date(2027, 1, 9))  # a Saturday the (test) notice declares working
    assert calendar.coverage(date(2026, 12, 20)).get("warning") is None
    assert calendar.coverage(date(2026, 12, 20))["operator_years"] == [2027]


def test_coverage_looks_ahead_of_today():
    calendar = build_calendar(ZONE)
    assert "warning" not in calendar.coverage(date(2026, 6, 1))
    assert calendar.coverage(date(2026, 12, 1))["unknown_years"] == [2027]


def test_the_shipped_calendar_holds_only_published_years():
    calendar = build_calendar(ZONE)
    # the package's notices; 2027's was not published when it was pinned
    assert max(calendar.years) == 2026
    assert all(rules.source == "package" for rules in calendar.years.values())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "calendar file"),
        (json.dumps(["2027-01-01"]), "object of years"),
        (json.dumps({"2027": {"holidays": ["2027-13-01"]}}), "YYYY-MM-DD"),
        (json.dumps({"2027": {"holidays": ["2028-01-01"]}}), "another year"),
        (json.dumps({"2027": {"workdays": ["2027-01-09"]}}), "no holidays"),
    ],
)
def test_a_malformed_calendar_file_is_refused_with_a_clear_error(tmp_path, content, message):
    path = tmp_path / "calendar.json"
    path.write_text(content)
    with pytest.raises(CalendarFileError, match=message):
        read_calendar_file(path)


def test_every_day_of_2026_is_answered_from_the_notice():
    calendar = build_calendar(ZONE)
    day = date(2026, 1, 1)
    while day.year == 2026:
        calendar.is_working_day(day)
        day += timedelta(days=1)
    assert calendar.unknown_years == set()

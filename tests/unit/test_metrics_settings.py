"""Indicator settings: denominator, target and milestones from the environment; periods in district time."""

from datetime import UTC, datetime

import pytest

from services.metrics.collector import success_rate
from services.metrics.settings import IndicatorSettings, parse_milestones, settings_from_env


def test_defaults_are_closed_cases_a_60_percent_target_and_the_plans_milestones():
    settings = settings_from_env({})
    assert (settings.timezone, settings.denominator, settings.target) == ("Asia/Shanghai", "closed", 0.60)
    assert settings.milestones == ((2019, 0.80), (2020, 0.95))


def test_the_environment_sets_denominator_target_milestones_and_zone():
    settings = settings_from_env(
        {
            "TIAOJIE_SUCCESS_DENOMINATOR": "received",
            "TIAOJIE_SUCCESS_TARGET": "0.7",
            "TIAOJIE_MILESTONES": "2021:0.5, 2023:0.9",
            "TIAOJIE_TIMEZONE": "Asia/Urumqi",
        }
    )
    assert (settings.denominator, settings.target, settings.timezone) == ("received", 0.7, "Asia/Urumqi")
    assert settings.milestones == ((2021, 0.5), (2023, 0.9))


@pytest.mark.parametrize(
    "env",
    [
        {"TIAOJIE_SUCCESS_DENOMINATOR": "everything"},
        {"TIAOJIE_SUCCESS_TARGET": "60"},
        {"TIAOJIE_MILESTONES": "2019=0.8"},
        {"TIAOJIE_TIMEZONE": "Mars/Olympus"},
    ],
)
def test_a_wrong_setting_is_refused_at_start(env):
    with pytest.raises((ValueError, KeyError)):  # KeyError: an unknown time zone
        settings_from_env(env)


def test_a_milestone_holds_from_its_year_on_and_the_first_one_before_it():
    settings = IndicatorSettings(milestones=parse_milestones("2019:0.80,2020:0.95"))
    assert [settings.milestone(y) for y in (2018, 2019, 2020, 2031)] == [0.80, 0.80, 0.95, 0.95]


def test_the_year_is_the_calendar_year_in_the_district_zone():
    settings = IndicatorSettings(timezone="Asia/Shanghai")
    # 31 December 17:00 UTC is already 1 January in Shanghai.
    assert settings.local_year(datetime(2030, 12, 31, 17, 0, tzinfo=UTC)) == 2031
    start, end = settings.period_bounds(2031)
    assert start == datetime(2030, 12, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2031, 12, 31, 16, 0, tzinfo=UTC)


def test_a_month_period_ends_where_the_next_month_starts_even_in_december():
    settings = IndicatorSettings(timezone="Asia/Shanghai")
    start, end = settings.period_bounds(2031, 12)
    assert (start.month, end.year, end.month, end.day) == (12, 2032, 1, 1)


def test_no_success_rate_without_a_closed_case():
    assert success_rate(0, 0, 0) is None
    assert success_rate(0, 0, 5) is None  # received cases, none closed yet: no fake 0
    assert success_rate(3, 4, 4) == 0.75
    assert success_rate(3, 4, 10) == 0.3

"""Indicator settings: denominator, target and milestones from the environment; periods in district time."""

from datetime import UTC, datetime

import pytest

from services.common.centers import load_centers
from services.metrics.indicators import share_of_centers, success_rate
from services.metrics.settings import IndicatorSettings, Milestone, parse_milestones, read_milestones, settings_from_env


def test_defaults_are_closed_cases_a_60_percent_target_and_the_plans_milestones():
    settings = settings_from_env({})
    assert (settings.timezone, settings.denominator, settings.target) == ("Asia/Shanghai", "closed", 0.60)
    assert [(m.year, m.share, m.centers) for m in settings.milestones] == [
        (2018, 1.0, "demonstration"),
        (2019, 0.80, "all"),
        (2020, 0.95, "all"),
    ]


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
    assert settings.milestones == (Milestone(2021, 0.5), Milestone(2023, 0.9))


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
    assert success_rate({}, "closed") is None
    # received cases, none closed yet: no fake 0
    assert success_rate({"cohort_received": 5, "cohort_received_closed": 0}, "received") is None
    assert success_rate({"closed": 4, "closed_agreement": 3}, "closed") == 0.75
    cohort = {"cohort_received": 10, "cohort_received_closed": 4, "cohort_received_agreement": 3}
    assert success_rate(cohort, "received") == 0.3


def test_the_accepted_rate_is_a_cohort_rate_and_never_above_one():
    # finding 6: 5 agreements closed this month of cases accepted last month, 1 accepted
    # this month, used to show 500%; the cohort of this month's one acceptance is what counts
    counts = {
        "closed": 5,
        "closed_agreement": 5,
        "cohort_accepted": 1,
        "cohort_accepted_closed": 0,
        "cohort_accepted_agreement": 0,
    }
    assert success_rate(counts, "closed") == 1.0
    assert success_rate(counts, "accepted") is None  # nothing of this month's cohort closed yet
    counts.update(cohort_accepted_closed=1, cohort_accepted_agreement=1)
    assert success_rate(counts, "accepted") == 1.0


def test_the_2018_milestone_counts_only_the_two_demonstration_centers():
    # finding 6: the 2018 milestone used to be applied to all centers
    settings = IndicatorSettings()
    centers = load_centers()
    counted = settings.counted_centers(centers, 2018)
    assert sorted(c.center_id for c in counted) == ["huaguangjie", "longshengjie"]
    assert len(settings.counted_centers(centers, 2019)) == len(centers) == 14
    assert settings.milestone(2018) == 1.0 and settings.milestone(2026) == 0.95


def test_a_center_without_data_counts_against_the_share_and_is_named():
    centers = load_centers()[:4]
    rates = {centers[0].center_id: 0.7, centers[1].center_id: 0.5}
    share = share_of_centers(rates, centers, 0.6)
    assert share["share"] == 0.25  # 1 of 4: the two without data count as not meeting
    assert share["centers_without_data"] == 2
    assert share["centers_without_data_ids"] == [c.center_id for c in centers[2:]]


def test_milestones_as_data_name_their_centers(tmp_path):
    path = tmp_path / "milestones.json"
    path.write_text('[{"year": 2018, "share": 1.0, "centers": ["huaguangjie"]}]')
    [milestone] = read_milestones(path)
    assert milestone.centers == ("huaguangjie",)
    assert [c.center_id for c in milestone.applies_to(load_centers())] == ["huaguangjie"]
    assert settings_from_env({"TIAOJIE_MILESTONES_FILE": str(path)}).milestones == (milestone,)
    assert parse_milestones("2018:1.0:demonstration")[0].centers == "demonstration"
    assert parse_milestones("2018:1:a+b")[0].centers == ("a", "b")

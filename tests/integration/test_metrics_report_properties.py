"""The report's and the gauges' figures hold together whatever arrived, in whatever order.

Property: for any subset of a district's case events delivered in any order (what the
read model holds at some moment), the success rate on every basis stays within [0, 1],
the outcome columns add up to their denominator (closed by mediation; each cohort), and
the share of centers counts every center of the milestone's set.

Examples: the findings of issue 15 on the report (a rate of 500%, withdrawals before
acceptance among the closed, acceptance within 3 working days, corrections of a period
already reported). Runs the real projection and report SQL against PostgreSQL.
"""

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

from services.common.calendar import build_calendar
from services.common.centers import load_centers
from services.common.clock import FixedClock
from services.common.eventstore import InMemoryEventStore
from services.mediation.domain import Mediation
from services.metrics.collector import ReadModelCollector
from services.metrics.indicators import COHORT_OUTCOMES, COHORTS
from services.metrics.projection import facts_of
from services.metrics.readmodel import apply_facts
from services.metrics.report import center_report, produce_report
from services.metrics.settings import DENOMINATORS, IndicatorSettings
from tests.integration.test_metrics_projection_properties import PATHS, History

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in the district, in a year the calendar knows
CALENDAR = build_calendar(ZONE)
CENTERS = [c for c in load_centers() if c.center_id in ("huaguangjie", "longshengjie", "qifang")]


def reset(database):
    with database.transaction() as cursor:
        cursor.execute("TRUNCATE metrics_cases, metrics_referrals, metrics_center_facts, metrics_reported_periods")


def deliver(database, events):
    with database.transaction() as cursor:
        apply_facts(cursor, [fact for event in events for fact in facts_of(event, ZONE)])


def report(database, denominator, year, month=None, now=NOW):
    indicator_settings = IndicatorSettings(denominator=denominator)
    with database.transaction() as cursor:
        return produce_report(cursor, load_centers(), indicator_settings, CALENDAR, now, year, month)


@st.composite
def arrivals(draw):
    """A district's cases, of which any subset of events has arrived, in any order."""
    history = History()
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        history.case(
            center=draw(st.sampled_from([c.center_id for c in CENTERS])),
            received_at=NOW - timedelta(days=draw(st.integers(0, 500)), hours=draw(st.integers(0, 23))),
            path=draw(st.sampled_from(PATHS)),
        )
    arrived = draw(st.lists(st.sampled_from(history.events), max_size=len(history.events), unique_by=id))
    return draw(st.permutations(arrived))


def assert_consistent(row, denominator):
    for field in ("success_rate", "success_rate_closed", *(f"cohort_{c}_rate" for c in COHORTS)):
        assert row[field] is None or 0 <= row[field] <= 1, (denominator, field, row)
    closed = sum(row[f"closed_{o}"] for o in ("agreement", "failed", "expired", "withdrawn"))
    assert closed == row["closed_by_mediation"], row
    for cohort in COHORTS:
        assert sum(row[f"cohort_{cohort}_{o}"] for o in COHORT_OUTCOMES) == row[f"cohort_{cohort}"], (cohort, row)
    assert (
        row["accepted_within_3_working_days"] + row["undecided_past_3_working_days"] <= row["acceptance_decisions_due"]
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrivals(), st.sampled_from([(2026, None), (2025, None), (2026, 10), (2026, 11)]))
def test_rates_stay_within_0_and_1_and_outcomes_add_up_whatever_arrived_in_any_order(
    read_model_database, events, period
):
    reset(read_model_database)
    deliver(read_model_database, events)
    for denominator in DENOMINATORS:
        rows, summary = report(read_model_database, denominator, *period)
        for row in rows:
            assert_consistent(row, denominator)
        assert summary["centers_counted"] == 14  # the 2020 milestone holds: all centers
        assert summary["centers_meeting_target"] + summary["centers_without_data"] <= summary["centers_counted"]
        registry = CollectorRegistry()
        registry.register(
            ReadModelCollector(
                read_model_database, FixedClock(NOW), IndicatorSettings(denominator=denominator), load_centers()
            )
        )
        for metric in registry.collect():
            metric: Metric
            if metric.name in ("tiaojie_success_rate", "tiaojie_centers_meeting_target_ratio"):
                assert all(0 <= sample.value <= 1 for sample in metric.samples), metric


def test_an_accepted_denominator_is_a_cohort_rate_not_500_percent(read_model_database):
    # finding 6: five agreements signed in November of cases accepted in October, and one
    # case accepted in November: the old report divided 5 by 1
    reset(read_model_database)
    history = History()
    for _ in range(5):
        history.case("huaguangjie", datetime(2026, 10, 30, 2, tzinfo=UTC), "agreement_performed")
    history.case("huaguangjie", datetime(2026, 11, 10, 2, tzinfo=UTC), "mediating")
    deliver(read_model_database, history.events)
    [november] = [r for r in report(read_model_database, "accepted", 2026, 11)[0] if r["center_id"] == "huaguangjie"]
    assert november["success_rate_basis"] == "cohort_accepted_in_period"
    assert november["closed_agreement"] == 5 and november["cohort_accepted"] == 1
    assert november["success_rate"] is None  # this month's cohort: nothing closed yet
    [october] = [r for r in report(read_model_database, "accepted", 2026, 10)[0] if r["center_id"] == "huaguangjie"]
    assert (october["cohort_accepted"], october["cohort_accepted_agreement"], october["success_rate"]) == (5, 5, 1.0)


def test_withdrawals_before_acceptance_are_not_closed_by_mediation(read_model_database):
    # finding 7: closed_withdrawn counted withdrawals before acceptance, so the outcome
    # columns did not add up to the denominator
    reset(read_model_database)
    history = History()
    history.case("qifang", datetime(2026, 11, 2, 2, tzinfo=UTC), "withdrawn_before")
    history.case("qifang", datetime(2026, 11, 2, 2, tzinfo=UTC), "withdrawn_after")
    history.case("qifang", datetime(2026, 11, 2, 2, tzinfo=UTC), "failed")
    deliver(read_model_database, history.events)
    [row] = [r for r in report(read_model_database, "closed", 2026, 11)[0] if r["center_id"] == "qifang"]
    assert (row["closed_withdrawn"], row["withdrawn_before_acceptance"], row["closed_by_mediation"]) == (1, 1, 2)
    assert row["closed_failed"] + row["closed_withdrawn"] == row["closed_by_mediation"]


def test_a_withdrawal_overruled_by_the_mediations_end_is_closed_once_as_that_end(read_model_database):
    # issue 15 finding 4: intake took a withdrawal before it heard the mediation had ended;
    # mediation refused it: the case is closed once, as its agreement (or failure)
    reset(read_model_database)
    history = History()
    history.case("qifang", datetime(2026, 11, 2, 2, tzinfo=UTC), "agreement_withdrawal_overruled")
    history.case("qifang", datetime(2026, 11, 2, 2, tzinfo=UTC), "failed_withdrawal_overruled")
    history.case("qifang", datetime(2026, 11, 2, 2, tzinfo=UTC), "withdrawn_in_mediation")
    deliver(read_model_database, history.events)
    [row] = [r for r in report(read_model_database, "closed", 2026, 11)[0] if r["center_id"] == "qifang"]
    assert (row["closed_agreement"], row["closed_failed"], row["closed_withdrawn"]) == (1, 1, 1)
    assert row["closed_by_mediation"] == 3
    assert_consistent(row, "closed")


def test_centers_without_data_are_counted_against_the_share_and_named(read_model_database):
    reset(read_model_database)
    history = History()
    history.case("huaguangjie", datetime(2026, 11, 2, 2, tzinfo=UTC), "agreement_performed")
    deliver(read_model_database, history.events)
    rows, summary = report(read_model_database, "closed", 2026)
    assert summary["centers_counted"] == 14 and summary["centers_meeting_target"] == 1
    assert summary["centers_without_data"] == 13 and "huaguangjie" not in summary["centers_without_data_ids"]
    assert summary["share"] == round(1 / 14, 4)
    assert summary["milestone"]["year"] == 2020 and summary["milestone"]["share"] == 0.95
    _, in_2018 = report(read_model_database, "closed", 2018, now=datetime(2018, 12, 1, tzinfo=UTC))
    assert in_2018["milestone"]["centers"] == ["huaguangjie", "longshengjie"]
    assert in_2018["centers_counted"] == 2


def test_acceptance_within_3_working_days_is_counted_on_the_calendar(read_model_database):
    reset(read_model_database)
    history = History()
    # received Tuesday 2026-09-29: the 3 working days run to Friday 10-09 over National Day
    received = datetime(2026, 9, 29, 2, tzinfo=UTC)
    on_time = history.case("longshengjie", received, "mediating")
    late = history.case("longshengjie", received, "mediating")
    undecided = history.case("longshengjie", received, "received")
    events = []
    for event in history.events:
        if event.case_id == late and event.event_type in ("CaseAccepted", "MediationOpened"):
            at = datetime(2026, 10, 10, 2, tzinfo=UTC).isoformat()  # the adjusted working Saturday: day 4
            event = dataclasses.replace(event, data={**event.data, "accepted_at": at})
        elif event.case_id == on_time and event.event_type in ("CaseAccepted", "MediationOpened"):
            at = datetime(2026, 10, 9, 15, 59, tzinfo=UTC).isoformat()  # 23:59 of day 3
            event = dataclasses.replace(event, data={**event.data, "accepted_at": at})
        events.append(event)
    deliver(read_model_database, events)
    assert undecided
    [row] = [r for r in report(read_model_database, "closed", 2026, 9)[0] if r["center_id"] == "longshengjie"]
    assert row["acceptance_decisions_due"] == 3
    assert row["accepted_within_3_working_days"] == 1
    assert row["undecided_past_3_working_days"] == 1
    assert row["acceptance_within_3_working_days_rate"] == round(1 / 3, 4)


def test_a_late_entry_into_a_reported_period_is_shown_as_a_correction(read_model_database):
    # finding 2: a backdated entry silently changed figures already reported
    reset(read_model_database)
    first = History()
    first.case("huaguangjie", datetime(2026, 10, 5, 2, tzinfo=UTC), "failed")
    deliver(read_model_database, first.events)
    rows, _ = report(read_model_database, "closed", 2026, 10)
    [row] = [r for r in rows if r["center_id"] == "huaguangjie"]
    assert row["changed_since_first_produced"] == [] and row["first_produced_at"] == NOW.isoformat()

    late = History()
    late.case("huaguangjie", datetime(2026, 10, 6, 2, tzinfo=UTC), "agreement_performed")
    deliver(read_model_database, late.events)
    rows, _ = report(read_model_database, "closed", 2026, 10, now=NOW + timedelta(days=1))
    [row] = [r for r in rows if r["center_id"] == "huaguangjie"]
    changed = {c["field"]: (c["first"], c["now"]) for c in row["changed_since_first_produced"]}
    assert changed["closed_agreement"] == (0, 1)
    assert changed["success_rate"] == (0.0, 0.5)
    assert row["first_produced_at"] == NOW.isoformat()
    # the month still running is not "reported": it carries no correction
    rows, _ = report(read_model_database, "closed", 2026, 11)
    assert all("changed_since_first_produced" not in r for r in rows)


def test_the_report_rows_of_any_basis_name_it(read_model_database):
    reset(read_model_database)
    for denominator, basis in (
        ("closed", "closed_in_period"),
        ("accepted", "cohort_accepted_in_period"),
        ("received", "cohort_received_in_period"),
    ):
        with read_model_database.transaction() as cursor:
            rows = center_report(cursor, CENTERS, IndicatorSettings(denominator=denominator), 2026)
        assert {r["success_rate_basis"] for r in rows} == {basis}


def test_an_agreement_keyed_in_after_its_month_is_a_correction_of_the_month_it_was_signed_in(read_model_database):
    # finding 2, mediation's half: a paper agreement signed on 31 October and keyed in on
    # 1 November, after October was reported, counts in October (when it happened) and
    # shows there as a correction; November does not count it
    reset(read_model_database)
    history = History()
    case_id = history.case("huaguangjie", datetime(2026, 10, 20, 2, tzinfo=UTC), "mediating")
    deliver(read_model_database, history.events)
    reported = datetime(2026, 11, 1, 0, 30, tzinfo=ZONE)
    [first] = [
        r for r in report(read_model_database, "closed", 2026, 10, now=reported)[0] if r["center_id"] == "huaguangjie"
    ]
    assert first["closed_agreement"] == 0

    stream = f"mediation-{case_id}"
    mediation = Mediation.from_events(stream, [e for e in history.events if e.stream_id == stream])
    signed = datetime(2026, 10, 31, 23, 30, tzinfo=ZONE)
    keyed_in = datetime(2026, 11, 1, 9, 0, tzinfo=ZONE)
    mediation.reach_agreement("pays the wages", Decimal("8000.00"), date(2026, 11, 30), signed, ZONE)
    store = InMemoryEventStore(FixedClock(keyed_in))
    store.append(stream, 0, mediation.pending)
    [agreement] = store.load(stream)
    assert (agreement.occurred_at, agreement.recorded_at) == (signed, keyed_in)
    deliver(read_model_database, [agreement])

    later = keyed_in + timedelta(hours=1)
    [row] = [
        r for r in report(read_model_database, "closed", 2026, 10, now=later)[0] if r["center_id"] == "huaguangjie"
    ]
    changed = {c["field"]: (c["first"], c["now"]) for c in row["changed_since_first_produced"]}
    assert changed["closed_agreement"] == (0, 1)
    assert datetime.fromisoformat(row["first_produced_at"]) == reported
    [november] = [
        r for r in report(read_model_database, "closed", 2026, 11, now=later)[0] if r["center_id"] == "huaguangjie"
    ]
    assert november["closed_agreement"] == 0

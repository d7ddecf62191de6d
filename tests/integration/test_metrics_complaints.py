"""Complaints in the figures: the report counts each period's complaints open and answered
per center and for the district, with the mean days to answer; `tiaojie_complaints` counts
them now; the replay gives the same figures.

Runs the real projection and report SQL on a read model of its own (PostgreSQL).
"""

from datetime import UTC, datetime, timedelta

import pytest

from services.common.centers import load_centers
from services.common.clock import FixedClock
from services.common.envelope import NewEvent
from services.common.eventstore import ANY_VERSION, PostgresEventStore
from services.metrics.replay import Rebuild
from services.metrics.report import produce_report
from tests.integration.test_metrics_projection_properties import NOW, SETTINGS, History, consume_all, observe, reset

CENTERS = load_centers()


def at(month, day, hour=4):
    return datetime(2031, month, day, hour, tzinfo=UTC)  # noon in the district


def report(database, year, month=None, now=NOW):
    with database.transaction() as cursor:
        rows, summary = produce_report(cursor, CENTERS, SETTINGS, None, now, year, month)
    return {r["center_id"]: r for r in rows}, summary["complaints"]


def figures(row):
    return (
        row["complaints"],
        row["complaints_open"],
        row["complaints_answered"],
        row["complaints_mean_days_to_answer"],
    )


def clear(database):
    reset(database)
    with database.transaction() as cursor:
        cursor.execute("TRUNCATE metrics_reported_periods")


@pytest.fixture
def history():
    history = History()
    history.complaint("huaguangjie", at(5, 10), answered_at=at(5, 12))  # 2 days
    history.complaint("huaguangjie", at(5, 20), answered_at=at(6, 3))  # 14 days, after May ended
    history.complaint("huaguangjie", at(6, 1))  # open
    history.complaint("qifang", at(6, 2), answered_at=at(6, 2, 16))  # half a day
    history.complaint("longshengjie", datetime(2030, 12, 30, 4, tzinfo=UTC), answered_at=at(1, 2))
    return history


def test_the_report_counts_complaints_open_and_answered_per_center_and_for_the_district(read_model_database, history):
    clear(read_model_database)
    consume_all(read_model_database, history.events)

    rows, district = report(read_model_database, 2031)
    assert figures(rows["huaguangjie"]) == (3, 1, 2, 8.0)
    assert figures(rows["qifang"]) == (1, 0, 1, 0.5)
    assert figures(rows["longshengjie"]) == (0, 0, 0, None)
    assert district == {"filed": 4, "open": 1, "answered": 3, "mean_days_to_answer": 5.5}

    # A period counts its complaints as they stood at its end: answered after May, open in May.
    rows, district = report(read_model_database, 2031, 5)
    assert figures(rows["huaguangjie"]) == (2, 1, 1, 2.0)
    assert district == {"filed": 2, "open": 1, "answered": 1, "mean_days_to_answer": 2.0}
    rows, district = report(read_model_database, 2030)
    assert figures(rows["longshengjie"]) == (1, 1, 0, None)
    assert district["mean_days_to_answer"] is None


def test_an_answer_after_a_period_ended_is_no_correction_of_it(read_model_database):
    clear(read_model_database)
    history = History()
    history.complaint("huaguangjie", at(5, 20), answered_at=at(6, 3))
    filed, answered = history.events
    consume_all(read_model_database, [filed])
    rows, _ = report(read_model_database, 2031, 5, now=at(6, 1))
    assert figures(rows["huaguangjie"]) == (1, 1, 0, None)

    consume_all(read_model_database, [answered])
    rows, _ = report(read_model_database, 2031, 5, now=at(6, 4))
    assert figures(rows["huaguangjie"]) == (1, 1, 0, None)
    assert rows["huaguangjie"]["changed_since_first_produced"] == []


def test_the_gauge_counts_complaints_now_for_every_center(read_model_database, history):
    clear(read_model_database)
    consume_all(read_model_database, history.events)
    _, metrics = observe(read_model_database)
    lines = {line for line in metrics.splitlines() if line.startswith("tiaojie_complaints{")}
    assert 'tiaojie_complaints{center="huaguangjie",state="open"} 1.0' in lines
    assert 'tiaojie_complaints{center="huaguangjie",state="answered"} 2.0' in lines
    assert 'tiaojie_complaints{center="qifang",state="answered"} 1.0' in lines
    assert 'tiaojie_complaints{center="longshengjie",state="answered"} 1.0' in lines
    assert 'tiaojie_complaints{center="zhenanjie",state="open"} 0.0' in lines
    assert len(lines) == 2 * len(CENTERS)  # every center, both states, from the start


def test_the_replay_gives_the_same_complaint_figures(read_model_database, history):
    clear(read_model_database)
    with read_model_database.transaction() as cursor:  # one database is both the store and the read model
        store = PostgresEventStore(cursor, FixedClock(NOW))
        for e in history.events:
            new = NewEvent(e.event_type, e.data, e.case_id, e.center_id, e.occurred_at, e.event_id)
            store.append(e.stream_id, ANY_VERSION, [new])
    consume_all(read_model_database, history.events)
    live = [report(read_model_database, 2031, month, now=NOW + timedelta(days=400)) for month in (None, 5, 6)]
    live_metrics = observe(read_model_database)[1]

    Rebuild(read_model_database.url, {"store": read_model_database.url}, SETTINGS.zone, batch_size=3).run()
    with read_model_database.transaction() as cursor:
        cursor.execute("TRUNCATE metrics_reported_periods")
    assert [report(read_model_database, 2031, month, now=NOW + timedelta(days=400)) for month in (None, 5, 6)] == live
    assert observe(read_model_database)[1] == live_metrics

"""What each event tells the metrics read model (the pure half of the projection)."""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.common.envelope import Event
from services.metrics.projection import CASE, CENTER_FACT, CONSUMED_EVENTS, REFERRAL, facts_of

ZONE = ZoneInfo("Asia/Shanghai")
AT = datetime(2031, 3, 2, 1, 0, tzinfo=UTC)


def event(event_type, data, stream_id="case-c1", case_id="c1", center_id="qifang"):
    return Event(str(uuid.uuid4()), event_type, 1, stream_id, 1, case_id, center_id, AT, AT, "x", None, data)


def test_every_event_of_the_catalogue_is_consumed():
    assert set(CONSUMED_EVENTS) == {"intake", "mediation", "arbitration_link"}
    assert sum(len(types) for types in CONSUMED_EVENTS.values()) == 33


def test_an_application_sets_the_case_profile_and_its_deadline():
    [fact] = facts_of(
        event(
            "ApplicationReceived",
            {
                "source": "court_entrusted",
                "channel": "letter",
                "category": "wages",
                "workers_involved": 12,
                "collective": True,
                "claimed_total": "5000.00",
                "received_at": "2031-03-02T09:00:00+08:00",
                "mediation_deadline": "2031-03-17T09:00:00+08:00",
                "applicant": {"name": "张三"},
            },
        ),
        ZONE,
    )
    assert (fact.target, fact.key) == (CASE, "c1")
    assert fact.columns["source"] == "court_entrusted"
    assert fact.columns["deadline"] == "2031-03-17T09:00:00+08:00"
    assert fact.columns["center_id"] == "qifang"
    assert "applicant" not in fact.columns  # no personal data in the read model


def test_a_deadline_given_as_a_date_lasts_until_the_end_of_that_day_in_district_time():
    [fact] = facts_of(event("MediationExtended", {"deadline": "2031-03-27"}, stream_id="mediation-c1"), ZONE)
    assert fact.columns["deadline"] == "2031-03-28T00:00:00+08:00"


def test_a_missing_time_falls_back_to_when_the_event_occurred():
    [fact] = facts_of(event("AgreementPerformed", {}, stream_id="mediation-c1"), ZONE)
    assert fact.columns["performed_at"] == AT.isoformat()


def test_an_expiry_is_never_on_time():
    [fact] = facts_of(event("MediationExpired", {"expired_at": AT.isoformat()}, stream_id="mediation-c1"), ZONE)
    assert fact.columns["closure_on_time"] is False


def test_a_review_decision_answers_the_referral_and_records_the_review_on_the_case():
    facts = facts_of(
        event(
            "ReviewDecided",
            {"referral_id": "r1", "decision": "confirmed", "decided_at": AT.isoformat()},
            stream_id="referral-r1",
        ),
        ZONE,
    )
    assert {(f.target, f.key) for f in facts} == {(REFERRAL, "r1"), (CASE, "c1")}
    case = next(f for f in facts if f.target == CASE)
    assert case.columns["review_decision"] == "confirmed"


def test_surveys_complaints_consultations_and_letters_are_center_facts_with_their_own_keys():
    survey = event("SurveyRecorded", {"score": 4, "recorded_at": AT.isoformat()}, stream_id="mediation-c1")
    [fact] = facts_of(survey, ZONE)
    assert (fact.target, fact.key, fact.columns["score"]) == (CENTER_FACT, f"survey:{survey.event_id}", 4)
    [complaint] = facts_of(
        event(
            "ComplaintFiled", {"complaint_id": "k1", "filed_at": AT.isoformat()}, stream_id="complaint-k1", case_id=None
        ),
        ZONE,
    )
    assert complaint.key == "complaint:k1"


def test_a_complaints_answer_sets_the_answered_at_of_the_complaints_own_row():
    filed = event(
        "ComplaintFiled", {"complaint_id": "k1", "filed_at": AT.isoformat()}, stream_id="complaint-k1", case_id=None
    )
    answered = event(
        "ComplaintAnswered",
        {"complaint_id": "k1", "answer": "已答复", "answered_at": AT.replace(day=5).isoformat()},
        stream_id="complaint-k1",
        case_id="c1",  # a complaint about a case: still the complaint's row, not the case's
    )
    [fact] = facts_of(answered, ZONE)
    assert (fact.target, fact.key) == (CENTER_FACT, facts_of(filed, ZONE)[0].key)
    assert fact.columns == {"answered_at": AT.replace(day=5).isoformat(), "center_id": "qifang"}
    assert "answer" not in fact.columns  # the free text stays out of the read model


def test_roster_and_session_events_change_no_indicator():
    for event_type in ("MediatorRegistered", "MediatorAssigned", "SessionHeld", "MediatorCertificateExpired"):
        assert facts_of(event(event_type, {"mediator_id": "m1"}), ZONE) == []

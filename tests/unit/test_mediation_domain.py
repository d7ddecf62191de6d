"""The mediation domain, pure: roster rules (持证上岗), deadlines, agreements, review window, default."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.common.clock import FixedClock
from services.common.eventstore import InMemoryEventStore
from services.mediation.domain import (
    AGREEMENT,
    CONFIRMED,
    DEFAULTED,
    EXPIRED,
    MEDIATING,
    PERFORMED,
    UNDER_REVIEW,
    Mediation,
    Mediator,
    NotAllowed,
    Rejected,
    deadline_from,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai, 2026-03-02
TODAY = date(2026, 3, 2)


def mediator(center_id="huaguangjie", certificate_no="TJ-001", expires=date(2027, 1, 1)):
    m = Mediator(Mediator.stream_for("m-1"))
    m.register("m-1", center_id, "Li Ming", certificate_no, expires, True, NOW)
    return m


def opened(deadline=NOW + timedelta(days=15), category="wages"):
    mediation = Mediation(Mediation.stream_for("c-1"))
    mediation.open(
        {"case_id": "c-1", "center_id": "huaguangjie", "case_number": "HG-1", "category": category}, deadline, NOW
    )
    return mediation


def with_agreement(performance_due=date(2026, 3, 20), category="wages"):
    mediation = opened(category=category)
    mediation.assign(mediator(), TODAY, NOW)
    mediation.reach_agreement("pay wages", Decimal("12000"), performance_due, NOW, TZ)
    return mediation


def test_a_mediator_of_another_center_is_refused():
    with pytest.raises(Rejected) as refused:
        opened().assign(mediator(center_id="longshengjie"), TODAY, NOW)
    assert "longshengjie" in refused.value.errors["mediator_id"][0]


def test_a_mediator_without_a_certificate_is_refused():
    with pytest.raises(Rejected) as refused:
        opened().assign(mediator(certificate_no=None, expires=None), TODAY, NOW)
    assert "no mediator certificate" in refused.value.errors["mediator_id"][0]


def test_a_certificate_is_valid_through_its_last_day_and_not_after():
    mediation = opened()
    mediation.assign(mediator(expires=TODAY), TODAY, NOW)
    with pytest.raises(Rejected) as refused:
        mediation.assign(mediator(expires=TODAY - timedelta(days=1)), TODAY, NOW)
    assert "expired on 2026-03-01" in refused.value.errors["mediator_id"][0]


def test_the_certificate_expiry_is_recorded_once_after_the_last_valid_day():
    m = mediator(expires=TODAY)
    assert not m.expire_certificate(TODAY, NOW)
    assert m.expire_certificate(TODAY + timedelta(days=1), NOW)
    assert not m.expire_certificate(TODAY + timedelta(days=2), NOW)
    assert [e.event_type for e in m.pending][-1] == "MediatorCertificateExpired"
    m.renew_certificate("TJ-002", date(2029, 1, 1), NOW)
    assert not m.certificate_expired and m.certified_on(TODAY + timedelta(days=400))


def test_an_extension_needs_both_parties_consent_and_moves_the_deadline():
    mediation = opened()
    before = mediation.deadline
    with pytest.raises(Rejected) as refused:
        mediation.extend(10, False, NOW)
    assert "parties_consent" in refused.value.errors
    mediation.extend(10, True, NOW)
    assert mediation.deadline == before + timedelta(days=10)


def test_an_agreement_needs_an_assigned_mediator():
    with pytest.raises(NotAllowed) as refused:
        opened().reach_agreement("pay", Decimal("1"), TODAY, NOW, TZ)
    assert refused.value.status == MEDIATING


def test_an_agreement_carries_the_mediator_certificate_money_and_timeliness():
    mediation = with_agreement()
    event = mediation.pending[-1]
    assert event.event_type == "AgreementReached"
    assert event.data["amount"] == "12000.00"
    assert event.data["certificate_no"] == "TJ-001"
    assert event.data["on_time"] is True
    assert mediation.status == AGREEMENT


def test_a_performance_date_before_the_signing_day_is_refused():
    mediation = opened()
    mediation.assign(mediator(), TODAY, NOW)
    with pytest.raises(Rejected) as refused:
        mediation.reach_agreement("pay", Decimal("1"), TODAY - timedelta(days=1), NOW, TZ)
    assert "performance_due" in refused.value.errors


def test_the_mediation_expires_only_at_its_deadline_and_only_once():
    mediation = opened(deadline=NOW + timedelta(days=15))
    assert not mediation.expire(NOW + timedelta(days=15, seconds=-1))
    assert mediation.expire(NOW + timedelta(days=15))
    assert not mediation.expire(NOW + timedelta(days=16))
    assert mediation.status == EXPIRED
    assert [e.event_type for e in mediation.pending].count("MediationExpired") == 1


def test_nothing_but_a_survey_is_allowed_after_the_mediation_closed():
    mediation = opened()
    mediation.fail("respondent refuses", NOW, "respondent_refused")
    with pytest.raises(NotAllowed) as refused:
        mediation.extend(5, True, NOW)
    assert refused.value.status == "failed"
    mediation.record_survey(4, None, NOW)
    with pytest.raises(NotAllowed):
        mediation.record_survey(5, None, NOW)


def test_a_survey_waits_for_the_case_to_close():
    with pytest.raises(NotAllowed):
        opened().record_survey(5, None, NOW)


def test_review_may_be_requested_within_15_days_of_signing_and_not_later():
    late = with_agreement(performance_due=date(2026, 6, 1))
    with pytest.raises(NotAllowed) as refused:
        late.request_review(NOW + timedelta(days=16), TZ)
    assert refused.value.status == AGREEMENT
    in_time = with_agreement(performance_due=date(2026, 6, 1))
    in_time.request_review(NOW + timedelta(days=15), TZ)
    assert in_time.status == UNDER_REVIEW


def test_finding3_a_confirmed_review_makes_the_mediation_confirmed():
    mediation = with_agreement()
    mediation.request_review(NOW, TZ)
    assert mediation.record_review_outcome("confirmed", "HG-2026-1", None, NOW.isoformat(), NOW)
    assert mediation.status == CONFIRMED and mediation.review["decision"] == "confirmed"
    assert not mediation.record_review_outcome("confirmed", "HG-2026-1", None, NOW.isoformat(), NOW)
    with pytest.raises(NotAllowed):
        mediation.request_review(NOW, TZ)


def test_an_unreported_agreement_defaults_after_the_due_date_and_the_grace():
    mediation = with_agreement(performance_due=date(2026, 3, 20))
    last_day_of_grace = datetime(2026, 3, 22, 23, 59, tzinfo=TZ)
    assert not mediation.default_unreported(last_day_of_grace, 2, TZ)
    assert mediation.default_unreported(datetime(2026, 3, 23, 0, 0, tzinfo=TZ), 2, TZ)
    event = mediation.pending[-1]
    assert (event.event_type, event.data["reported"]) == ("AgreementDefaulted", False)
    assert mediation.status == DEFAULTED


def test_performance_may_be_reported_while_under_review_and_the_outcome_still_recorded():
    mediation = with_agreement()
    mediation.request_review(NOW, TZ)
    mediation.report_performance(True, NOW, 3, TZ)
    assert mediation.record_review_outcome("refused", None, "terms unclear", NOW.isoformat(), NOW)
    assert (mediation.status, mediation.review["decision"]) == (PERFORMED, "refused")


def test_reported_non_performance_is_a_default_reported_by_staff():
    mediation = with_agreement()
    mediation.report_performance(False, NOW, 3, TZ)
    assert mediation.status == DEFAULTED and mediation.pending[-1].data["reported"] is True


def test_intake_deadline_as_timestamp_as_date_or_missing():
    received = "2026-03-01T10:00:00+08:00"
    assert deadline_from("2026-03-16T10:00:00+08:00", received, TZ) == datetime(2026, 3, 16, 10, tzinfo=TZ)
    assert deadline_from("2026-03-16", received, TZ) == datetime(2026, 3, 17, 0, tzinfo=TZ)
    assert deadline_from(None, received, TZ) == datetime(2026, 3, 16, 10, tzinfo=TZ)


def test_the_state_is_a_fold_of_the_recorded_events():
    mediation = with_agreement()
    mediation.request_review(NOW, TZ)
    store = InMemoryEventStore(FixedClock(NOW))
    store.append(mediation.stream_id, 0, mediation.pending)
    reloaded = Mediation.from_events(mediation.stream_id, store.load(mediation.stream_id))
    assert reloaded.status == UNDER_REVIEW
    assert reloaded.agreement == mediation.agreement
    assert reloaded.mediator == mediation.mediator
    assert reloaded.version == 4


# --- finding 3: after the agreement (DOMAIN.md, "After the agreement") ----------------------


def reviewed(decision, performance_due=date(2026, 3, 20), category="wages", decided=NOW):
    mediation = with_agreement(performance_due, category)
    mediation.request_review(NOW, TZ)
    number = "WLZ-2026-7" if decision == "confirmed" else None
    mediation.record_review_outcome(decision, number, None, decided.isoformat(), decided)
    return mediation


def test_finding3_a_refused_review_returns_the_agreement_to_awaiting_performance():
    mediation = reviewed("refused")
    assert (mediation.status, mediation.review["decision"]) == (AGREEMENT, "refused")


def test_finding3_the_confirmed_status_survives_a_reload_from_the_events():
    mediation = reviewed("confirmed")
    store = InMemoryEventStore(FixedClock(NOW))
    store.append(mediation.stream_id, 0, mediation.pending)
    assert Mediation.from_events(mediation.stream_id, store.load(mediation.stream_id)).status == CONFIRMED


def test_finding3_performance_of_a_confirmed_agreement_is_recorded():
    mediation = reviewed("confirmed")
    mediation.report_performance(True, NOW, 3, TZ)
    assert mediation.status == PERFORMED


def test_finding3_a_reported_default_of_a_confirmed_agreement_carries_court_enforcement_guidance():
    mediation = reviewed("confirmed")
    mediation.report_performance(False, NOW, 3, TZ)
    data = mediation.pending[-1].data
    assert mediation.status == DEFAULTED
    assert (data["confirmed"], data["guidance"], data["document_no"]) == (True, "court_enforcement", "WLZ-2026-7")
    assert data["payment_order_possible"] is False  # a 调解书 is enforced by a court directly
    assert mediation.performance["guidance"] == "court_enforcement"


def test_finding3_an_unreported_default_of_a_confirmed_agreement_carries_court_enforcement_guidance():
    mediation = reviewed("confirmed", performance_due=date(2026, 3, 20))
    assert mediation.default_unreported(datetime(2026, 3, 23, 0, 0, tzinfo=TZ), 2, TZ)
    data = mediation.pending[-1].data
    assert (data["reported"], data["confirmed"], data["guidance"]) == (False, True, "court_enforcement")


def test_finding3_an_unconfirmed_default_is_for_arbitration_and_a_payment_order_on_wages_injury_compensation():
    for category, payment_order in (
        ("wages", True),
        ("work_injury", True),
        ("compensation", True),
        ("social_insurance", False),
        ("other", False),
    ):
        for mediation in (with_agreement(category=category), reviewed("refused", category=category)):
            mediation.report_performance(False, NOW, 3, TZ)
            data = mediation.pending[-1].data
            assert (data["confirmed"], data["guidance"], data["document_no"]) == (False, "arbitration", None)
            assert data["payment_order_possible"] is payment_order, category
            assert data["category"] == category


def test_finding3_a_default_while_under_review_is_409_and_records_nothing():
    mediation = with_agreement()
    mediation.request_review(NOW, TZ)
    recorded = len(mediation.pending)
    with pytest.raises(NotAllowed) as refused:
        mediation.report_performance(False, NOW, 3, TZ)
    assert refused.value.status == UNDER_REVIEW
    assert "review" in str(refused.value)
    assert len(mediation.pending) == recorded and mediation.status == UNDER_REVIEW


def test_finding3_the_sweep_never_defaults_an_agreement_under_review():
    mediation = with_agreement(performance_due=date(2026, 3, 20))
    mediation.request_review(NOW, TZ)
    assert not mediation.default_unreported(datetime(2026, 6, 1, tzinfo=TZ), 2, TZ)
    assert mediation.status == UNDER_REVIEW


def test_finding3_a_default_noticed_after_a_late_decision_is_not_dated_before_it():
    decided = datetime(2026, 3, 25, 10, 0, tzinfo=TZ)  # after the due date and its grace
    mediation = reviewed("confirmed", performance_due=date(2026, 3, 20), decided=decided)
    assert mediation.default_unreported(datetime(2026, 3, 26, tzinfo=TZ), 2, TZ)
    assert mediation.pending[-1].data["defaulted_at"] == decided.isoformat()


def test_finding3_a_default_recorded_before_the_guidance_reads_as_referred_to_arbitration():
    mediation = with_agreement()
    mediation._on_AgreementDefaulted(
        {"performance_due": "2026-03-20", "defaulted_at": NOW.isoformat(), "reported": True, "amount": "1.00"}
    )
    assert mediation.performance["confirmed"] is False
    assert mediation.performance["guidance"] == "arbitration"
    assert mediation.performance["payment_order_possible"] is True  # a wages agreement


# -- when a step happened (issue 15, finding 2): deadlines judged on `occurred_at` ----------


def test_an_agreement_signed_by_the_deadline_is_on_time_however_late_it_is_keyed_in():
    deadline = NOW + timedelta(days=15)
    mediation = opened(deadline=deadline)
    mediation.assign(mediator(), TODAY, NOW)
    signed = deadline - timedelta(hours=2)  # keyed in the next morning: the domain sees only when it happened
    mediation.reach_agreement("pay wages", Decimal("100"), date(2026, 4, 1), signed, TZ)
    event = mediation.pending[-1]
    assert event.data["on_time"] is True and event.data["signed_at"] == signed.isoformat()
    assert event.occurred_at == signed
    assert mediation.closed_at == signed


def test_a_step_dated_after_the_deadline_is_refused_before_the_expiry_is_recorded():
    deadline = NOW + timedelta(days=15)
    for step in (
        lambda m, at: m.reach_agreement("pay", Decimal("1"), date(2026, 4, 1), at, TZ),
        lambda m, at: m.fail("respondent refuses", at),
        lambda m, at: m.extend(5, True, at),
        lambda m, at: m.hold_session(at, "talked"),
    ):
        mediation = opened(deadline=deadline)
        mediation.assign(mediator(), TODAY, NOW)
        with pytest.raises(NotAllowed) as refused:
            step(mediation, deadline + timedelta(minutes=1))
        assert "deadline passed at 2026-03-17T09:00:00+00:00" in str(refused.value)
        assert mediation.status == MEDIATING and len(mediation.pending) == 2  # opened, assigned: nothing more


def test_the_expiry_waits_the_grace_for_late_entries_and_is_dated_at_the_deadline():
    deadline = NOW + timedelta(days=15)
    grace = timedelta(hours=24)
    mediation = opened(deadline=deadline)
    assert not mediation.expire(deadline + timedelta(hours=10), grace)
    assert mediation.status == MEDIATING
    noticed = deadline + grace + timedelta(seconds=5)
    assert mediation.expire(noticed, grace)
    event = mediation.pending[-1]
    assert event.data["expired_at"] == deadline.isoformat() and event.data["noticed_at"] == noticed.isoformat()
    assert event.occurred_at == deadline


def test_after_the_grace_an_agreement_is_409_saying_when_the_case_expired():
    deadline = NOW + timedelta(days=15)
    mediation = opened(deadline=deadline)
    mediation.assign(mediator(), TODAY, NOW)
    mediation.expire(deadline + timedelta(hours=24), timedelta(hours=24))
    with pytest.raises(NotAllowed) as refused:
        mediation.reach_agreement("pay", Decimal("1"), date(2026, 4, 1), deadline - timedelta(hours=1), TZ)
    message = str(refused.value)
    assert "expired at 2026-03-17T09:00:00+00:00" in message and "grace" in message
    assert refused.value.status == EXPIRED


def test_the_last_step_bounds_the_next_one():
    mediation = opened()
    assert mediation.last_step_at is None  # opened without intake's times: nothing bounds it
    accepted = NOW - timedelta(hours=3)
    mediation = Mediation(Mediation.stream_for("c-2"))
    mediation.open({"case_id": "c-2", "center_id": "huaguangjie", "accepted_at": accepted.isoformat()}, NOW, NOW)
    assert mediation.last_step_at == accepted
    mediation.assign(mediator(), TODAY, accepted + timedelta(hours=1))
    mediation.hold_session(accepted + timedelta(hours=2), "talked")
    assert mediation.last_step_at == accepted + timedelta(hours=2)


def test_a_performance_dated_from_the_default_moment_is_refused_and_the_default_waits_the_grace():
    mediation = with_agreement(performance_due=date(2026, 3, 20))
    defaults_from = datetime(2026, 3, 23, 0, 0, tzinfo=TZ)  # due + 2 days of grace
    with pytest.raises(NotAllowed) as refused:
        mediation.report_performance(True, defaults_from, 2, TZ)
    assert "counts as defaulted from 2026-03-23T00:00:00+08:00" in str(refused.value)
    late_entry = timedelta(hours=24)
    assert not mediation.default_unreported(defaults_from + timedelta(hours=9), 2, TZ, late_entry)
    paid_in_time = with_agreement(performance_due=date(2026, 3, 20))
    paid_in_time.report_performance(True, defaults_from - timedelta(minutes=1), 2, TZ)  # keyed in next morning
    assert paid_in_time.status == PERFORMED
    assert mediation.default_unreported(defaults_from + late_entry, 2, TZ, late_entry)
    assert mediation.pending[-1].data["defaulted_at"] == defaults_from.isoformat()


# --- finding 5: the mediator's certificate on the day of each step; failures need one --------


def test_finding5_a_failure_without_a_mediator_is_409_unless_the_respondent_refused():
    for reason_code in (None, "no_agreement", "party_absent", "other"):
        mediation = opened()
        with pytest.raises(NotAllowed) as refused:
            mediation.fail("no agreement", NOW, reason_code)
        assert refused.value.status == MEDIATING and "assign a mediator" in str(refused.value)
        assert [e.event_type for e in mediation.pending] == ["MediationOpened"]
    mediation = opened()
    mediation.fail("the respondent will not be mediated", NOW, "respondent_refused")
    data = mediation.pending[-1].data
    assert (data["reason_code"], data["mediator_id"]) == ("respondent_refused", None)
    assert mediation.failure["reason_code"] == "respondent_refused"


def test_a_session_without_an_assigned_mediator_is_409_and_records_nothing():
    # DOMAIN.md: a certified mediator of the center is assigned, then sessions are held.
    mediation = opened()
    with pytest.raises(NotAllowed) as refused:
        mediation.hold_session(NOW, "talked")
    assert refused.value.status == MEDIATING and "a session needs an assigned mediator" in str(refused.value)
    assert [e.event_type for e in mediation.pending] == ["MediationOpened"] and mediation.sessions == []
    mediation.assign(mediator(), TODAY, NOW)
    mediation.hold_session(NOW, "talked")
    assert mediation.pending[-1].event_type == "SessionHeld"


def test_finding5_a_failure_with_a_mediator_needs_no_reason_code():
    mediation = opened()
    mediation.assign(mediator(), TODAY, NOW)
    mediation.fail("the parties are too far apart", NOW)
    data = mediation.pending[-1].data
    assert (data["reason_code"], data["mediator_id"]) == (None, "m-1")


def test_finding5_the_assigned_mediators_certificate_must_be_valid_on_the_day_of_the_step():
    mediation = opened()
    assigned = mediator(expires=TODAY)
    mediation.assign(assigned, TODAY, NOW)
    mediation.require_certified_mediator(assigned, TODAY)  # through its last day
    with pytest.raises(Rejected) as refused:
        mediation.require_certified_mediator(assigned, TODAY + timedelta(days=1))
    message = refused.value.errors["mediator_id"][0]
    assert "2026-03-03" in message and "expired on 2026-03-02" in message
    assert "assign another mediator" in message and "renew" in message
    assigned.renew_certificate("TJ-002", date(2028, 1, 1), NOW)
    mediation.require_certified_mediator(assigned, TODAY + timedelta(days=1))

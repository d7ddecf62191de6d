"""The intake domain: a case is received, decided once, and a withdrawn case takes no command."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.common.calendar import build_calendar
from services.common.clock import FixedClock
from services.common.eventstore import InMemoryEventStore
from services.intake.domain import (
    MEDIATION_ENDINGS,
    Application,
    Case,
    CaseStateError,
    Claim,
    format_case_number,
    mediation_deadline,
    money,
)

RECEIVED_AT = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=8)))
CALENDAR = build_calendar("Asia/Shanghai")


def an_application(**overrides):
    values = dict(
        center_id="huaguangjie",
        channel="walk_in",
        source="self",
        category="wages",
        applicant={"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X"},
        respondent={"name": "某公司", "credit_code": "91350100M000100Y43"},
        claims=(Claim("工资", Decimal("12000")), Claim("加班费", Decimal("3000.5"))),
        workers_involved=1,
        description="",
        received_at=RECEIVED_AT,
    )
    values.update(overrides)
    return Application(**values)


def a_received_case(**overrides):
    deadline = mediation_deadline(RECEIVED_AT, CALENDAR)
    return Case.receive("c-1", "HGJ-2026-00001", an_application(**overrides), deadline, CALENDAR.ends_at(deadline))


def test_case_numbers_are_center_code_year_and_five_digits():
    assert format_case_number("HGJ", 2026, 17) == "HGJ-2026-00017"


def test_the_mediation_deadline_is_the_fifteenth_day_after_receipt_ending_at_24_00():
    # finding 1: the old deadline was the moment 15×24 h later (2026-03-17 10:00)
    assert mediation_deadline(RECEIVED_AT, CALENDAR) == date(2026, 3, 17)
    assert mediation_deadline(RECEIVED_AT, CALENDAR, days=20) == date(2026, 3, 23)  # 03-22 is a Sunday


def test_the_mediation_deadline_rolls_over_the_national_day_holiday():
    # finding 1: received 2026-09-16 09:30 used to expire on 2026-10-01, inside the holiday
    received = datetime(2026, 9, 16, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert mediation_deadline(received, CALENDAR) == date(2026, 10, 8)


def test_money_is_a_two_place_string():
    assert money(Decimal("3000.5")) == "3000.50"
    assert money(Decimal("0")) == "0.00"


def test_an_application_received_carries_what_downstream_needs():
    case = a_received_case()

    [event] = case.pending
    assert event.event_type == "ApplicationReceived"
    assert (event.case_id, event.center_id, event.occurred_at) == ("c-1", "huaguangjie", RECEIVED_AT)
    assert event.data["claims"] == [{"item": "工资", "amount": "12000.00"}, {"item": "加班费", "amount": "3000.50"}]
    assert event.data["claimed_total"] == "15000.50"
    assert event.data["received_at"] == "2026-03-02T10:00:00+08:00"
    assert event.data["mediation_deadline"] == "2026-03-17"
    assert event.data["mediation_deadline_ends_at"] == "2026-03-18T00:00:00+08:00"
    assert event.data["collective"] is False
    assert "recommendation_id" not in event.data
    assert case.status == "received" and case.stream_id == "case-c-1"


@pytest.mark.parametrize("workers, collective", [(1, False), (9, False), (10, True), (250, True)])
def test_ten_or_more_workers_make_a_collective_dispute(workers, collective):
    assert a_received_case(workers_involved=workers).pending[0].data["collective"] is collective


def test_an_accepted_case_tells_mediation_its_deadline_and_parties():
    case = a_received_case()
    at = RECEIVED_AT + timedelta(hours=2)

    case.accept(at)

    accepted = case.pending[-1]
    assert accepted.event_type == "CaseAccepted"
    assert accepted.data["accepted_at"] == at.isoformat()
    assert accepted.data["mediation_deadline"] == "2026-03-17"
    assert accepted.data["applicant"]["name"] == "张三"
    assert case.status == "accepted"


def test_a_case_is_decided_only_once():
    case = a_received_case()
    case.reject("超出受理范围", RECEIVED_AT)

    with pytest.raises(CaseStateError) as refused:
        case.accept(RECEIVED_AT)
    assert refused.value.status == "not_accepted"
    with pytest.raises(CaseStateError):
        case.reject("again", RECEIVED_AT)


@pytest.mark.parametrize("status_before", ["received", "accepted"])
def test_an_open_case_can_be_withdrawn_and_then_takes_no_command(status_before):
    case = a_received_case()
    if status_before == "accepted":
        case.accept(RECEIVED_AT)

    case.withdraw("已和解", RECEIVED_AT)

    assert case.pending[-1].data["status_before"] == status_before
    for command in (lambda: case.accept(RECEIVED_AT), lambda: case.withdraw("x", RECEIVED_AT)):
        with pytest.raises(CaseStateError) as refused:
            command()
        assert refused.value.status == "withdrawn"


def test_a_case_is_a_fold_of_its_events():
    case = a_received_case()
    case.accept(RECEIVED_AT)
    store = InMemoryEventStore(FixedClock())
    store.append(case.stream_id, 0, case.pending)

    again = Case.from_events(case.stream_id, store.load(case.stream_id))

    assert (again.status, again.version, again.case_number) == ("accepted", 2, "HGJ-2026-00001")
    assert again.view()["accepted_at"] == RECEIVED_AT.isoformat()
    assert again.summary()["claimed_total"] == "15000.50"


# -- issue 15 finding 4: one truth for withdrawal ---------------------------------------
ENDED_AT = RECEIVED_AT + timedelta(days=3)
NOTED_AT = ENDED_AT + timedelta(minutes=30)


def an_accepted_case():
    case = a_received_case()
    case.accept(RECEIVED_AT + timedelta(hours=1))
    return case


@pytest.mark.parametrize(
    "outcome, words",
    [
        ("agreement", "ended with an agreement"),
        ("failed", "ended with a failure"),
        ("expired", "ended with its expiry"),
    ],
)
def test_nothing_is_left_to_withdraw_after_the_mediation_ended(outcome, words):
    # finding 4: intake accepted a withdrawal after mediation's agreement (intake then said
    # withdrawn, mediation agreement)
    case = an_accepted_case()
    assert case.note_mediation_end(outcome, ENDED_AT, None, NOTED_AT)
    recorded = len(case.pending)

    with pytest.raises(CaseStateError) as refused:
        case.withdraw("已和解", NOTED_AT)

    assert refused.value.status == "accepted"
    assert refused.value.message == (
        f"调解已于 2026-03-05 {MEDIATION_ENDINGS[outcome][0]}而结束，没有可撤回的申请"
        f" / the mediation {words} on 2026-03-05: nothing is left to withdraw"
    )
    assert refused.value.details["mediation"] == {"outcome": outcome, "ended_at": ENDED_AT.isoformat()}
    assert len(case.pending) == recorded  # nothing recorded
    assert case.view()["mediation"] == {"outcome": outcome, "ended_at": ENDED_AT.isoformat()}
    assert case.summary()["mediation_outcome"] == outcome


def test_a_withdrawal_in_mediation_makes_the_case_withdrawn_here_once():
    # finding 4: mediation's own withdrawal left intake saying `accepted` for ever
    case = an_accepted_case()

    assert case.note_mediation_end("withdrawn", ENDED_AT, "当事人自行和解", NOTED_AT)
    assert not case.note_mediation_end("withdrawn", ENDED_AT, "当事人自行和解", NOTED_AT)
    assert not case.note_mediation_end("agreement", ENDED_AT, None, NOTED_AT)  # a mediation ends once

    [noted] = [e for e in case.pending if e.event_type == "MediationOutcomeNoted"]
    assert noted.data["outcome"] == "withdrawn" and noted.occurred_at == ENDED_AT
    assert case.status == "withdrawn"
    assert case.view()["withdrawal"] == {
        "reason": "当事人自行和解",
        "withdrawn_at": ENDED_AT.isoformat(),
        "status_before": "accepted",
        "in": "mediation",
    }
    with pytest.raises(CaseStateError) as refused:
        case.withdraw("x", NOTED_AT)
    assert refused.value.status == "withdrawn"


def test_mediations_withdrawal_caused_by_intakes_own_is_not_recorded_again():
    case = an_accepted_case()
    case.withdraw("已和解", NOTED_AT)
    recorded = len(case.pending)

    assert not case.note_mediation_end("withdrawn", NOTED_AT, "已和解", NOTED_AT)
    assert len(case.pending) == recorded and case.status == "withdrawn"


@pytest.mark.parametrize("outcome", ["agreement", "failed", "expired"])
def test_a_withdrawal_taken_before_intake_heard_of_the_end_is_overruled(outcome):
    # finding 4, the race: intake withdrew the case while mediation recorded its end
    case = an_accepted_case()
    case.withdraw("已和解", NOTED_AT)

    assert case.note_mediation_end(outcome, ENDED_AT, None, NOTED_AT + timedelta(minutes=1))
    # the other of mediation's two events (its outcome, its refusal) changes nothing more
    assert not case.note_mediation_end(outcome, ENDED_AT, None, NOTED_AT + timedelta(minutes=2))

    overruled = case.pending[-1]
    assert overruled.event_type == "WithdrawalOverruled"
    assert overruled.data["status"] == "accepted" and overruled.data["ended_with"] == outcome
    assert overruled.data["reason"].startswith("the mediation had already ended with")
    assert case.status == "accepted" and case.withdrawal is None
    view = case.view()
    assert view["mediation"] == {"outcome": outcome, "ended_at": ENDED_AT.isoformat()}
    assert view["overruled_withdrawal"]["withdrawal_reason"] == "已和解"
    with pytest.raises(CaseStateError):
        case.withdraw("再次撤回", NOTED_AT + timedelta(minutes=3))


def test_a_noted_end_and_an_overruled_withdrawal_are_folds_of_their_events():
    case = an_accepted_case()
    case.withdraw("已和解", NOTED_AT)
    case.note_mediation_end("agreement", ENDED_AT, None, NOTED_AT)
    store = InMemoryEventStore(FixedClock())
    store.append(case.stream_id, 0, case.pending)

    again = Case.from_events(case.stream_id, store.load(case.stream_id))

    assert again.view() == case.view()
    assert again.status == "accepted"


def test_an_ending_told_by_a_refusal_is_corrected_by_the_ending_mediation_records_after_all():
    # mediation refuses a withdrawal dated after the deadline as one after the expiry before
    # its sweep records the expiry (a grace for late entries); an agreement keyed in within
    # that grace, dated before the deadline, is how the mediation really ended
    case = an_accepted_case()
    case.withdraw("已和解", NOTED_AT)
    assert case.note_mediation_end("expired", ENDED_AT, None, NOTED_AT, refused=True)
    assert case.status == "accepted" and case.view()["mediation"]["outcome"] == "expired"

    signed = ENDED_AT - timedelta(hours=2)
    assert case.note_mediation_end("agreement", signed, None, NOTED_AT)
    assert not case.note_mediation_end("expired", ENDED_AT, None, NOTED_AT, refused=True)  # a refusal again
    assert not case.note_mediation_end("failed", ENDED_AT, None, NOTED_AT)  # a mediation ends once

    assert case.view()["mediation"] == {"outcome": "agreement", "ended_at": signed.isoformat()}
    assert [e.event_type for e in case.pending][-2:] == ["WithdrawalOverruled", "MediationOutcomeNoted"]
    store = InMemoryEventStore(FixedClock())
    store.append(case.stream_id, 0, case.pending)
    assert Case.from_events(case.stream_id, store.load(case.stream_id)).view() == case.view()


def test_a_refusal_after_the_ending_itself_changes_nothing():
    case = an_accepted_case()
    case.withdraw("已和解", NOTED_AT)
    assert case.note_mediation_end("agreement", ENDED_AT, None, NOTED_AT)
    recorded = len(case.pending)
    assert not case.note_mediation_end("agreement", ENDED_AT, None, NOTED_AT, refused=True)
    assert len(case.pending) == recorded

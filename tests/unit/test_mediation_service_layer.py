"""The mediation service layer with a FakeUnitOfWork and in-memory read models: fast, no I/O."""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.auth import Principal
from services.common.clock import FixedClock
from services.common.envelope import Event
from services.common.errors import Forbidden, NotFound, Rejected, StateConflict
from services.common.unit_of_work import FakeUnitOfWork
from services.mediation import commands, handlers, schemas
from services.mediation.readmodels import InMemoryReadModels
from tests.unit.kernel_requests import pipeline, request

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HUAGUANGJIE = Principal("center", "huaguangjie", "token-h")
LONGSHENGJIE = Principal("center", "longshengjie", "token-l")
DISTRICT = Principal("district", None, "token-d")


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def settings():
    ids = itertools.count(1)
    return handlers.Settings(tz=TZ, performance_grace_days=3, new_id=lambda: str(uuid.UUID(int=next(ids))))


@pytest.fixture
def uow(clock, settings):
    return FakeUnitOfWork(clock, settings, views=InMemoryReadModels())


# Each handler with its command and boundary schema, as the service routes them.
ROUTES = {
    handlers.register_mediator: (commands.RegisterMediator, schemas.MediatorRegistration),
    handlers.renew_certificate: (commands.RenewCertificate, schemas.CertificateRenewal),
    handlers.file_complaint: (commands.FileComplaint, schemas.ComplaintFiling),
    handlers.assign_mediator: (commands.AssignMediator, schemas.Assignment),
    handlers.hold_session: (commands.HoldSession, schemas.Session),
    handlers.extend: (commands.Extend, schemas.Extension),
    handlers.reach_agreement: (commands.ReachAgreement, schemas.Agreement),
    handlers.fail: (commands.Fail, schemas.Failure),
    handlers.withdraw: (commands.Withdraw, schemas.Withdrawal),
    handlers.request_review: (commands.RequestReview, schemas.ReviewRequest),
    handlers.report_performance: (commands.ReportPerformance, schemas.Performance),
    handlers.record_survey: (commands.RecordSurvey, schemas.Survey),
}


def run(uow, use_case, body, principal=HUAGUANGJIE, **params):
    """The handler through the kernel's pipeline, as the HTTP route runs it; the JSON answer."""
    command_type, schema = ROUTES[use_case]
    dated = schema(now=uow.clock.now(), zone=TZ)
    response = pipeline(uow, principal).run(request(body=body), use_case, command_type, dated, **params)
    return json.loads(response.get_data(as_text=True))


def intake_event(event_type, case_id, stream_version, **data):
    return Event(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=1,
        stream_id=f"case-{case_id}",
        stream_version=stream_version,
        case_id=case_id,
        center_id="huaguangjie",
        occurred_at=START,
        recorded_at=START,
        correlation_id="c",
        causation_id=None,
        data={"case_id": case_id, "center_id": "huaguangjie", **data},
    )


def accepted(case_id, version=2, deadline=START + timedelta(days=15)):
    return intake_event(
        "CaseAccepted",
        case_id,
        version,
        case_number="HG-1",
        accepted_at=START.isoformat(),
        received_at=START.isoformat(),
        mediation_deadline=deadline.isoformat(),
        category="wages",
        source="self",
        workers_involved=1,
        collective=False,
        claimed_total="12000.00",
    )


def withdrawn(case_id, version=3):
    return intake_event(
        "ApplicationWithdrawn",
        case_id,
        version,
        reason="settled privately",
        withdrawn_at=START.isoformat(),
        status_before="accepted",
    )


def review_decided(case_id, decision, document_no=None, at=START):
    """The link's `ReviewDecided`, as mediation consumes it."""
    return Event(
        event_id=str(uuid.uuid4()),
        event_type="ReviewDecided",
        schema_version=1,
        stream_id="referral-r1",
        stream_version=3,
        case_id=case_id,
        center_id="huaguangjie",
        occurred_at=at,
        recorded_at=at,
        correlation_id="c",
        causation_id=None,
        data={
            "referral_id": "r1",
            "case_id": case_id,
            "center_id": "huaguangjie",
            "decision": decision,
            "document_no": document_no,
            "decided_at": at.isoformat(),
        },
    )


def consume(uow, settings, event, use_case):
    """What `ServiceStore.consume` does: the inbox claim and the effect in one unit of work."""
    with uow:
        previous = uow.inbox.claim("mediation.intake_cases", event)
        if previous is not None:
            use_case(uow, event, previous)


def command(uow, settings, use_case, case_id, body, principal=HUAGUANGJIE):
    return run(uow, use_case, body, principal, case_id=case_id)


def events_of(uow, stream_id):
    return [e.event_type for e in uow.events.load(stream_id)]


def register(uow, settings, **overrides):
    body = {
        "center_id": "huaguangjie",
        "name": "Li Ming",
        "certificate_no": "TJ-001",
        "certificate_expires": "2027-01-01",
        "full_time": True,
        **overrides,
    }
    principal = HUAGUANGJIE if body["center_id"] == "huaguangjie" else LONGSHENGJIE
    return run(uow, handlers.register_mediator, body, principal)["mediator_id"]


def open_case(uow, settings, case_id="case-1"):
    consume(uow, settings, accepted(case_id), handlers.open_mediation)
    return case_id


def test_an_accepted_case_opens_one_mediation_with_intakes_deadline(uow, settings):
    event = accepted("case-1")
    consume(uow, settings, event, handlers.open_mediation)
    consume(uow, settings, event, handlers.open_mediation)  # redelivered
    consume(uow, settings, accepted("case-1"), handlers.open_mediation)  # re-emitted with a new id
    assert events_of(uow, "mediation-case-1") == ["MediationOpened"]
    view = handlers.get_mediation(uow, HUAGUANGJIE, "case-1")
    assert view["status"] == "mediating"
    assert datetime.fromisoformat(view["deadline"]) == START + timedelta(days=15)


def test_a_withdrawal_that_overtakes_the_acceptance_leaves_no_mediation(uow, settings):
    consume(uow, settings, withdrawn("case-2", version=3), handlers.withdraw_on_intake)
    consume(uow, settings, accepted("case-2", version=2), handlers.open_mediation)
    assert events_of(uow, "mediation-case-2") == []
    assert uow.views.withdrawn_early("case-2")


def test_a_recorded_early_withdrawal_also_stops_a_later_acceptance(uow, settings):
    uow.views.record_early_withdrawal("case-3", START)
    consume(uow, settings, accepted("case-3", version=2), handlers.open_mediation)
    assert events_of(uow, "mediation-case-3") == []


def test_a_withdrawal_after_the_acceptance_withdraws_the_mediation_once(uow, settings):
    open_case(uow, settings, "case-4")
    event = withdrawn("case-4")
    consume(uow, settings, event, handlers.withdraw_on_intake)
    consume(uow, settings, event, handlers.withdraw_on_intake)
    assert events_of(uow, "mediation-case-4") == ["MediationOpened", "MediationWithdrawn"]
    assert uow.views.cases["case-4"]["status"] == "withdrawn"


def end_mediation(uow, settings, clock, case_id, ending):
    if ending == "agreement":
        mediator_id = register(uow, settings)
        command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": mediator_id})
        body = {"terms": "wages paid", "amount": "8000.00", "performance_due": "2026-03-20"}
        command(uow, settings, handlers.reach_agreement, case_id, body)
    elif ending == "failed":
        command(
            uow, settings, handlers.fail, case_id, {"reason": "respondent refused", "reason_code": "respondent_refused"}
        )
    else:
        clock.advance(days=16)
        handlers.sweep(uow)


@pytest.mark.parametrize("ending", ["agreement", "failed", "expired"])
def test_a_withdrawal_at_intake_after_the_mediation_ended_is_refused_once(uow, settings, clock, ending):
    # issue 15 finding 4: the withdrawal was logged and ignored, so intake said withdrawn for ever
    case_id = open_case(uow, settings, "case-5")
    end_mediation(uow, settings, clock, case_id, ending)
    event = withdrawn(case_id, version=4)
    consume(uow, settings, event, handlers.withdraw_on_intake)
    consume(uow, settings, event, handlers.withdraw_on_intake)  # redelivered

    [refused] = [e for e in uow.events.load("mediation-case-5") if e.event_type == "WithdrawalRefused"]
    assert refused.data["ended_with"] == ending
    assert refused.data["reason"].startswith("the mediation had already ended with")
    assert refused.data["withdrawal_event_id"] == event.event_id
    view = handlers.get_mediation(uow, HUAGUANGJIE, case_id)
    assert view["status"] == ending
    assert view["withdrawal_refused"]["reason"] == refused.data["reason"]


def test_a_withdrawal_at_intake_of_a_mediation_withdrawn_meanwhile_changes_nothing(uow, settings):
    case_id = open_case(uow, settings, "case-6")
    command(uow, settings, handlers.withdraw, case_id, {"reason": "settled"})
    consume(uow, settings, withdrawn(case_id, version=4), handlers.withdraw_on_intake)
    assert events_of(uow, "mediation-case-6") == ["MediationOpened", "MediationWithdrawn"]


def test_assignment_of_another_centers_mediator_is_422_and_stores_nothing(uow, settings):
    case_id = open_case(uow, settings)
    other = register(uow, settings, center_id="longshengjie")
    with pytest.raises(Rejected) as refused:
        command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": other})
    assert "longshengjie" in refused.value.errors["mediator_id"][0]
    assert events_of(uow, "mediation-case-1") == ["MediationOpened"]


def test_assignment_of_an_expired_or_unknown_mediator_is_422(uow, settings):
    case_id = open_case(uow, settings)
    expired = register(uow, settings, certificate_expires="2026-03-01")
    for mediator_id, reason in ((expired, "expired on 2026-03-01"), (str(uuid.uuid4()), "no mediator")):
        with pytest.raises(Rejected) as refused:
            command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": mediator_id})
        assert reason in refused.value.errors["mediator_id"][0]


def test_other_centers_staff_get_403_and_unknown_cases_404(uow, settings):
    case_id = open_case(uow, settings)
    with pytest.raises(Forbidden):
        command(uow, settings, handlers.fail, case_id, {"reason": "x"}, principal=LONGSHENGJIE)
    with pytest.raises(Forbidden):
        handlers.get_mediation(uow, LONGSHENGJIE, case_id)
    assert handlers.get_mediation(uow, DISTRICT, case_id)["case_id"] == case_id
    with pytest.raises(NotFound):
        command(uow, settings, handlers.fail, "no-such-case", {"reason": "x"})


def test_a_read_of_the_mediation_is_a_look_and_a_refused_one_records_nothing(uow, settings):
    case_id = open_case(uow, settings, str(uuid.uuid4()))
    before = len(uow.events.events)
    with pytest.raises(Forbidden):
        handlers.get_mediation(uow, LONGSHENGJIE, case_id)
    with pytest.raises(NotFound):
        handlers.mediation_history(uow, HUAGUANGJIE, str(uuid.uuid4()))
    assert len(uow.events.events) == before
    handlers.get_mediation(uow, HUAGUANGJIE, case_id)
    handlers.mediation_history(uow, DISTRICT, case_id)
    looks = uow.events.events[before:]
    assert [(e.event_type, e.case_id, e.data["route"], e.actor) for e in looks] == [
        ("MediationViewed", case_id, "mediation GET /api/v1/cases/{case_id}", {"token": "center:huaguangjie"}),
        ("MediationViewed", case_id, "mediation GET /api/v1/cases/{case_id}/history", {"token": "district"}),
    ]
    assert all(e.stream_id.startswith("look-") for e in looks)


def test_the_agreement_path_to_performance(uow, settings, clock):
    case_id = open_case(uow, settings)
    mediator_id = register(uow, settings)
    command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": mediator_id})
    command(uow, settings, handlers.hold_session, case_id, {"held_at": START.isoformat(), "summary": "first"})
    view = command(
        uow,
        settings,
        handlers.reach_agreement,
        case_id,
        {"terms": "wages paid", "amount": "8000.50", "performance_due": "2026-03-20"},
    )
    assert view["status"] == "agreement" and view["agreement"]["amount"] == "8000.50"
    assert command(uow, settings, handlers.request_review, case_id, {})["status"] == "under_review"
    with pytest.raises(StateConflict) as refused:
        command(uow, settings, handlers.request_review, case_id, {})
    assert refused.value.extra["status"] == "under_review"
    consume(uow, settings, review_decided(case_id, "confirmed", "WLZ-2026-7"), handlers.record_review_decision)
    view = handlers.get_mediation(uow, HUAGUANGJIE, case_id)
    assert (view["status"], view["review"]["decision"], view["review"]["document_no"]) == (
        "confirmed",
        "confirmed",
        "WLZ-2026-7",
    )
    assert command(uow, settings, handlers.report_performance, case_id, {"performed": True})["status"] == "performed"
    assert command(uow, settings, handlers.record_survey, case_id, {"score": 5})["survey"]["score"] == 5
    with pytest.raises(StateConflict):
        command(uow, settings, handlers.record_survey, case_id, {"score": 4})


def test_an_extension_without_consent_is_422(uow, settings):
    case_id = open_case(uow, settings)
    for body in ({"days": 5, "parties_consent": False}, {"days": 5}):
        with pytest.raises(Rejected) as refused:
            command(uow, settings, handlers.extend, case_id, body)
        assert "parties_consent" in refused.value.errors
    view = command(uow, settings, handlers.extend, case_id, {"days": 5, "parties_consent": True})
    assert datetime.fromisoformat(view["deadline"]) == START + timedelta(days=20)


def test_the_sweep_expires_an_overdue_mediation_exactly_once(uow, settings, clock):
    open_case(uow, settings, "case-a")
    open_case(uow, settings, "case-b")
    command(uow, settings, handlers.extend, "case-b", {"days": 5, "parties_consent": True})
    clock.advance(days=15, hours=24)  # the deadline and the grace for late entries
    assert handlers.sweep(uow)["expired"] == 1
    assert handlers.sweep(uow)["expired"] == 0
    assert events_of(uow, "mediation-case-a")[-1] == "MediationExpired"
    assert uow.views.cases["case-b"]["status"] == "mediating"
    with pytest.raises(StateConflict) as refused:
        command(
            uow,
            settings,
            handlers.reach_agreement,
            "case-a",
            {"terms": "x", "amount": "1.00", "performance_due": "2026-04-01"},
        )
    assert refused.value.extra["status"] == "expired"


def test_the_sweep_defaults_an_unreported_agreement_after_the_grace(uow, settings, clock):
    case_id = open_case(uow, settings)
    command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": register(uow, settings)})
    command(
        uow,
        settings,
        handlers.reach_agreement,
        case_id,
        {"terms": "x", "amount": "100.00", "performance_due": "2026-03-05"},
    )
    clock.set(datetime(2026, 3, 9, 23, 0, tzinfo=TZ))  # due + 3 days of grace + 24 h for late entries: not yet
    assert handlers.sweep(uow)["defaulted"] == 0
    clock.set(datetime(2026, 3, 10, 0, 0, tzinfo=TZ))
    assert handlers.sweep(uow)["defaulted"] == 1
    [defaulted] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "AgreementDefaulted"]
    assert defaulted.data["reported"] is False


def test_the_sweep_records_a_certificate_expiry_in_the_roster(uow, settings, clock):
    mediator_id = register(uow, settings, certificate_expires="2026-03-03")
    clock.set(datetime(2026, 3, 4, 0, 0, tzinfo=TZ))
    assert handlers.sweep(uow)["certificates_expired"] == 1
    assert handlers.sweep(uow)["certificates_expired"] == 0
    assert uow.views.mediators[mediator_id]["certificate_expired"] is True
    roster = handlers.roster(uow, HUAGUANGJIE, {"center_id": None})
    assert roster["center_id"] == "huaguangjie" and roster["certified"] == 0 and roster["full_time"] == 1


def test_a_complaint_about_another_centers_case_is_422_as_for_no_case_at_all(uow, settings):
    case_id = open_case(uow, settings, case_id="8f1b3c4e-5a6d-4e7f-8a9b-0c1d2e3f4a5b")
    filed = run(uow, handlers.file_complaint, {"center_id": "huaguangjie", "case_id": case_id.upper(), "text": "slow"})
    assert events_of(uow, f"complaint-{filed['complaint_id']}") == ["ComplaintFiled"]
    assert filed["case_id"] == case_id
    answers = []
    for other_case in (case_id, "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(Rejected) as refused:
            body = {"center_id": "longshengjie", "case_id": other_case, "text": "slow"}
            run(uow, handlers.file_complaint, body, LONGSHENGJIE)
        answers.append(refused.value.body())
    assert answers[0] == answers[1]  # nothing tells that the first one is huaguangjie's case
    assert "huaguangjie" not in json.dumps(answers[0], ensure_ascii=False)


class ReadModelsFailingFor(InMemoryReadModels):
    """In-memory read models that cannot store one case (a fault injected for the test)."""

    def __init__(self, broken_case_id, state):
        super().__init__()
        self.__dict__.update(state)
        self.broken_case_id = broken_case_id

    def save_mediation(self, mediation):
        if mediation.case_id == self.broken_case_id:
            raise RuntimeError("cannot store this case")
        super().save_mediation(mediation)


def test_a_case_the_sweep_cannot_handle_does_not_hold_up_the_others(uow, settings, clock):
    open_case(uow, settings, "case-broken")
    open_case(uow, settings, "case-fine")
    uow.views = ReadModelsFailingFor("case-broken", uow.views.__dict__)
    clock.advance(days=16)
    assert handlers.sweep(uow)["expired"] == 1
    assert events_of(uow, "mediation-case-fine")[-1] == "MediationExpired"
    assert events_of(uow, "mediation-case-broken") == ["MediationOpened"]


def test_a_command_that_loses_every_race_is_409_with_the_current_state_not_500(uow, settings):
    from services.common.commands import ATTEMPTS
    from services.mediation.domain import Complaint, Mediation, Mediator
    from tests.unit.kernel_requests import answer, losing_every_race

    case_id = open_case(uow, settings)
    attempts = []

    def counted(command, unit_of_work):
        attempts.append(1)
        return handlers.fail(command, unit_of_work)

    status, body = answer(
        pipeline(uow, HUAGUANGJIE, (Mediation, Mediator, Complaint)).run,
        request(body={"reason": "the respondent will not be mediated", "reason_code": "respondent_refused"}),
        losing_every_race(counted, uow),
        commands.Fail,
        schemas.Failure(),
        case_id=case_id,
    )

    assert (status, body["error"], body["status"]) == (409, "conflict", "mediating")
    assert len(attempts) == ATTEMPTS
    assert events_of(uow, f"mediation-{case_id}") == ["MediationOpened"]


# --- finding 3: after the agreement -------------------------------------------------------


def agreed(uow, settings, case_id="case-1", due="2026-03-05"):
    open_case(uow, settings, case_id)
    command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": register(uow, settings)})
    body = {"terms": "wages paid", "amount": "100.00", "performance_due": due}
    command(uow, settings, handlers.reach_agreement, case_id, body)
    return case_id


def test_finding3_a_confirmed_agreement_is_listed_as_confirmed_and_its_default_shows_court_enforcement(uow, settings):
    case_id = agreed(uow, settings)
    command(uow, settings, handlers.request_review, case_id, {})
    consume(uow, settings, review_decided(case_id, "confirmed", "WLZ-2026-7"), handlers.record_review_decision)
    listed = handlers.list_mediations(uow, HUAGUANGJIE, {"center_id": None, "status": "confirmed", "page": 1})
    assert [c["case_id"] for c in listed["cases"]] == [case_id]
    view = command(uow, settings, handlers.report_performance, case_id, {"performed": False})
    assert view["status"] == "defaulted"
    performance = view["performance"]
    assert (performance["confirmed"], performance["guidance"], performance["document_no"]) == (
        True,
        "court_enforcement",
        "WLZ-2026-7",
    )
    assert performance["payment_order_possible"] is False


def test_finding3_an_unconfirmed_wage_default_in_the_view_offers_the_payment_order(uow, settings):
    case_id = agreed(uow, settings)  # the accepted case's category is wages
    performance = command(uow, settings, handlers.report_performance, case_id, {"performed": False})["performance"]
    assert (performance["confirmed"], performance["guidance"]) == (False, "arbitration")
    assert performance["payment_order_possible"] is True


def test_finding3_a_default_reported_while_under_review_is_409_and_stores_nothing(uow, settings):
    case_id = agreed(uow, settings)
    command(uow, settings, handlers.request_review, case_id, {})
    before = events_of(uow, f"mediation-{case_id}")
    with pytest.raises(StateConflict) as refused:
        command(uow, settings, handlers.report_performance, case_id, {"performed": False})
    assert refused.value.extra["status"] == "under_review"
    assert events_of(uow, f"mediation-{case_id}") == before
    # paying need not wait for the institute: performance is recorded
    assert command(uow, settings, handlers.report_performance, case_id, {"performed": True})["status"] == "performed"


def test_finding3_the_sweep_defaults_neither_under_review_nor_before_the_decision(uow, settings, clock):
    case_id = agreed(uow, settings, due="2026-03-05")
    command(uow, settings, handlers.request_review, case_id, {})
    clock.set(datetime(2026, 3, 20, 0, 0, tzinfo=TZ))  # long past the due date and the grace
    assert handlers.sweep(uow)["defaulted"] == 0
    assert uow.views.cases[case_id]["status"] == "under_review"
    decided_at = clock.now()
    consume(
        uow, settings, review_decided(case_id, "confirmed", "WLZ-2026-8", decided_at), handlers.record_review_decision
    )
    assert handlers.sweep(uow)["defaulted"] == 1
    [defaulted] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "AgreementDefaulted"]
    assert (defaulted.data["confirmed"], defaulted.data["guidance"]) == (True, "court_enforcement")
    assert datetime.fromisoformat(defaulted.data["defaulted_at"]) >= decided_at


# -- when a step happened (issue 15, finding 2) -------------------------------------------


def with_mediator(uow, settings, case_id="case-1"):
    open_case(uow, settings, case_id)
    command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": register(uow, settings)})
    return case_id


AGREEMENT = {"terms": "x", "amount": "100.00", "performance_due": "2026-04-01"}


def test_a_paper_agreement_signed_on_the_last_day_and_keyed_in_the_next_morning_is_on_time(uow, settings, clock):
    case_id = with_mediator(uow, settings)
    deadline = START + timedelta(days=15)
    clock.set(deadline + timedelta(hours=9))  # the next morning: the deadline has passed
    assert handlers.sweep(uow)["expired"] == 0  # the grace for late entries
    signed = deadline - timedelta(hours=3)
    view = command(uow, settings, handlers.reach_agreement, case_id, {**AGREEMENT, "occurred_at": signed.isoformat()})
    assert view["status"] == "agreement"
    assert datetime.fromisoformat(view["agreement"]["signed_at"]) == signed
    assert view["agreement"]["on_time"] is True
    [event] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "AgreementReached"]
    assert (event.occurred_at, event.recorded_at) == (signed, deadline + timedelta(hours=9))
    assert event.data["on_time"] is True
    clock.advance(days=2)
    assert handlers.sweep(uow)["expired"] == 0


def test_after_the_grace_the_case_is_expired_at_its_deadline_and_a_late_agreement_is_409(uow, settings, clock):
    case_id = with_mediator(uow, settings)
    deadline = START + timedelta(days=15)
    clock.set(deadline + timedelta(hours=23, minutes=59))
    assert handlers.sweep(uow)["expired"] == 0
    clock.set(deadline + timedelta(hours=24, seconds=1))
    assert handlers.sweep(uow)["expired"] == 1
    [expired] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "MediationExpired"]
    assert datetime.fromisoformat(expired.data["expired_at"]) == deadline
    assert datetime.fromisoformat(expired.data["noticed_at"]) == deadline + timedelta(hours=24, seconds=1)
    body = {**AGREEMENT, "occurred_at": (deadline - timedelta(hours=1)).isoformat()}
    with pytest.raises(StateConflict) as refused:
        command(uow, settings, handlers.reach_agreement, case_id, body)
    assert "expired at 2026-03-17T01:00:00+00:00" in str(refused.value) and "grace" in str(refused.value)


def test_a_step_dated_after_the_deadline_is_409_during_the_grace_and_changes_nothing(uow, settings, clock):
    case_id = with_mediator(uow, settings)
    deadline = START + timedelta(days=15)
    clock.set(deadline + timedelta(hours=9))
    before = events_of(uow, f"mediation-{case_id}")
    with pytest.raises(StateConflict) as refused:
        command(uow, settings, handlers.reach_agreement, case_id, AGREEMENT)  # signed now, after the deadline
    assert "deadline passed" in str(refused.value)
    assert events_of(uow, f"mediation-{case_id}") == before


ASSIGNED = START + timedelta(days=2)
NOW_THEN = START + timedelta(days=8)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (NOW_THEN + timedelta(minutes=5), "in the future"),
        (NOW_THEN - timedelta(days=7, minutes=1), "7 days back"),
        (ASSIGNED - timedelta(hours=1), "before the step before it"),
    ],
    ids=["future", "beyond the backdate window", "before the assignment"],
)
def test_an_occurred_at_out_of_bounds_is_422_naming_the_field_and_changes_nothing(uow, settings, clock, given, says):
    case_id = open_case(uow, settings)
    clock.set(ASSIGNED)
    command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": register(uow, settings)})
    clock.set(NOW_THEN)
    before = events_of(uow, f"mediation-{case_id}")
    for use_case, body in (
        (handlers.extend, {"days": 5, "parties_consent": True}),
        (handlers.reach_agreement, AGREEMENT),
        (handlers.fail, {"reason": "refused"}),
        (handlers.withdraw, {"reason": "settled"}),
    ):
        with pytest.raises(Rejected) as refused:
            command(uow, settings, use_case, case_id, {**body, "occurred_at": given.isoformat()})
        assert list(refused.value.errors) == ["occurred_at"]
        assert says in refused.value.errors["occurred_at"][0]
    assert events_of(uow, f"mediation-{case_id}") == before


def test_a_session_is_not_dated_before_the_last_session_nor_before_acceptance(uow, settings, clock):
    case_id = with_mediator(uow, settings)
    clock.advance(days=3)
    command(
        uow,
        settings,
        handlers.hold_session,
        case_id,
        {"held_at": (START + timedelta(days=2)).isoformat(), "summary": "1"},
    )
    with pytest.raises(Rejected) as refused:
        command(
            uow,
            settings,
            handlers.hold_session,
            case_id,
            {"held_at": (START + timedelta(days=1)).isoformat(), "summary": "2"},
        )
    assert "before the step before it" in refused.value.errors["held_at"][0]
    other = open_case(uow, settings, "case-2")
    with pytest.raises(Rejected) as refused:
        command(
            uow,
            settings,
            handlers.extend,
            other,
            {"days": 3, "parties_consent": True, "occurred_at": (START - timedelta(hours=1)).isoformat()},
        )
    assert "before the step before it" in refused.value.errors["occurred_at"][0]  # before accepted_at


def test_a_sessions_held_at_is_its_occurred_at(uow, settings, clock):
    case_id = with_mediator(uow, settings)
    clock.advance(days=1)
    held = START + timedelta(hours=5)
    view = command(uow, settings, handlers.hold_session, case_id, {"occurred_at": held.isoformat(), "summary": "1"})
    assert datetime.fromisoformat(view["sessions"][0]["held_at"]) == held
    body = {"held_at": (held + timedelta(hours=1)).isoformat(), "occurred_at": held.isoformat(), "summary": "2"}
    with pytest.raises(Rejected) as refused:
        command(uow, settings, handlers.hold_session, case_id, body)
    assert "occurred_at" in refused.value.errors
    [event] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "SessionHeld"]
    assert event.occurred_at == held and event.recorded_at == START + timedelta(days=1)


def test_every_step_records_when_it_happened_as_the_events_occurred_at(uow, settings, clock):
    case_id = open_case(uow, settings)
    mediator_id = register(uow, settings)
    clock.advance(days=5)
    steps = [
        (handlers.assign_mediator, {"mediator_id": mediator_id}, "MediatorAssigned", "assigned_at"),
        (handlers.hold_session, {"held_at": None, "summary": "1"}, "SessionHeld", "held_at"),
        (handlers.extend, {"days": 5, "parties_consent": True}, "MediationExtended", "extended_at"),
        (handlers.reach_agreement, AGREEMENT, "AgreementReached", "signed_at"),
        (handlers.request_review, {}, "ReviewRequested", "requested_at"),
        (handlers.report_performance, {"performed": True}, "AgreementPerformed", "performed_at"),
        (handlers.record_survey, {"score": 5}, "SurveyRecorded", "recorded_at"),
    ]
    for hours, (use_case, body, event_type, key) in enumerate(steps, start=1):
        at = (START + timedelta(days=1, hours=hours)).astimezone(TZ)
        body = {**body, "held_at": at.isoformat()} if "held_at" in body else {**body, "occurred_at": at.isoformat()}
        command(uow, settings, use_case, case_id, body)
        event = uow.events.load(f"mediation-{case_id}")[-1]
        assert (event.event_type, event.occurred_at, event.data[key]) == (event_type, at, at.isoformat())
        assert event.recorded_at == clock.now()


def test_intakes_withdrawal_dated_after_the_deadline_is_refused_as_one_after_the_expiry(uow, settings, clock):
    case_id = open_case(uow, settings)
    deadline = START + timedelta(days=15)
    clock.set(deadline + timedelta(hours=2))  # within the grace: the expiry is not recorded yet
    late = intake_event(
        "ApplicationWithdrawn",
        case_id,
        3,
        reason="settled privately",
        withdrawn_at=(deadline + timedelta(hours=1)).isoformat(),
        status_before="accepted",
    )
    consume(uow, settings, late, handlers.withdraw_on_intake)
    [refused] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "WithdrawalRefused"]
    assert (refused.data["ended_with"], refused.data["ended_at"]) == ("expired", deadline.isoformat())
    clock.set(deadline + timedelta(hours=24))
    assert handlers.sweep(uow)["expired"] == 1
    assert events_of(uow, f"mediation-{case_id}") == ["MediationOpened", "WithdrawalRefused", "MediationExpired"]


# --- finding 5: the mediator's certificate on the day of each step; failures need one --------


def assigned_until(uow, settings, expires, case_id="case-1"):
    open_case(uow, settings, case_id)
    mediator_id = register(uow, settings, certificate_expires=expires)
    command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": mediator_id})
    return case_id, mediator_id


def test_finding5_an_agreement_after_the_mediators_certificate_expired_is_422_until_renewed(uow, settings, clock):
    case_id, mediator_id = assigned_until(uow, settings, "2026-03-03")  # assigned on 2026-03-02, valid
    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=TZ))
    body = {"terms": "wages paid", "amount": "100.00", "performance_due": "2026-03-20"}
    before = events_of(uow, f"mediation-{case_id}")
    with pytest.raises(Rejected) as refused:
        command(uow, settings, handlers.reach_agreement, case_id, body)
    message = refused.value.errors["mediator_id"][0]
    assert "expired on 2026-03-03" in message and "assign another mediator" in message
    assert events_of(uow, f"mediation-{case_id}") == before
    run(
        uow,
        handlers.renew_certificate,
        {"certificate_no": "TJ-009", "certificate_expires": "2028-03-03"},
        mediator_id=mediator_id,
    )
    assert command(uow, settings, handlers.reach_agreement, case_id, body)["status"] == "agreement"
    [signed] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "AgreementReached"]
    assert signed.data["certificate_no"] == "TJ-009"  # the certificate valid on the day, not the lapsed one


def test_finding5_a_session_is_judged_on_the_day_it_was_held(uow, settings, clock):
    case_id, _ = assigned_until(uow, settings, "2026-03-03")
    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=TZ))
    held_in_time = datetime(2026, 3, 3, 15, 0, tzinfo=TZ).isoformat()  # keyed in the next morning
    command(uow, settings, handlers.hold_session, case_id, {"held_at": held_in_time, "summary": "heard"})
    with pytest.raises(Rejected) as refused:
        command(uow, settings, handlers.hold_session, case_id, {"held_at": clock.now().isoformat(), "summary": "x"})
    assert "2026-03-04" in refused.value.errors["mediator_id"][0]
    assert events_of(uow, f"mediation-{case_id}").count("SessionHeld") == 1


def test_finding5_a_failure_recorded_by_an_expired_mediator_is_422_but_a_respondents_refusal_is_not(
    uow, settings, clock
):
    case_id, _ = assigned_until(uow, settings, "2026-03-03")
    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=TZ))
    with pytest.raises(Rejected):
        command(uow, settings, handlers.fail, case_id, {"reason": "too far apart", "reason_code": "no_agreement"})
    view = command(
        uow, settings, handlers.fail, case_id, {"reason": "refuses mediation", "reason_code": "respondent_refused"}
    )
    assert (view["status"], view["failure"]["reason_code"]) == ("failed", "respondent_refused")


def test_finding5_a_failure_without_a_mediator_is_409_unless_the_respondent_refused(uow, settings):
    case_id = open_case(uow, settings)
    for body in ({"reason": "x"}, {"reason": "x", "reason_code": "no_agreement"}):
        with pytest.raises(StateConflict) as refused:
            command(uow, settings, handlers.fail, case_id, body)
        assert refused.value.extra["status"] == "mediating"
        assert "assign a mediator" in str(refused.value)
    with pytest.raises(Rejected) as refused:
        command(uow, settings, handlers.fail, case_id, {"reason": "x", "reason_code": "bored"})
    assert "reason_code" in refused.value.errors
    assert events_of(uow, f"mediation-{case_id}") == ["MediationOpened"]
    view = command(
        uow, settings, handlers.fail, case_id, {"reason": "refuses mediation", "reason_code": "respondent_refused"}
    )
    assert view["status"] == "failed" and view["mediator"] is None
    [failed] = [e for e in uow.events.load(f"mediation-{case_id}") if e.event_type == "MediationFailed"]
    assert (failed.data["mediator_id"], failed.data["reason_code"]) == (None, "respondent_refused")


def test_a_session_without_an_assigned_mediator_is_409_and_stores_nothing(uow, settings):
    case_id = open_case(uow, settings)
    before = handlers.get_mediation(uow, HUAGUANGJIE, case_id)
    with pytest.raises(StateConflict) as refused:
        command(uow, settings, handlers.hold_session, case_id, {"held_at": START.isoformat(), "summary": "heard"})
    assert refused.value.extra["status"] == "mediating"
    assert "a session needs an assigned mediator: assign one first" in str(refused.value)
    assert events_of(uow, f"mediation-{case_id}") == ["MediationOpened"]
    assert handlers.get_mediation(uow, HUAGUANGJIE, case_id)["sessions"] == before["sessions"] == []


def test_finding5_a_failure_with_only_a_reason_still_works_with_a_mediator(uow, settings):
    case_id, _ = assigned_until(uow, settings, "2027-01-01")
    view = command(uow, settings, handlers.fail, case_id, {"reason": "the parties are too far apart"})
    assert (view["status"], view["failure"]["reason_code"]) == ("failed", None)


def test_finding5_an_agreement_is_judged_on_the_day_it_was_signed_not_keyed_in(uow, settings, clock):
    case_id, _ = assigned_until(uow, settings, "2026-03-03")
    clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=TZ))  # the morning after the certificate's last day
    body = {"terms": "wages paid", "amount": "100.00", "performance_due": "2026-03-20"}
    with pytest.raises(Rejected) as refused:
        command(uow, settings, handlers.reach_agreement, case_id, {**body, "occurred_at": "2026-03-04T08:30:00+08:00"})
    assert "2026-03-04" in refused.value.errors["mediator_id"][0]
    signed = {**body, "occurred_at": "2026-03-03T17:00:00+08:00"}  # the paper agreement, signed in time
    assert command(uow, settings, handlers.reach_agreement, case_id, signed)["status"] == "agreement"


def test_a_time_given_to_the_minute_of_the_step_before_it_is_not_before_it(uow, settings, clock):
    # the console's forms give minutes: a session entered right after the assignment,
    # with the form's time of that minute, is not "before the step before it"
    case_id = open_case(uow, settings)
    assigned = START + timedelta(hours=1, seconds=25)
    clock.set(assigned)
    command(uow, settings, handlers.assign_mediator, case_id, {"mediator_id": register(uow, settings)})
    clock.advance(minutes=2)
    body = {"held_at": (START + timedelta(hours=1)).isoformat(), "summary": "1"}
    view = command(uow, settings, handlers.hold_session, case_id, body)
    assert datetime.fromisoformat(view["sessions"][0]["held_at"]) == assigned  # that minute, not before
    with pytest.raises(Rejected):
        body = {"held_at": (START + timedelta(minutes=59)).isoformat(), "summary": "2"}
        command(uow, settings, handlers.hold_session, case_id, body)

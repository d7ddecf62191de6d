"""The intake service layer on a FakeUnitOfWork and in-memory records: fast, no I/O."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.auth import Principal
from services.common.clock import FixedClock
from services.common.envelope import Event
from services.common.errors import Forbidden
from services.common.steps import StepTimeRefused
from services.common.unit_of_work import FakeUnitOfWork
from services.intake import handlers
from services.intake.commands import DecideAcceptance, RecordConsultation, RegisterApplication, WithdrawApplication
from services.intake.domain import CaseStateError
from services.intake.records import InMemoryIntakeRecords
from tests.unit.test_intake_domain import an_application

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF = Principal("center", "huaguangjie", "h1")
OTHER_STAFF = Principal("center", "longshengjie", "h2")
DISTRICT = Principal("district", None, "h3")


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))


@pytest.fixture
def settings():
    ids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count(1))
    return handlers.IntakeSettings(zone=SHANGHAI, new_id=lambda: next(ids))


@pytest.fixture
def records():
    return InMemoryIntakeRecords()


@pytest.fixture
def uow(clock, settings, records):
    return FakeUnitOfWork(clock, settings, records=records)


def register(uow, records, settings, actor=None, **overrides):
    with uow:
        return handlers.register_application(
            RegisterApplication(actor=actor, application=an_application(**overrides)), uow
        )


def decide(uow, principal, case_id, decision, reason=None):
    command = DecideAcceptance(actor=principal, case_id=case_id, decision=decision, reason=reason)
    return handlers.decide_acceptance(command, uow)


def test_registration_numbers_cases_per_center_and_returns_the_deadline(uow, records, settings):
    first = register(uow, records, settings)
    second = register(uow, records, settings)
    elsewhere = register(uow, records, settings, center_id="longshengjie")

    assert [first["case_number"], second["case_number"], elsewhere["case_number"]] == [
        "HGJ-2026-00001",
        "HGJ-2026-00002",
        "LSJ-2026-00001",
    ]
    assert first["status"] == "received"
    assert first["mediation_deadline"] == "2026-03-17"
    assert first["mediation_deadline_ends_at"] == "2026-03-18T00:00:00+08:00"
    assert [e.event_type for e in uow.events.events] == ["ApplicationReceived"] * 3
    assert uow.events.events[0].stream_id == f"case-{first['case_id']}"


def test_the_year_of_a_case_number_is_the_year_of_receipt_in_the_district(uow, records, settings, clock):
    new_years_eve_in_utc = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 January in Shanghai
    clock.set(new_years_eve_in_utc)
    case = register(uow, records, settings, received_at=new_years_eve_in_utc.astimezone(SHANGHAI))
    assert case["case_number"] == "HGJ-2027-00001"


def test_the_mediation_period_is_configurable(clock, records):
    settings = handlers.IntakeSettings(zone=SHANGHAI, mediation_days=30)
    case = register(FakeUnitOfWork(clock, settings, records=records), records, settings)
    assert case["mediation_deadline"] == "2026-04-01"


def test_acceptance_is_recorded_once_and_kept_in_the_case_list(uow, records, settings, clock):
    case_id = register(uow, records, settings)["case_id"]
    clock.advance(hours=1)

    with uow:
        decided = decide(uow, STAFF, case_id, "accept")

    assert decided["status"] == "accepted"
    assert decided["decision"]["decided_at"] == "2026-03-02T11:00:00+08:00"
    assert records.page(status="accepted")[0][0]["case_id"] == case_id
    with pytest.raises(CaseStateError) as refused, uow:
        decide(uow, STAFF, case_id, "reject", "late")
    assert refused.value.status == "accepted"
    assert len(uow.events.events) == 2


def test_a_withdrawn_case_takes_no_further_command(uow, records, settings):
    case_id = register(uow, records, settings)["case_id"]
    with uow:
        handlers.withdraw_application(WithdrawApplication(actor=STAFF, case_id=case_id, reason="已和解"), uow)

    with pytest.raises(CaseStateError) as refused, uow:
        decide(uow, STAFF, case_id, "accept")
    assert refused.value.status == "withdrawn"


def test_staff_of_another_center_and_the_district_may_not_change_a_case(uow, records, settings):
    case_id = register(uow, records, settings)["case_id"]

    for principal in (OTHER_STAFF, DISTRICT):
        with pytest.raises(Forbidden), uow:
            decide(uow, principal, case_id, "accept")
    assert len(uow.events.events) == 1


def test_staff_of_another_center_may_not_read_a_case_the_district_may(uow, records, settings):
    case_id = register(uow, records, settings)["case_id"]

    with pytest.raises(Forbidden):
        handlers.case_view(uow, OTHER_STAFF, case_id)
    with pytest.raises(Forbidden):
        handlers.case_history(uow, OTHER_STAFF, case_id)
    assert handlers.case_view(uow, DISTRICT, case_id)["status"] == "received"
    assert [e["event_type"] for e in handlers.case_history(uow, DISTRICT, case_id)["events"]] == ["ApplicationReceived"]


def test_an_unknown_or_malformed_case_id_is_an_unknown_case(uow, settings, records):
    for case_id in ("00000000-0000-4000-8000-999999999999", "not-a-uuid"):
        with pytest.raises(handlers.UnknownCase):
            handlers.case_view(uow, STAFF, case_id)


def test_staff_see_only_their_own_centers_list(uow, records, settings):
    register(uow, records, settings)
    register(uow, records, settings, center_id="longshengjie")

    own = handlers.list_cases(records, STAFF)
    assert {c["center_id"] for c in own["cases"]} == {"huaguangjie"}
    assert handlers.list_cases(records, DISTRICT)["total"] == 2
    with pytest.raises(Forbidden):
        handlers.list_cases(records, OTHER_STAFF, center_id="huaguangjie")


def test_the_case_list_pages_newest_first(uow, records, settings):
    numbers = [register(uow, records, settings)["case_number"] for _ in range(5)]

    page = handlers.list_cases(records, STAFF, page=2, page_size=2)

    assert [c["case_number"] for c in page["cases"]] == [numbers[2], numbers[1]]
    assert (page["total"], page["page"]) == (5, 2)


def test_the_list_carries_no_id_numbers(uow, records, settings):
    register(uow, records, settings)
    assert "11010519491231002X" not in repr(handlers.list_cases(records, STAFF))


def test_a_recommendation_letter_opens_one_case(uow, records, settings):
    letter = an_application(channel="letter", source="arbitration_recommendation", recommendation_id="R-7")

    with uow:
        opened = handlers.open_recommended_case(RegisterApplication(application=letter), uow)
    with uow:
        again = handlers.open_recommended_case(RegisterApplication(application=letter), uow)

    assert opened["status"] == "received" and again is None
    [event] = uow.events.events
    assert event.data["recommendation_id"] == "R-7"
    assert event.data["source"] == "arbitration_recommendation"


def test_a_consultation_is_recorded_on_its_own_stream(uow, settings):
    with uow:
        command = RecordConsultation(actor=STAFF, center_id="huaguangjie", channel="phone", topic="加班费")
        recorded = handlers.record_consultation(command, uow)

    [event] = uow.events.events
    assert event.event_type == "ConsultationRecorded"
    assert event.stream_id == f"consultation-{recorded['consultation_id']}"
    assert event.center_id == "huaguangjie"
    assert event.data["recorded_at"] == "2026-03-02T10:00:00+08:00"


def test_the_zone_and_mediation_period_come_from_configuration():
    from services.intake.bootstrap import intake_settings

    configured = intake_settings({"TIMEZONE": "Asia/Urumqi"}, {"TIAOJIE_MEDIATION_DAYS": "20"})
    default = intake_settings({}, {})

    assert (str(configured.zone), configured.mediation_days) == ("Asia/Urumqi", 20)
    assert (str(default.zone), default.mediation_days) == ("Asia/Shanghai", 15)
    assert default.centers["huaguangjie"].code == "HGJ"


def test_the_retention_period_and_its_sweep_come_from_configuration():
    from services.intake.bootstrap import intake_settings

    env = {
        "TIAOJIE_RETENTION_YEARS": "30",
        "TIAOJIE_RETENTION_SWEEP_SECONDS": "86400",
        "DATABASE_URL": "postgresql://h/d",
    }
    configured = intake_settings({"DATABASE_URL": "postgresql:///own_intake"}, env)
    default = intake_settings({}, {})

    assert (configured.retention_years, configured.retention_sweep_seconds) == (30, 86400.0)
    assert configured.closure_databases == {
        "intake": "postgresql:///own_intake",
        "mediation": "postgresql://h/d_mediation",
    }
    assert (default.retention_years, default.retention_sweep_seconds) == (10, 3600.0)


def test_search_matches_a_case_number_an_id_number_or_credit_code_whole_and_a_name_by_part(uow, records, settings):
    first = register(uow, records, settings)
    other = register(
        uow,
        records,
        settings,
        applicant={"name": "李四", "id_type": "passport", "id_number": "E12345678"},
        respondent={"name": "另一家商贸公司"},
    )

    def found(q):
        return [c["case_id"] for c in handlers.list_cases(records, DISTRICT, q=q)["cases"]]

    assert found(first["case_number"]) == [first["case_id"]]
    assert found("11010519491231002x") == [first["case_id"]]  # whole, in any case
    assert found("110105194912") == []  # never by part
    assert found("91350100M000100Y43") == [first["case_id"]]
    assert found("张") == [first["case_id"]] and found("商贸") == [other["case_id"]]
    assert found("e12345678") == [other["case_id"]]


def test_search_by_received_dates_counts_whole_days_of_the_districts_zone(uow, records, settings):
    from datetime import date

    # 2026-03-02 10:00 in Shanghai: on the 2nd there, still the 1st nowhere
    case = register(uow, records, settings)

    def found(**dates):
        return [c["case_id"] for c in handlers.list_cases(records, DISTRICT, zone=SHANGHAI, **dates)["cases"]]

    assert found(received_from=date(2026, 3, 2), received_to=date(2026, 3, 2)) == [case["case_id"]]
    assert found(received_from=date(2026, 3, 3)) == []
    assert found(received_to=date(2026, 3, 1)) == []


def test_a_command_that_loses_every_race_is_409_with_the_current_state_not_500(uow, records, settings):
    from services.intake.domain import Case
    from services.intake.schemas import AcceptanceSchema
    from tests.unit.kernel_requests import answer, losing_every_race, pipeline, request

    case_id = register(uow, records, settings)["case_id"]
    commands = pipeline(uow, STAFF, aggregates=(Case,))
    attempts = []

    def counted(command, unit_of_work):
        attempts.append(1)
        return handlers.decide_acceptance(command, unit_of_work)

    status, body = answer(
        commands.run,
        request(body={"decision": "accept"}),
        losing_every_race(counted, uow),
        DecideAcceptance,
        AcceptanceSchema(),
        case_id=case_id,
    )

    assert (status, body["error"], body["status"]) == (409, "conflict", "received")
    assert len(attempts) == 5  # decided again on the new state, up to the one budget
    assert [e.event_type for e in uow.events.events] == ["ApplicationReceived"]


def test_the_history_places_the_documents_issued_among_the_case_events(uow, records, settings, clock):
    case_id = register(uow, records, settings)["case_id"]
    clock.advance(hours=2)
    with uow:
        decide(uow, STAFF, case_id, "accept")
    received, accepted = (e.to_envelope() for e in uow.events.events)
    between = datetime.fromisoformat(received["occurred_at"]) + timedelta(minutes=5)
    issued = {
        "event_id": "00000000-0000-4000-8000-0000000000d1",
        "event_type": "DocumentIssued",
        "case_id": case_id,
        "occurred_at": between.isoformat(),
        "data": {"kind": "rejection_notice"},
    }
    later = {**issued, "event_id": "00000000-0000-4000-8000-0000000000d2", "occurred_at": "2999-01-01T00:00:00+00:00"}
    for envelope in (later, issued, issued):  # in any order, and twice
        handlers.record_document_issued(records, envelope)

    history = handlers.case_history(uow, DISTRICT, case_id)["events"]
    assert [e["event_id"] for e in history] == [
        received["event_id"],
        issued["event_id"],
        accepted["event_id"],
        later["event_id"],
    ]


@pytest.mark.parametrize(
    ("received_at", "message"),
    [
        (datetime(2026, 2, 20, 10, 0, tzinfo=SHANGHAI), "7 days back"),
        (datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI), "future"),
    ],
)
def test_a_receipt_is_backdated_at_most_the_allowed_days_and_nothing_is_stored(
    uow, records, settings, received_at, message
):
    # finding 2: received 2025-12-01 keyed in on 2026-01-10 drew a 2025 case number,
    # expired at once, and changed figures already reported
    with pytest.raises(StepTimeRefused) as refused:
        register(uow, records, settings, received_at=received_at)
    assert message in refused.value.errors["received_at"][0]
    assert uow.events.events == []


def test_acceptance_and_withdrawal_record_when_they_happened_within_the_bounds(uow, records, settings, clock):
    clock.set(datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    case_id = register(uow, records, settings, received_at=datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI))["case_id"]
    too_early = DecideAcceptance(
        actor=STAFF, case_id=case_id, decision="accept", occurred_at=datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
    )
    with uow, pytest.raises(StepTimeRefused) as refused:
        handlers.decide_acceptance(too_early, uow)
    assert "before the step before it" in refused.value.errors["occurred_at"][0]
    accepted_at = datetime(2026, 3, 4, 16, 0, tzinfo=SHANGHAI)
    with uow:
        decided = handlers.decide_acceptance(
            DecideAcceptance(actor=STAFF, case_id=case_id, decision="accept", occurred_at=accepted_at), uow
        )
    assert decided["decision"]["decided_at"] == accepted_at.isoformat()
    [event] = [e for e in uow.events.events if e.event_type == "CaseAccepted"]
    assert event.occurred_at == accepted_at


# -- issue 15 finding 4: intake follows how the mediation ended ---------------------------
MEDIATOR = {"account_id": "a-7", "login": "wangfang", "name": "王芳", "role": "staff"}


def mediation_event(case_id, event_type, version, actor=None, **data):
    at = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
    return Event(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=1,
        stream_id=f"mediation-{case_id}",
        stream_version=version,
        case_id=case_id,
        center_id="huaguangjie",
        occurred_at=at,
        recorded_at=at,
        correlation_id="c",
        causation_id=None,
        data={"case_id": case_id, "center_id": "huaguangjie", **data},
        actor=actor,
    )


def agreement(case_id, version=4):
    return mediation_event(case_id, "AgreementReached", version, MEDIATOR, signed_at="2026-03-05T06:00:00+00:00")


def refusal(case_id, version=5):
    return mediation_event(
        case_id,
        "WithdrawalRefused",
        version,
        reason="the mediation had already ended with an agreement on 2026-03-05T06:00:00+00:00",
        ended_with="agreement",
        ended_at="2026-03-05T06:00:00+00:00",
        status="agreement",
    )


def consume(uow, event):
    """What `ServiceStore.consume` does: the inbox claim and the effect in one unit of work."""
    with uow:
        if uow.inbox.claim("intake.mediation_outcomes", event) is not None:
            handlers.record_mediation_end(uow, event)


def withdraw(uow, case_id):
    return handlers.withdraw_application(WithdrawApplication(actor=STAFF, case_id=case_id, reason="已和解"), uow)


def an_accepted_case(uow, records, settings):
    case_id = register(uow, records, settings)["case_id"]
    with uow:
        decide(uow, STAFF, case_id, "accept")
    return case_id


def test_a_withdrawal_after_mediations_agreement_is_refused_and_stores_nothing(uow, records, settings):
    case_id = an_accepted_case(uow, records, settings)
    consume(uow, agreement(case_id))
    stored = len(uow.events.events)

    with pytest.raises(CaseStateError) as refused, uow:
        withdraw(uow, case_id)

    assert refused.value.status == "accepted"
    assert "ended with an agreement on 2026-03-05" in refused.value.message  # the day in the district
    assert len(uow.events.events) == stored
    assert records.page(status="accepted")[0][0]["mediation_outcome"] == "agreement"


def test_mediations_withdrawal_makes_intakes_case_withdrawn_by_the_mediations_actor(uow, records, settings):
    case_id = an_accepted_case(uow, records, settings)
    withdrawn = mediation_event(
        case_id, "MediationWithdrawn", 4, MEDIATOR, reason="当事人自行和解", withdrawn_at="2026-03-05T06:00:00+00:00"
    )
    consume(uow, withdrawn)
    consume(uow, withdrawn)  # redelivered

    view = handlers.case_view(uow, STAFF, case_id)
    assert view["status"] == "withdrawn"
    assert view["withdrawal"]["withdrawn_at"] == "2026-03-05T14:00:00+08:00"
    assert records.page(status="withdrawn")[1] == 1
    noted = [e for e in uow.events.events if e.event_type == "MediationOutcomeNoted"]
    assert len(noted) == 1


@pytest.mark.parametrize("first", ["agreement", "refusal"])
def test_the_race_converges_whichever_of_mediations_events_arrives_first(uow, records, settings, first):
    case_id = an_accepted_case(uow, records, settings)
    with uow:
        withdraw(uow, case_id)  # intake had not heard of the agreement yet
    events = [agreement(case_id), refusal(case_id)]
    for event in events if first == "agreement" else events[::-1]:
        consume(uow, event)

    view = handlers.case_view(uow, STAFF, case_id)
    assert view["status"] == "accepted" and view["withdrawal"] is None
    assert view["mediation"] == {"outcome": "agreement", "ended_at": "2026-03-05T14:00:00+08:00"}
    types = [e.event_type for e in uow.events.events if e.stream_id == f"case-{case_id}"]
    assert types == ["ApplicationReceived", "CaseAccepted", "ApplicationWithdrawn", "WithdrawalOverruled"]
    assert records.page(status="accepted")[1] == 1


def test_an_ending_of_a_case_intake_does_not_know_is_logged_and_dropped(uow):
    consume(uow, agreement(str(uuid.uuid4())))
    assert uow.events.events == []

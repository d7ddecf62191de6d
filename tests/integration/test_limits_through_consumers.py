"""Every value the boundary accepts is one every consumer holds (issue 16, finding 1; docs/LIMITS.md).

Hypothesis generates applications and agreements at the extremes the schemas allow (50
claims adding up to the maximum amount, texts at their longest in every script, the
earliest receipt date, a million workers) and pushes the real events through every
consumer: mediation opens the case and records the agreement, the arbitration link sends
its referral (which must pass the institute's JSON Schema), the documents write the
amounts in Chinese capitals, and the metrics projection stores it all in its PostgreSQL
read model and renders /metrics. The old boundary took 10,000 claims of
"999999999999.99": the metrics projection's numeric column refused the total and the
event went to a dead-letter queue.
"""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from prometheus_client import CollectorRegistry, generate_latest

from services.common import limits
from services.common.auth import Principal
from services.common.centers import load_centers
from services.common.clock import FixedClock
from services.common.http import flatten_errors
from services.common.steps import DEFAULT_BACKDATE_DAYS
from services.common.unit_of_work import FakeUnitOfWork, unit_of_work
from services.documents.chinese import amount_in_capitals
from services.intake import handlers as intake
from services.intake.commands import DecideAcceptance, RegisterApplication
from services.intake.identifiers import resident_id_check_digit
from services.intake.records import InMemoryIntakeRecords
from services.intake.schemas import ApplicationSchema
from services.mediation import commands as mediation_commands
from services.mediation import handlers as mediation
from services.mediation import schemas
from services.mediation.readmodels import InMemoryReadModels
from services.metrics.collector import CONSUMER, ReadModelCollector
from services.metrics.projection import facts_of
from services.metrics.readmodel import apply_facts
from services.metrics.settings import IndicatorSettings
from tests.unit.kernel_requests import pipeline, request
from tests.unit.test_arbitration_handlers import FakeLink

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
METRICS = IndicatorSettings()
STAFF = Principal("admin", None, "token-admin")

# Texts in every script a name or a claim may be written in: CJK (with extension B),
# Uyghur, combining marks, emoji beyond the BMP, quotes, backslashes and SQL-ish punctuation.
ALPHABET = st.sampled_from(list("张王古丽𠀋𪚥ئۇيغۇرéñ́ 😀🧧'\"\\%_;-,.()\n\tA9"))


def text_up_to(max_length):
    return st.one_of(
        st.just("王" * max_length),
        st.just("𠀋" * max_length),
        st.text(ALPHABET, min_size=1, max_size=max_length).map(lambda t: ("张" + t)[:max_length]),
    )


def resident_id(first17):
    return first17 + resident_id_check_digit(first17)


def money_strings(amount):
    """One amount as a client may write it: "12", "12.5", "12.50"."""
    text = format(amount, "f")
    return st.sampled_from(sorted({text, text.rstrip("0").rstrip(".") if "." in text else text}))


@st.composite
def claims(draw):
    """Claim lines at and just beyond the limits: the boundary must take the first, refuse the rest."""
    count = draw(
        st.sampled_from([1, 2, limits.MAX_CLAIMS, limits.MAX_CLAIMS + 1, 120]) | st.integers(1, limits.MAX_CLAIMS)
    )
    share = (limits.MAX_AMOUNT / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    beyond = [limits.MAX_AMOUNT, limits.MAX_AMOUNT + Decimal("0.01")]
    choices = [share, Decimal("0.00"), Decimal("0.01")] + (beyond if draw(st.booleans()) else [])
    amounts = draw(st.lists(st.sampled_from(choices), min_size=count, max_size=count))
    return [{"item": draw(text_up_to(200)), "amount": draw(money_strings(amount))} for amount in amounts]


def within_limits(body):
    amounts = [Decimal(claim["amount"]) for claim in body["claims"]]
    return len(amounts) <= limits.MAX_CLAIMS and max(amounts) <= limits.MAX_AMOUNT and sum(amounts) <= limits.MAX_AMOUNT


@st.composite
def applications(draw):
    applicant = draw(
        st.sampled_from(
            [
                {"id_type": "resident_id", "id_number": resident_id("65010519000101001")},
                {"id_type": "resident_id", "id_number": resident_id("82000020260302999")},
                {"id_type": "passport", "id_number": "E" * 40},
            ]
        )
    )
    applicant.update(
        name=draw(text_up_to(100)),
        phone=draw(st.sampled_from(["13912345678", "+" + "9" * 29])),
        address=draw(text_up_to(300)),
        job=draw(text_up_to(100)),
        employed_from=limits.EARLIEST_EMPLOYMENT_DATE.isoformat(),
        employed_until=limits.LATEST_DATE.isoformat(),
    )
    received_at = draw(
        st.sampled_from(
            [
                None,
                # the earliest a receipt may be keyed in: TIAOJIE_BACKDATE_DAYS back (services.common.steps)
                (NOW - timedelta(days=DEFAULT_BACKDATE_DAYS)).astimezone(ZoneInfo("Pacific/Kiritimati")).isoformat(),
                (NOW - timedelta(days=DEFAULT_BACKDATE_DAYS)).astimezone(ZoneInfo("Etc/GMT+12")).isoformat(),
                (NOW + timedelta(seconds=limits.CLOCK_SKEW_SECONDS)).isoformat(),
            ]
        )
    )
    return {
        "center_id": draw(st.sampled_from(["huaguangjie", "zhenanjie"])),
        "channel": "walk_in",
        "source": draw(st.sampled_from(["self", "petition"])),
        "category": "wages",
        "applicant": applicant,
        "respondent": {
            "name": draw(text_up_to(200)),
            "credit_code": "91350100M000100Y43",
            "legal_representative": draw(text_up_to(100)),
        },
        "claims": draw(claims()),
        "workers_involved": draw(st.sampled_from([1, 9, 10, 1_000_000])),
        "description": draw(st.sampled_from(["", "欠薪" * 2500])),
        **({"received_at": received_at} if received_at else {}),
    }


def received_and_decided(application, accept):
    """Intake's real events for an application the boundary took, then its acceptance or rejection."""
    ids = (str(uuid.uuid4()) for _ in itertools.count())
    intake_settings = intake.IntakeSettings(zone=ZONE, new_id=lambda: next(ids))
    uow = FakeUnitOfWork(FixedClock(NOW), intake_settings, records=InMemoryIntakeRecords())
    with uow:
        case = intake.register_application(RegisterApplication(actor=None, application=application), uow)
    with uow:
        decision = DecideAcceptance(
            actor=None, case_id=case["case_id"], decision="accept" if accept else "reject", reason="超出受理范围"
        )
        intake.decide_acceptance(decision, uow)
    return case["case_id"], list(uow.events.events), application


def mediated_to_agreement(intake_events, case_id, amount):
    """Mediation's real events: the case opened from intake's acceptance, then an agreement on
    `amount`, each command through the kernel's pipeline and mediation's boundary schemas."""
    settings = mediation.Settings(tz=ZONE)
    uow = FakeUnitOfWork(FixedClock(NOW), settings, views=InMemoryReadModels())
    commands = pipeline(uow, STAFF)

    def run(handler, command_type, schema, body, **params):
        dated = schema(now=NOW, zone=ZONE)
        return json.loads(commands.run(request(body=body), handler, command_type, dated, **params).get_data())

    [accepted] = [e for e in intake_events if e.event_type == "CaseAccepted"]
    with uow:
        mediation.open_mediation(uow, accepted, 0)
    roster_entry = {
        "center_id": accepted.center_id,
        "name": "王" * 100,
        "certificate_no": "调" * 60,
        "certificate_expires": (NOW.date() + timedelta(days=limits.MAX_DAYS_AHEAD)).isoformat(),
        "full_time": True,
    }
    mediator_id = run(
        mediation.register_mediator, mediation_commands.RegisterMediator, schemas.MediatorRegistration, roster_entry
    )["mediator_id"]
    run(
        mediation.assign_mediator,
        mediation_commands.AssignMediator,
        schemas.Assignment,
        {"mediator_id": mediator_id},
        case_id=case_id,
    )
    body = {"terms": "王" * 10_000, "amount": amount, "performance_due": limits.LATEST_DATE.isoformat()}
    body["performance_due"] = (NOW.astimezone(ZONE).date() + timedelta(days=limits.MAX_DAYS_AHEAD)).isoformat()
    run(mediation.reach_agreement, mediation_commands.ReachAgreement, schemas.Agreement, body, case_id=case_id)
    run(mediation.request_review, mediation_commands.RequestReview, schemas.ReviewRequest, {}, case_id=case_id)
    return [e for e in uow.events.events if e.stream_id == f"mediation-{case_id}"]


def project(database, events):
    """Each event through the inbox and the projection's SQL, as the metrics service applies it."""
    for event in events:
        with unit_of_work(database, FixedClock(NOW)) as uow:
            if uow.inbox.claim(f"metrics.{CONSUMER}", event) is not None:
                apply_facts(uow.cursor, facts_of(event, METRICS.zone))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=applications(), accept=st.booleans(), agreed=st.sampled_from(["0.01", "999999999999.99"]))
def test_what_the_boundary_accepts_every_consumer_holds(read_model_database, body, accept, agreed):
    read_model = read_model_database
    try:
        application = ApplicationSchema(now=NOW, zone=ZONE).load(body)
    except ValidationError as refused:
        assert not within_limits(body), refused.messages
        assert set(flatten_errors(refused.messages)) <= {"claims"} | {f"claims.{i}.amount" for i in range(120)}
        return
    assert within_limits(body)
    case_id, intake_events, application = received_and_decided(application, accept)
    assert application.claimed_total <= limits.MAX_AMOUNT
    for claim in application.claims:
        assert amount_in_capitals(claim.amount)  # the documents can write every amount...
    assert amount_in_capitals(application.claimed_total)  # ...and the total

    events = list(intake_events)
    if accept:
        events += mediated_to_agreement(intake_events, case_id, agreed)
        assert amount_in_capitals(Decimal(agreed))

    link = FakeLink()
    link.follow(*events)
    # A case not accepted is referred at once; an agreement under review goes as a review request.
    sent = link.sent()
    assert len(sent) == 1, [e.event_type for e in link.kernel.events.events]

    project(read_model, events + sent)
    registry = CollectorRegistry()
    registry.register(ReadModelCollector(read_model, FixedClock(NOW), METRICS, load_centers()))
    assert generate_latest(registry)
    with read_model.transaction() as cursor:
        cursor.execute("SELECT claimed_total, agreed_amount FROM metrics_cases WHERE case_id = %s", (case_id,))
        row = cursor.fetchone()
    claimed, agreed_amount = row["claimed_total"], row["agreed_amount"]
    assert claimed == application.claimed_total
    assert agreed_amount == (Decimal(agreed) if accept else None)

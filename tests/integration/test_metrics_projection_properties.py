"""The metrics projection is order-independent: any permutation of a history, with repeats,
gives the same read model and the same /metrics as the history in order.

Runs the real projection (facts → SQL merges) against PostgreSQL, through the inbox as
the service does, and once more bypassing the inbox (the merges alone are idempotent).
`History` builds case lifecycles as the three services record them; the service test
reuses it.
"""

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from services.common.centers import load_centers
from services.common.clock import FixedClock
from services.common.envelope import Event, NewEvent
from services.common.eventstore import ANY_VERSION, PostgresEventStore
from services.common.unit_of_work import unit_of_work
from services.metrics.collector import CONSUMER, ReadModelCollector
from services.metrics.projection import facts_of
from services.metrics.readmodel import apply_facts, snapshot
from services.metrics.replay import Rebuild
from services.metrics.settings import IndicatorSettings

NOW = datetime(2031, 6, 15, 4, 0, tzinfo=UTC)  # noon in Asia/Shanghai
SETTINGS = IndicatorSettings()
PATHS = (
    "received",
    "not_accepted",
    "withdrawn_before",
    "mediating",
    "extended",
    "agreement_performed",
    "agreement_defaulted",
    "review_confirmed",
    "review_pending",
    "failed",
    "expired",
    "withdrawn_after",
    "withdrawn_in_mediation",
    "agreement_withdrawal_overruled",
    "failed_withdrawal_overruled",
)


class History:
    """Events as intake, mediation and arbitration_link record them, per stream in order."""

    def __init__(self):
        self.events = []
        self.versions = {}

    def record(self, stream_id, event_type, data, at, case_id=None, center_id=None):
        version = self.versions.get(stream_id, 0) + 1
        self.versions[stream_id] = version
        event = Event(
            str(uuid.uuid4()),
            event_type,
            1,
            stream_id,
            version,
            case_id,
            center_id,
            at,
            at,
            "test",
            None,
            {k: v for k, v in data.items() if v is not None},
        )
        self.events.append(event)
        return event

    def case(self, center, received_at, path, source="self", workers=1, amount="8000.00"):
        """One case along one of `PATHS`; returns its id."""
        case_id = str(uuid.uuid4())
        r = received_at
        deadline = r + timedelta(days=15)
        profile = {
            "category": "wages",
            "workers_involved": workers,
            "collective": workers >= 10,
            "claimed_total": "12000.00",
        }

        def intake(event_type, at, **data):
            self.record(
                f"case-{case_id}", event_type, {"case_id": case_id, "center_id": center, **data}, at, case_id, center
            )

        def mediation(event_type, at, **data):
            self.record(
                f"mediation-{case_id}",
                event_type,
                {"case_id": case_id, "center_id": center, **data},
                at,
                case_id,
                center,
            )

        def referral(kind, at, answer=None, reason=None):
            referral_id = str(uuid.uuid4())
            stream = f"referral-{referral_id}"
            base = {"referral_id": referral_id, "case_id": case_id, "center_id": center}
            self.record(
                stream,
                "ReferralOpened",
                {**base, "type": kind, "reason": reason, "opened_at": iso(at)},
                at,
                case_id,
                center,
            )
            self.record(
                stream,
                "ReferralSent",
                {
                    **base,
                    "type": kind,
                    "send_number": 1,
                    "sent_at": iso(at),
                    "next_resend_at": iso(at + timedelta(hours=1)),
                },
                at,
                case_id,
                center,
            )
            later = at + timedelta(days=2)
            if answer == "docketed":
                self.record(
                    stream,
                    "ReferralDocketed",
                    {**base, "arbitration_case_no": "A-1", "docketed_at": iso(later)},
                    later,
                    case_id,
                    center,
                )
            elif answer == "declined":
                self.record(
                    stream,
                    "ReferralDeclined",
                    {**base, "reason": "out of time", "declined_at": iso(later)},
                    later,
                    case_id,
                    center,
                )
            elif answer in ("confirmed", "refused"):
                self.record(
                    stream,
                    "ReviewDecided",
                    {**base, "decision": answer, "decided_at": iso(later)},
                    later,
                    case_id,
                    center,
                )
            return later

        intake(
            "ApplicationReceived",
            r,
            case_number="N",
            source=source,
            channel="walk_in",
            received_at=iso(r),
            mediation_deadline=iso(deadline),
            **profile,
        )
        if path == "received":
            return case_id
        if path == "not_accepted":
            intake(
                "CaseNotAccepted", r + timedelta(days=1), reason="out of scope", decided_at=iso(r + timedelta(days=1))
            )
            referral("referral", r + timedelta(days=1), reason="not_accepted")
            return case_id
        if path == "withdrawn_before":
            at = r + timedelta(days=1)
            intake("ApplicationWithdrawn", at, reason="settled", withdrawn_at=iso(at), status_before="received")
            return case_id
        accepted = r + timedelta(hours=1)
        intake(
            "CaseAccepted",
            accepted,
            accepted_at=iso(accepted),
            received_at=iso(r),
            source=source,
            mediation_deadline=iso(deadline),
            **profile,
        )
        mediation(
            "MediationOpened",
            accepted,
            received_at=iso(r),
            accepted_at=iso(accepted),
            deadline=iso(deadline),
            **profile,
        )
        mediation(
            "MediatorAssigned",
            accepted,
            mediator_id="m-1",
            mediator_name="王",
            certificate_no="C-1",
            assigned_at=iso(accepted),
        )
        mediation("SessionHeld", r + timedelta(days=1), held_at=iso(r + timedelta(days=1)), summary="heard both")
        if path in ("mediating",):
            return case_id
        if path == "extended":  # the new deadline as a bare date: it lasts to the end of that day
            mediation(
                "MediationExtended",
                r + timedelta(days=2),
                days=10,
                previous_deadline=iso(deadline),
                deadline=(deadline + timedelta(days=10)).date().isoformat(),
                extended_at=iso(r + timedelta(days=2)),
            )
            return case_id
        if path.endswith("withdrawal_overruled"):
            # issue 15 finding 4, the race: intake took a withdrawal before it heard that the
            # mediation had ended; mediation refused it and intake overruled it
            ended = r + timedelta(days=3)
            if path.startswith("agreement"):
                outcome = "agreement"
                mediation(
                    "AgreementReached",
                    ended,
                    terms="pay",
                    amount=amount,
                    performance_due="2031-12-31",
                    signed_at=iso(ended),
                    deadline=iso(deadline),
                    on_time=True,
                )
            else:
                outcome = "failed"
                mediation(
                    "MediationFailed",
                    ended,
                    reason="no agreement",
                    failed_at=iso(ended),
                    deadline=iso(deadline),
                    on_time=True,
                )
                referral("referral", ended, reason="mediation_failed")
            at = ended + timedelta(minutes=5)
            intake("ApplicationWithdrawn", at, reason="settled", withdrawn_at=iso(at), status_before="accepted")
            mediation(
                "WithdrawalRefused",
                at,
                reason="the mediation had already ended",
                ended_with=outcome,
                ended_at=iso(ended),
                status=outcome,
                withdrawn_at=iso(at),
                refused_at=iso(at),
            )
            intake(
                "WithdrawalOverruled",
                at,
                reason="the mediation had already ended",
                ended_with=outcome,
                ended_at=iso(ended),
                withdrawal_reason="settled",
                withdrawn_at=iso(at),
                status="accepted",
                overruled_at=iso(at),
            )
            return case_id
        if path.startswith(("agreement", "review")):
            signed = r + timedelta(days=3)
            mediation(
                "AgreementReached",
                signed,
                terms="pay",
                amount=amount,
                performance_due="2031-12-31",
                signed_at=iso(signed),
                deadline=iso(deadline),
                on_time=True,
            )
            if path == "agreement_performed":
                mediation("AgreementPerformed", r + timedelta(days=20), performed_at=iso(r + timedelta(days=20)))
                mediation("SurveyRecorded", r + timedelta(days=21), score=5, recorded_at=iso(r + timedelta(days=21)))
            elif path == "agreement_defaulted":
                at = r + timedelta(days=30)
                mediation("AgreementDefaulted", at, performance_due="2031-01-01", defaulted_at=iso(at), reported=True)
                referral("referral", at, answer="docketed", reason="agreement_defaulted")
            else:
                at = r + timedelta(days=4)
                mediation("ReviewRequested", at, requested_at=iso(at))
                if path == "review_confirmed":
                    decided = referral("review_request", at, answer="confirmed")
                    mediation(
                        "ReviewOutcomeRecorded",
                        decided,
                        decision="confirmed",
                        document_no="D-1",
                        decided_at=iso(decided),
                    )
                else:
                    referral("review_request", at)
            return case_id
        if path == "failed":
            at = r + timedelta(days=5)
            mediation(
                "MediationFailed", at, reason="no agreement", failed_at=iso(at), deadline=iso(deadline), on_time=True
            )
            referral("referral", at, reason="mediation_failed")
        elif path == "expired":
            mediation("MediationExpired", deadline, deadline=iso(deadline), expired_at=iso(deadline))
            referral("referral", deadline, answer="declined", reason="mediation_expired")
        elif path == "withdrawn_after":
            at = r + timedelta(days=2)
            mediation(
                "MediationWithdrawn", at, reason="settled privately", withdrawn_at=iso(at), status_before="mediating"
            )
            intake(
                "ApplicationWithdrawn", at, reason="settled privately", withdrawn_at=iso(at), status_before="accepted"
            )
        elif path == "withdrawn_in_mediation":
            # mediation's own withdrawal, which intake notes (issue 15 finding 4)
            at = r + timedelta(days=2)
            mediation(
                "MediationWithdrawn", at, reason="settled privately", withdrawn_at=iso(at), status_before="mediating"
            )
            intake("MediationOutcomeNoted", at, outcome="withdrawn", ended_at=iso(at), reason="settled privately")
        return case_id

    def center_facts(self, center, at):
        """A consultation, a complaint and a recommendation letter."""
        consultation, complaint, letter = (str(uuid.uuid4()) for _ in range(3))
        self.record(
            f"consultation-{consultation}",
            "ConsultationRecorded",
            {
                "consultation_id": consultation,
                "center_id": center,
                "channel": "phone",
                "topic": "wages",
                "recorded_at": iso(at),
            },
            at,
            None,
            center,
        )
        self.complaint(center, at, complaint_id=complaint)
        self.record(
            f"recommendation-{letter}",
            "RecommendationReceived",
            {"recommendation_id": letter, "center_id": center, "category": "wages", "issued_at": iso(at)},
            at,
            None,
            center,
        )

    def complaint(self, center, filed_at, answered_at=None, complaint_id=None):
        """A complaint filed at `filed_at` and, when `answered_at` is given, answered then."""
        complaint_id = complaint_id or str(uuid.uuid4())
        data = {"complaint_id": complaint_id, "center_id": center}
        stream_id = f"complaint-{complaint_id}"
        self.record(
            stream_id, "ComplaintFiled", {**data, "text": "slow", "filed_at": iso(filed_at)}, filed_at, None, center
        )
        if answered_at is not None:
            answer = {**data, "answer": "已答复", "answered_at": iso(answered_at)}
            self.record(stream_id, "ComplaintAnswered", answer, answered_at, None, center)
        return complaint_id


def iso(moment):
    return moment.isoformat()


def consume_all(database, events):
    """Each event in its own transaction through the inbox, as `ServiceStore.consume` does."""
    for event in events:
        with unit_of_work(database, FixedClock(NOW)) as uow:
            if uow.inbox.claim(f"metrics.{CONSUMER}", event) is not None:
                apply_facts(uow.cursor, facts_of(event, SETTINGS.zone))


def observe(database):
    """The read model's rows and the /metrics text the collector renders from them."""
    with database.transaction() as cursor:
        rows = snapshot(cursor)
        cursor.execute("SELECT event_id::text FROM inbox ORDER BY 1")
        rows["inbox"] = [r["event_id"] for r in cursor.fetchall()]
    registry = CollectorRegistry()
    registry.register(ReadModelCollector(database, FixedClock(NOW), SETTINGS, load_centers()))
    return rows, generate_latest(registry).decode()


def reset(database):
    with database.transaction() as cursor:
        cursor.execute("TRUNCATE metrics_cases, metrics_referrals, metrics_center_facts, inbox, inbox_streams, events")


@st.composite
def histories(draw):
    history = History()
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        history.case(
            center=draw(st.sampled_from(["huaguangjie", "longshengjie", "qifang"])),
            received_at=NOW
            - timedelta(
                days=draw(st.integers(min_value=0, max_value=400)), hours=draw(st.integers(min_value=0, max_value=23))
            ),
            path=draw(st.sampled_from(PATHS)),
            source=draw(st.sampled_from(["self", "court_entrusted"])),
            workers=draw(st.sampled_from([1, 12])),
        )
    if draw(st.booleans()):
        history.center_facts("qifang", NOW - timedelta(days=3))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        filed = NOW - timedelta(days=draw(st.integers(min_value=1, max_value=400)))
        answered = draw(st.sampled_from([None, filed + timedelta(hours=30)]))
        history.complaint(draw(st.sampled_from(["huaguangjie", "qifang"])), filed, answered)
    return history.events


@st.composite
def histories_and_deliveries(draw):
    """A history, and its delivery: a permutation with some events delivered again."""
    events = draw(histories())
    repeats = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    delivered = draw(st.permutations(events + repeats))
    return events, delivered


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(histories_and_deliveries())
def test_any_delivery_order_with_repeats_gives_the_read_model_and_metrics_of_the_ordered_history(
    read_model_database, history_and_delivery
):
    events, delivered = history_and_delivery
    reset(read_model_database)
    consume_all(read_model_database, events)
    expected = observe(read_model_database)

    reset(read_model_database)
    consume_all(read_model_database, delivered)
    assert observe(read_model_database) == expected

    reset(read_model_database)
    with read_model_database.transaction() as cursor:  # no inbox: the merges alone absorb repeats
        apply_facts(cursor, [fact for event in delivered for fact in facts_of(event, SETTINGS.zone)])
    rows, metrics = observe(read_model_database)
    assert {k: v for k, v in rows.items() if k != "inbox"} == {k: v for k, v in expected[0].items() if k != "inbox"}
    assert metrics == expected[1]


def test_a_withdrawal_overruled_by_the_agreement_counts_once_as_an_agreement(read_model_database):
    # issue 15 finding 4: intake withdrew an accepted case whose agreement it had not heard of
    history = History()
    history.case("huaguangjie", NOW - timedelta(days=10), "agreement_withdrawal_overruled")
    history.case("huaguangjie", NOW - timedelta(days=10), "withdrawn_in_mediation")
    reset(read_model_database)
    consume_all(read_model_database, history.events[::-1])
    rows, metrics = observe(read_model_database)
    assert sorted(c["outcome"] for c in rows["metrics_cases"]) == ["agreement", "withdrawn"]
    assert 'tiaojie_cases_closed_total{center="huaguangjie",outcome="agreement"} 1.0' in metrics
    assert 'tiaojie_cases_closed_total{center="huaguangjie",outcome="withdrawn"} 1.0' in metrics


def test_a_closed_case_counts_once_however_often_its_closure_arrives(read_model_database):
    history = History()
    history.case("huaguangjie", NOW - timedelta(days=10), "failed")
    reset(read_model_database)
    consume_all(read_model_database, history.events + history.events[::-1])
    rows, metrics = observe(read_model_database)
    assert [c["outcome"] for c in rows["metrics_cases"]] == ["failed"]
    assert 'tiaojie_cases_closed_total{center="huaguangjie",outcome="failed"} 1.0' in metrics
    assert 'tiaojie_success_rate{center="huaguangjie",period="year"} 0.0' in metrics
    assert 'tiaojie_referrals_pending{kind="referral"} 1.0' in metrics


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(histories())
def test_the_replay_computes_in_sql_exactly_what_the_live_consumer_applies(read_model_database, events):
    reset(read_model_database)
    with read_model_database.transaction() as cursor:  # one database is both the store and the read model here
        store = PostgresEventStore(cursor, FixedClock(NOW))
        for e in events:
            store.append(
                e.stream_id,
                ANY_VERSION,
                [NewEvent(e.event_type, e.data, e.case_id, e.center_id, e.occurred_at, e.event_id)],
            )
    consume_all(read_model_database, events)
    live = observe(read_model_database)

    Rebuild(read_model_database.url, {"store": read_model_database.url}, SETTINGS.zone, batch_size=7).run()
    assert observe(read_model_database) == live


def test_the_replay_reads_events_that_need_an_upcaster_as_the_live_consumer_sees_them(read_model_database):
    from services.common import envelope

    history = History()
    history.case("qifang", NOW - timedelta(days=3), "failed")
    old_shape = History()  # an older ComplaintFiled that named its time `filed_on`
    complaint = old_shape.record(
        "complaint-k1",
        "ComplaintFiled",
        {"complaint_id": "k1", "center_id": "qifang", "text": "slow", "filed_on": iso(NOW)},
        NOW - timedelta(days=1),
        None,
        "qifang",
    )

    def upcast_filed_on(data):
        data["filed_at"] = data.pop("filed_on")
        return data

    reset(read_model_database)
    with read_model_database.transaction() as cursor:
        store = PostgresEventStore(cursor, FixedClock(NOW))
        for e in history.events + [complaint]:
            store.append(
                e.stream_id,
                ANY_VERSION,
                [NewEvent(e.event_type, e.data, e.case_id, e.center_id, e.occurred_at, e.event_id, schema_version=1)],
            )
    envelope.register_upcaster("ComplaintFiled", 1)(upcast_filed_on)
    try:
        consume_all(read_model_database, history.events + [envelope.upcast(complaint)])
        live = observe(read_model_database)
        Rebuild(read_model_database.url, {"store": read_model_database.url}, SETTINGS.zone).run()
        assert observe(read_model_database) == live
    finally:
        del envelope._upcasters[("ComplaintFiled", 1)]
        del envelope._current_versions["ComplaintFiled"]
    [fact] = [r for r in live[0]["metrics_center_facts"] if r["kind"] == "complaint"]
    assert fact["at"] == NOW

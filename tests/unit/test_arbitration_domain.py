"""arbitration_link's domain: case files folded out of order, referral messages, resends, answers.

`CaseStory` (the events intake and mediation publish about one case) is also used by the
service-layer and integration tests of the link.
"""

import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.arbitration_link import contract
from services.arbitration_link.domain import (
    INCOMPLETE_MEDIATION,
    CaseFile,
    Recommendation,
    Referral,
    ReplyRefused,
    ResendSchedule,
    referral_id_for,
    referral_message,
)
from services.arbitration_link.outbound import outbound_route
from services.common.envelope import Event
from services.simulate import identities

CST = timezone(timedelta(hours=8))


class CaseStory:
    """The events intake and mediation publish about one case, numbered in their streams."""

    def __init__(self, center_id="huaguangjie", seed=None, at=None):
        rng = random.Random(seed)
        self.case_id = str(uuid.uuid4())
        self.center_id = center_id
        self.case_number = f"HGJ-2026-{rng.randrange(10**5):05d}"
        self.applicant = identities.worker(rng, date(2026, 3, 2))
        self.respondent = identities.employer(rng)
        self.at = at or datetime(2026, 3, 2, 9, 0, tzinfo=CST)
        self.versions = {}

    def event(self, event_type, data):
        source = (
            "case"
            if event_type in ("ApplicationReceived", "CaseAccepted", "CaseNotAccepted", "ApplicationWithdrawn")
            else "mediation"
        )
        stream_id = f"{source}-{self.case_id}"
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        self.at += timedelta(hours=1)
        event_id = str(uuid.uuid4())
        return Event(
            event_id=event_id,
            event_type=event_type,
            schema_version=1,
            stream_id=stream_id,
            stream_version=self.versions[stream_id],
            case_id=self.case_id,
            center_id=self.center_id,
            occurred_at=self.at,
            recorded_at=self.at,
            correlation_id=event_id,
            causation_id=None,
            data={"case_id": self.case_id, "center_id": self.center_id, **data},
        )

    def stamp(self):
        return (self.at + timedelta(hours=1)).isoformat()

    def application(self):
        return self.event(
            "ApplicationReceived",
            {
                "case_number": self.case_number,
                "channel": "walk_in",
                "source": "self",
                "category": "wages",
                "applicant": self.applicant,
                "respondent": self.respondent,
                "claims": [{"item": "拖欠工资", "amount": "12000.00"}, {"item": "经济补偿金", "amount": "3000.50"}],
                "claimed_total": "15000.50",
                "workers_involved": 1,
                "collective": False,
                "description": "three months of wages unpaid",
                "received_at": self.stamp(),
                "mediation_deadline": "2026-03-17",
            },
        )

    def accepted(self):
        return self.event("CaseAccepted", {"case_number": self.case_number, "accepted_at": self.stamp()})

    def not_accepted(self, reason="the respondent refuses mediation"):
        return self.event(
            "CaseNotAccepted", {"case_number": self.case_number, "reason": reason, "decided_at": self.stamp()}
        )

    def opened(self):
        return self.event("MediationOpened", {"case_number": self.case_number, "deadline": "2026-03-17"})

    def assigned(self, mediator_id=None):
        return self.event(
            "MediatorAssigned",
            {
                "mediator_id": mediator_id or str(uuid.uuid4()),
                "mediator_name": "调解员甲",
                "certificate_no": "XJTJ2026HGJ0001",
                "assigned_at": self.stamp(),
            },
        )

    def session(self, summary):
        return self.event("SessionHeld", {"held_at": self.stamp(), "summary": summary})

    def failed(self, reason="the respondent denies the wage debt"):
        return self.event(
            "MediationFailed", {"reason": reason, "failed_at": self.stamp(), "deadline": "2026-03-17", "on_time": True}
        )

    def expired(self):
        return self.event("MediationExpired", {"deadline": "2026-03-17", "expired_at": self.stamp()})

    def agreement(self):
        self.terms = {
            "terms": "pay 10000.00 by 2026-04-01",
            "amount": "10000.00",
            "performance_due": "2026-04-01",
            "signed_at": self.stamp(),
        }
        return self.event(
            "AgreementReached",
            {
                **self.terms,
                "deadline": "2026-03-17",
                "on_time": True,
                "mediator_id": str(uuid.uuid4()),
                "certificate_no": "X",
            },
        )

    def review_requested(self):
        return self.event("ReviewRequested", {"requested_at": self.stamp(), "agreement": self.terms})

    def defaulted(self, **guidance):
        """The default; `guidance` as mediation records it (e.g. `confirmed=True` for a 调解书)."""
        return self.event(
            "AgreementDefaulted",
            {"performance_due": "2026-04-01", "defaulted_at": self.stamp(), "reported": True, **guidance},
        )

    def review_outcome(self, decision="confirmed", document_no="WLZ-2026-7"):
        return self.event(
            "ReviewOutcomeRecorded",
            {"decision": decision, "document_no": document_no, "decided_at": self.stamp(), "recorded_at": self.stamp()},
        )

    def confirmed_and_defaulted(self):
        """An agreement the institute confirmed (调解书), then not performed, in publishing order."""
        return [
            *self.review(),
            self.review_outcome(),
            self.defaulted(confirmed=True, guidance="court_enforcement", document_no="WLZ-2026-7"),
        ]

    def failed_mediation(self, sessions=2):
        """A whole failed mediation, in publishing order."""
        return [
            self.application(),
            self.accepted(),
            self.opened(),
            self.assigned(),
            *(self.session(f"session {n}") for n in range(1, sessions + 1)),
            self.failed(),
        ]

    def review(self):
        return [
            self.application(),
            self.accepted(),
            self.opened(),
            self.assigned(),
            self.session("session 1"),
            self.agreement(),
            self.review_requested(),
        ]


NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SCHEDULE = ResendSchedule(initial_seconds=3600, max_seconds=4 * 3600)


def trigger_of(event):
    return {
        "event_type": event.event_type,
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
    }


def file_of(events):
    case_file = CaseFile(events[0].case_id)
    for event in events:
        case_file.apply(event)
    return case_file


def opened_referral(story, trigger, referral_type="referral", reason="mediation_failed"):
    referral = Referral(Referral.stream_for(referral_id_for(story.case_id, referral_type, reason)))
    referral.open(story.case_id, story.center_id, referral_type, reason, trigger_of(trigger), NOW)
    return referral


# --- case files -----------------------------------------------------------------------


def test_case_file_in_any_order_gives_the_same_mediation_record():
    story = CaseStory(seed=1)
    events = story.failed_mediation(sessions=3)
    in_order, shuffled = file_of(events), file_of(list(reversed(events)))
    assert in_order.mediation_record("MediationFailed") == shuffled.mediation_record("MediationFailed")
    record = in_order.mediation_record("MediationFailed")
    assert [s["summary"] for s in record["sessions"]] == ["session 1", "session 2", "session 3"]
    assert record["mediator"]["name"] == "调解员甲"
    assert record["summary"] == "the respondent denies the wage debt"


def test_a_redelivered_event_is_folded_once():
    story = CaseStory()
    session = story.session("only once")
    case_file = file_of([session, session])
    assert len(case_file.document["sessions"]) == 1


def test_a_referral_waits_for_the_mediation_events_before_its_trigger():
    story = CaseStory()
    application, accepted, opened, assigned, session, failed = story.failed_mediation(sessions=1)
    case_file = file_of([application, opened, assigned, failed])
    assert case_file.missing_for(trigger_of(failed)) == [INCOMPLETE_MEDIATION]
    assert not case_file.can_carry(trigger_of(failed), grace_over=False)
    assert case_file.can_carry(trigger_of(failed), grace_over=True)
    case_file.apply(session)
    assert case_file.can_carry(trigger_of(failed), grace_over=False)


def test_a_referral_never_goes_without_the_parties():
    story = CaseStory()
    events = story.failed_mediation()
    case_file = file_of(events[1:])
    assert "application" in case_file.missing_for(trigger_of(events[-1]))
    assert not case_file.can_carry(trigger_of(events[-1]), grace_over=True)


# --- messages -------------------------------------------------------------------------


def test_failed_mediation_message_matches_the_referral_schema_and_carries_the_case():
    story = CaseStory(seed=2)
    events = story.failed_mediation()
    referral = opened_referral(story, events[-1])
    body = referral_message(referral, file_of(events), NOW)
    contract.validate("referral", body)
    assert body["reason"] == "mediation_failed"
    assert body["applicant"] == story.applicant and body["respondent"] == story.respondent
    assert body["case_number"] == story.case_number
    assert len(body["mediation"]["sessions"]) == 2
    assert body["mediation"]["closed_at"] == events[-1].data["failed_at"]


def test_not_accepted_message_has_no_mediation_record():
    story = CaseStory()
    events = [story.application(), story.not_accepted()]
    referral = opened_referral(story, events[-1], reason="not_accepted")
    body = referral_message(referral, file_of(events), NOW)
    contract.validate("referral", body)
    assert body["mediation"] is None and body["reason"] == "not_accepted"


def test_review_request_message_carries_the_agreement_instead_of_a_reason():
    story = CaseStory()
    events = story.review()
    referral = opened_referral(story, events[-1], referral_type="review_request", reason=None)
    body = referral_message(referral, file_of(events), NOW)
    contract.validate("review_request", body)
    assert "reason" not in body and body["agreement"] == story.terms


def test_expired_and_defaulted_messages_match_the_schema():
    story = CaseStory()
    expired = [story.application(), story.accepted(), story.opened(), story.expired()]
    body = referral_message(opened_referral(story, expired[-1], reason="mediation_expired"), file_of(expired), NOW)
    contract.validate("referral", body)
    assert body["mediation"]["mediator"] is None

    story = CaseStory()
    defaulted = [
        story.application(),
        story.accepted(),
        story.opened(),
        story.assigned(),
        story.agreement(),
        story.defaulted(),
    ]
    body = referral_message(
        opened_referral(story, defaulted[-1], reason="agreement_defaulted"), file_of(defaulted), NOW
    )
    contract.validate("referral", body)
    assert story.terms["terms"] in body["mediation"]["summary"]


# --- referrals: sends and resends -----------------------------------------------------


def sent_referral():
    story = CaseStory()
    events = story.failed_mediation()
    referral = opened_referral(story, events[-1])
    referral.send(referral_message(referral, file_of(events), NOW), NOW, SCHEDULE)
    return referral


def test_resends_back_off_exponentially_up_to_the_maximum():
    referral = sent_referral()
    waits = []
    for _ in range(4):
        waits.append(referral.next_resend_at - referral.last_sent_at)
        assert not referral.resend_if_due(referral.next_resend_at - timedelta(seconds=1), SCHEDULE)
        assert referral.resend_if_due(referral.next_resend_at, SCHEDULE)
    assert [w.total_seconds() / 3600 for w in waits] == [1, 2, 4, 4]
    assert referral.sends == 5


def test_a_resend_repeats_the_same_message():
    referral = sent_referral()
    first = referral.pending[-1]
    referral.resend_if_due(NOW + timedelta(hours=1), SCHEDULE)
    second = referral.pending[-1]
    assert second.data["message"] == first.data["message"]
    assert (first.data["send_number"], second.data["send_number"]) == (1, 2)


def test_an_answered_referral_is_not_resent():
    referral = sent_referral()
    assert referral.docket("ARB-2026-00001", "2026-03-10T10:00:00+08:00")
    assert referral.status == "docketed"
    assert not referral.resend_if_due(NOW + timedelta(days=30), SCHEDULE)


def test_a_repeated_answer_has_no_second_effect_and_a_contradiction_is_refused():
    referral = sent_referral()
    assert referral.docket("ARB-2026-00001", "2026-03-10T10:00:00+08:00")
    events = len(referral.pending)
    assert not referral.docket("ARB-2026-00001", "2026-03-10T10:00:00+08:00")
    assert len(referral.pending) == events
    with pytest.raises(ReplyRefused):
        referral.decline("changed our mind", "2026-03-10T11:00:00+08:00")


def test_a_review_decision_does_not_answer_a_referral():
    with pytest.raises(ReplyRefused):
        sent_referral().decide("confirmed", "2026-03-10T10:00:00+08:00", document_no="D-1")


def test_an_unknown_referral_cannot_be_answered():
    with pytest.raises(ReplyRefused):
        Referral(Referral.stream_for(str(uuid.uuid4()))).docket("ARB-1", "2026-03-10T10:00:00+08:00")


def test_the_same_case_and_reason_is_always_the_same_referral():
    case_id = str(uuid.uuid4())
    assert referral_id_for(case_id, "referral", "mediation_failed") == referral_id_for(
        case_id, "referral", "mediation_failed"
    )
    assert referral_id_for(case_id, "referral", "mediation_failed") != referral_id_for(
        case_id, "referral", "agreement_defaulted"
    )


def test_a_recommendation_letter_is_received_once():
    letter = {
        "recommendation_id": "R-1",
        "center_id": "qifang",
        "applicant": {},
        "respondent": {},
        "category": "wages",
        "claims": [],
        "issued_at": "2026-03-10T10:00:00+08:00",
    }
    recommendation = Recommendation(Recommendation.stream_for("R-1"))
    assert recommendation.receive(letter)
    assert not recommendation.receive(letter)
    assert [e.event_type for e in recommendation.pending] == ["RecommendationReceived"]


# --- the outbound relay's route -------------------------------------------------------


def stored(new_event, stream_version=2):
    return Event(
        event_id=new_event.event_id,
        event_type=new_event.event_type,
        schema_version=1,
        stream_id="referral-x",
        stream_version=stream_version,
        case_id=new_event.case_id,
        center_id=new_event.center_id,
        occurred_at=NOW,
        recorded_at=NOW,
        correlation_id="c",
        causation_id=None,
        data=new_event.data,
    )


def test_referral_sent_becomes_the_contract_message():
    referral = sent_referral()
    [publication] = outbound_route(stored(referral.pending[-1]))
    assert publication.exchange == "arbitration.outbound"
    assert publication.routing_key == publication.type == "referral"
    assert publication.message_id == referral.referral_id
    assert publication.headers == {"schema_version": 1}
    assert publication.mandatory is True
    assert publication.body == referral.message
    contract.validate("referral", publication.body)


def test_other_events_are_not_sent_to_the_institute():
    referral = sent_referral()
    assert outbound_route(stored(referral.pending[0], stream_version=1)) == []

"""arbitration_link's service layer on fakes: following cases, the sweep, replies."""

import dataclasses
import uuid
from datetime import timedelta

import pytest

from services.arbitration_link import contract, handlers
from services.arbitration_link.domain import CaseFile, Referral, ReplyRefused, ResendSchedule, referral_id_for
from services.arbitration_link.repository import history_entry, referral_view, row_of
from services.arbitration_link.settings import LinkSettings
from services.common import privacy
from services.common.auth import Principal
from services.common.clock import FixedClock
from services.common.keystore import memory_vault
from services.common.unit_of_work import FakeUnitOfWork
from tests.unit.test_arbitration_domain import CaseStory

SETTINGS = LinkSettings(schedule=ResendSchedule(3600, 86400), assembly_grace=timedelta(seconds=60))
CENTERS = {"huaguangjie", "longshengjie"}


class FakeCaseFiles:
    def __init__(self):
        self.documents = {}

    def lock(self, case_id, center_id):
        document = self.documents.setdefault(case_id, CaseFile(case_id).document)
        return CaseFile(case_id, document)

    def save(self, case_file):
        self.documents[case_file.case_id] = case_file.document

    def center_of(self, case_id):
        return self.documents.get(case_id, {}).get("center_id")


class FakeReferralTable:
    def __init__(self):
        self.rows = {}

    def save(self, referral):
        self.rows[referral.referral_id] = row_of(referral)

    def _waiting(self):
        return [r for r in self.rows.values() if r["status"] == "pending" and r["sends"] == 0]

    def waiting_for_case(self, case_id):
        return [r["referral_id"] for r in self._waiting() if r["case_id"] == case_id]

    def waiting_since(self, opened_before):
        return [
            (r["referral_id"], r["case_id"], r["center_id"]) for r in self._waiting() if r["opened_at"] <= opened_before
        ]

    def due(self, now):
        return [
            r["referral_id"]
            for r in self.rows.values()
            if r["status"] == "pending" and r["sends"] > 0 and r["next_resend_at"] <= now
        ]

    def find(self, events, referral_id=None, case_id=None, center_id=None):
        return [
            referral_view(row, [history_entry(e) for e in events.load(Referral.stream_for(row["referral_id"]))])
            for row in self.rows.values()
            if referral_id in (None, row["referral_id"]) and case_id in (None, row["case_id"])
        ]


class FakeLink:
    """A unit-of-work factory over in-memory stores, like the service's (with a vault: the
    link's units of work seal what they append and hand out what they load as stored)."""

    def __init__(self, vault=None):
        self.clock = FixedClock()
        self.case_files = FakeCaseFiles()
        self.referral_table = FakeReferralTable()
        self.kernel = FakeUnitOfWork(
            self.clock, SETTINGS, vault=vault, case_files=self.case_files, referral_table=self.referral_table
        )
        if vault is not None:
            self.kernel.events.open_loaded = False

    def __call__(self):
        return self.kernel

    def follow(self, *events):
        for event in events:
            with self() as uow:
                handlers.follow_case(uow, event)

    def sent(self):
        return [e for e in self.kernel.events.events if e.event_type == "ReferralSent"]

    def referral(self, referral_id):
        with self() as uow:
            return uow.load(Referral, Referral.stream_for(referral_id))


@pytest.fixture
def link():
    return FakeLink()


def test_a_failed_mediation_opens_and_sends_one_referral(link):
    story = CaseStory()
    link.follow(*story.failed_mediation())
    [sent] = link.sent()
    assert sent.data["referral_id"] == referral_id_for(story.case_id, "referral", "mediation_failed")
    assert sent.data["send_number"] == 1
    contract.validate("referral", sent.data["message"])
    assert [e.event_type for e in link.kernel.events.events] == ["ReferralOpened", "ReferralSent"]


def test_finding3_default_of_confirmed_agreement_is_never_referred(link):
    story = CaseStory()
    link.follow(*story.confirmed_and_defaulted())
    referrals = [e.data for e in link.kernel.events.events if e.event_type == "ReferralOpened"]
    assert [r["type"] for r in referrals] == ["review_request"]  # and no referral of the default
    assert [e.data["message"]["referral_id"] for e in link.sent()] == [
        referral_id_for(story.case_id, "review_request", None)
    ]
    assert link.referral_table.waiting_for_case(story.case_id) == []


def test_finding3_an_unconfirmed_default_is_still_referred(link):
    story = CaseStory()
    events = [*story.review(), story.review_outcome("refused", None), story.defaulted(confirmed=False)]
    link.follow(*events)
    reasons = [e.data.get("reason") for e in link.kernel.events.events if e.event_type == "ReferralOpened"]
    assert reasons == [None, "agreement_defaulted"]


def test_a_trigger_delivered_again_opens_nothing_more(link):
    story = CaseStory()
    events = story.failed_mediation()
    link.follow(*events, events[-1])
    assert len(link.kernel.events.events) == 2


def test_a_referral_overtaking_its_sessions_is_sent_when_they_arrive(link):
    story = CaseStory()
    application, accepted, opened, assigned, first, second, failed = story.failed_mediation()
    link.follow(application, accepted, opened, failed, assigned, first)
    assert link.sent() == []
    link.follow(second)
    [sent] = link.sent()
    assert [s["summary"] for s in sent.data["message"]["mediation"]["sessions"]] == ["session 1", "session 2"]


def test_the_sweep_sends_a_referral_still_incomplete_after_the_grace_period(link):
    story = CaseStory()
    application, accepted, opened, assigned, first, failed = story.failed_mediation(sessions=1)
    link.follow(application, accepted, opened, assigned, failed)
    handlers.sweep(link)
    assert link.sent() == []
    link.clock.advance(seconds=61)
    handlers.sweep(link)
    assert len(link.sent()) == 1


def test_the_sweep_resends_unanswered_referrals_once_due(link):
    story = CaseStory()
    link.follow(*story.failed_mediation())
    link.clock.advance(minutes=59)
    assert handlers.sweep(link) == 0
    link.clock.advance(minutes=1)
    assert handlers.sweep(link) == 1
    assert handlers.sweep(link) == 0
    assert [e.data["send_number"] for e in link.sent()] == [1, 2]
    assert link.sent()[0].data["message"] == link.sent()[1].data["message"]


def docketed(referral_id):
    return {
        "referral_id": referral_id,
        "arbitration_case_no": "ARB-2026-00007",
        "docketed_at": "2026-03-10T10:00:00+08:00",
    }


def test_a_docketed_reply_is_recorded_once_and_stops_the_resends(link):
    story = CaseStory()
    link.follow(*story.failed_mediation())
    referral_id = link.sent()[0].data["referral_id"]
    assert handlers.receive_reply(link, "referral.docketed", docketed(referral_id), CENTERS) is True
    assert handlers.receive_reply(link, "referral.docketed", docketed(referral_id), CENTERS) is False
    assert link.referral(referral_id).status == "docketed"
    link.clock.advance(days=3)
    assert handlers.sweep(link) == 0
    assert link.referral_table.rows[referral_id]["arbitration_case_no"] == "ARB-2026-00007"


def test_a_reply_breaking_the_schema_is_refused_before_anything_is_stored(link):
    with pytest.raises(contract.ContractViolation) as refused:
        handlers.receive_reply(link, "referral.docketed", {"referral_id": "not-a-uuid"}, CENTERS)
    assert "docketed_at" in str(refused.value)
    assert link.kernel.events.events == []


def test_a_reply_for_an_unknown_referral_is_refused(link):
    with pytest.raises(ReplyRefused):
        handlers.receive_reply(link, "referral.docketed", docketed(str(uuid.uuid4())), CENTERS)


def test_a_review_decision_is_recorded(link):
    story = CaseStory()
    link.follow(*story.review())
    referral_id = link.sent()[0].data["referral_id"]
    decision = {
        "referral_id": referral_id,
        "decision": "confirmed",
        "document_no": "ARB-MED-1",
        "decided_at": "2026-03-12T10:00:00+08:00",
    }
    handlers.receive_reply(link, "review.decided", decision, CENTERS)
    assert link.referral(referral_id).status == "confirmed"
    assert link.kernel.events.events[-1].event_type == "ReviewDecided"


def letter(center_id="huaguangjie"):
    story = CaseStory()
    return {
        "recommendation_id": str(uuid.uuid4()),
        "center_id": center_id,
        "applicant": story.applicant,
        "respondent": story.respondent,
        "category": "wages",
        "claims": [{"item": "拖欠工资", "amount": "5000.00"}],
        "issued_at": "2026-03-10T10:00:00+08:00",
    }


def test_a_recommendation_letter_becomes_one_event(link):
    body = letter()
    assert handlers.receive_reply(link, "recommendation.issued", body, CENTERS)
    assert not handlers.receive_reply(link, "recommendation.issued", body, CENTERS)
    [event] = link.kernel.events.events
    assert event.event_type == "RecommendationReceived" and event.center_id == "huaguangjie"
    assert event.data["applicant"] == body["applicant"]


def test_a_recommendation_for_an_unknown_center_is_refused(link):
    with pytest.raises(ReplyRefused):
        handlers.receive_reply(link, "recommendation.issued", letter("atlantis"), CENTERS)


@pytest.mark.parametrize(
    "claims",
    [
        [{"item": "拖欠工资", "amount": "999999999999.99"}] * 2,  # each within the limit, their sum not
        [{"item": "拖欠工资", "amount": "1.00"}] * 51,
        [{"item": "拖欠工资", "amount": "1234567890123.00"}],
        [{"item": "拖欠工资", "amount": "1٢٣.٠٠"}],
    ],
)
def test_a_recommendation_beyond_the_limits_intake_holds_is_refused_here(link, claims):
    # Refused (dead-lettered at once) by the link, rather than accepted and then failing in
    # intake's consumer until intake dead-letters it.
    with pytest.raises(handlers.REFUSED_REPLIES):
        handlers.receive_reply(link, "recommendation.issued", {**letter(), "claims": claims}, CENTERS)
    assert link.kernel.events.events == []


def test_a_message_that_would_break_the_schema_is_never_sent(link):
    story = CaseStory()
    application, *rest = story.failed_mediation()
    broken = dataclasses.replace(application, data={**application.data, "category": "gossip"})
    link.follow(broken, *rest)
    assert link.sent() == []
    assert link.referral_table.rows  # opened, and still waiting to be sent


def test_a_reply_that_loses_every_race_is_decided_again_then_handed_back_to_the_broker(link, monkeypatch):
    from services.common.commands import ATTEMPTS
    from services.common.errors import ConcurrencyError

    story = CaseStory()
    link.follow(*story.failed_mediation())
    [sent] = link.sent()
    referral_id = sent.data["referral_id"]
    attempts = []

    def rival_first(aggregate):
        attempts.append(1)
        raise ConcurrencyError(aggregate.stream_id, aggregate.loaded_version, aggregate.loaded_version + 1)

    monkeypatch.setattr(link.kernel, "save", rival_first)
    body = {"referral_id": referral_id, "arbitration_case_no": "ARB-2026-00009", "docketed_at": sent.data["sent_at"]}
    with pytest.raises(ConcurrencyError):  # not a refusal: the broker delivers it again
        handlers.receive_reply(link, "referral.docketed", body, CENTERS)

    assert len(attempts) == ATTEMPTS
    assert link.referral(referral_id).status == "pending"


def test_the_link_follows_every_event_of_a_mediations_stream():
    # A referral waits until its case file has seen every earlier version of the stream
    # that decided it, so an event of the stream the link does not follow (mediation's
    # WithdrawalRefused, issue 15 finding 4) would hold a later default's referral for ever.
    from services.arbitration_link.service import ArbitrationLinkService
    from services.common.messaging import inbox_handlers
    from services.events import REGISTRY

    followed = {t for source, t, _ in inbox_handlers(ArbitrationLinkService) if source == "mediation"}
    assert followed == {name for name, t in REGISTRY.items() if t.service == "mediation" and t.about_a_case}


def test_the_institutes_reason_is_sealed_with_the_cases_key_and_shown_opened_as_a_look(monkeypatch):
    """Free text of the institute's about a case: sealed with a key derived from the case's
    stored key (found in the parties the referral copies sealed), so erasing the case erases it;
    the status API shows it opened and records the read as a look at the case."""
    vault = memory_vault()
    monkeypatch.setattr(handlers, "opened", vault.open)  # the process's vault, opening what is sent
    link = FakeLink(vault)
    story, bound = CaseStory(), {}
    sealed = [
        dataclasses.replace(e, data=vault.seal(e.data, bound, {}, event_type=e.event_type)) for e in story.review()
    ]  # the case's events as intake and mediation publish them
    link.follow(*sealed)
    [sent] = link.sent()
    root = privacy.root_key_id(bound["applicant"])
    assert privacy.case_root_in(sent.data["message"]) == root
    decision = {
        "referral_id": sent.data["referral_id"],
        "decision": "refused",
        "decided_at": "2026-03-12T10:00:00+08:00",
    }
    handlers.receive_reply(link, "review.decided", {**decision, "reason": "标记：协议与陈述不符"}, CENTERS)

    [decided] = [e for e in link.kernel.events.events if e.event_type == "ReviewDecided"]
    assert privacy.key_id_of(decided.data["reason"]) == f"{root}.t"  # the case's text key
    district = Principal("district", None, "d1")
    with link() as uow:
        shown = handlers.referral(uow, district, sent.data["referral_id"])
    assert shown["history"][-1]["reason"] == "标记：协议与陈述不符"
    [look] = [e for e in link.kernel.events.events if e.event_type == "ReferralViewed"]
    assert (look.case_id, look.data["route"]) == (story.case_id, handlers.REFERRAL_ROUTE)

    vault.erase([root], "当事人要求删除")
    with link() as uow:
        [listed] = handlers.referrals(uow, district, story.case_id)
    assert listed["history"][-1]["reason"] == privacy.ERASED

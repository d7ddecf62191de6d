"""Mediation's personal data sealed (docs/PRIVACY.md): free text with the case's `text` key, a
mediator's name with the mediator's own key; the views opened; a case's erasure by another
process reaches what mediation shows at once, and leaves the mediator's name alone."""

import itertools
import json
import uuid
from datetime import timedelta

import pytest

from services.common import privacy
from services.common.clock import FixedClock
from services.common.keystore import Vault, memory_vault
from services.common.unit_of_work import FakeUnitOfWork
from services.mediation import handlers
from services.mediation.readmodels import InMemoryReadModels
from tests.unit.test_mediation_complaints import HEAD_HERE, call, file
from tests.unit.test_mediation_service_layer import DISTRICT, START, TZ, accepted, command, consume, register

MARKS = {
    "name": "标记调解员甲",
    "summary": "标记的调解笔录：张三说",
    "terms": "标记的协议条款：付张三",
    "reason": "标记的失败原因",
    "comment": "标记的评价",
    "text": "标记的投诉",
    "answer": "标记的答复",
}
CASE = str(uuid.UUID(int=901))
OTHER = str(uuid.UUID(int=902))


@pytest.fixture
def vault():
    return memory_vault()


@pytest.fixture
def settings():
    ids = itertools.count(1)
    return handlers.Settings(tz=TZ, performance_grace_days=3, new_id=lambda: str(uuid.UUID(int=next(ids))))


@pytest.fixture
def uow(settings, vault):
    return FakeUnitOfWork(FixedClock(START), settings, vault=vault, views=InMemoryReadModels())


def sealed_acceptance(vault, case_id):
    """intake's CaseAccepted as it arrives: the description sealed with the case's `text` key."""
    event = accepted(case_id)
    key_id, key = vault.new_key()
    data = {**event.data, "description": privacy.seal_value(key_id, key, "欠薪")}
    return event.__class__(**{**vars(event), "data": data}), key_id


def stored(uow):
    return {e.event_type: e.data for e in uow.stored.events}


def test_free_text_and_names_are_sealed_with_the_cases_and_the_mediators_keys(uow, settings, vault):
    acceptance, text_key = sealed_acceptance(vault, CASE)
    consume(uow, settings, acceptance, handlers.open_mediation)
    mediator_id = register(uow, settings, name=MARKS["name"])
    command(uow, settings, handlers.assign_mediator, CASE, {"mediator_id": mediator_id})
    command(uow, settings, handlers.hold_session, CASE, {"held_at": START.isoformat(), "summary": MARKS["summary"]})
    due = (START + timedelta(days=20)).date().isoformat()
    body = {"terms": MARKS["terms"], "amount": "5000.00", "performance_due": due}
    command(uow, settings, handlers.reach_agreement, CASE, body)
    command(uow, settings, handlers.request_review, CASE, {})
    consume(uow, settings, sealed_acceptance(vault, OTHER)[0], handlers.open_mediation)
    command(uow, settings, handlers.assign_mediator, OTHER, {"mediator_id": mediator_id})
    command(uow, settings, handlers.fail, OTHER, {"reason": MARKS["reason"]})
    command(uow, settings, handlers.record_survey, OTHER, {"score": 4, "comment": MARKS["comment"]})
    complaint_id = file(uow, text=MARKS["text"], case_id=CASE)
    assert (
        call(uow, handlers.answer_complaint, {"answer": MARKS["answer"]}, HEAD_HERE, complaint_id=complaint_id)[0]
        == 200
    )

    text = json.dumps([e.data for e in uow.stored.events], ensure_ascii=False)
    text += json.dumps(uow.views.mediators, ensure_ascii=False, default=str)
    assert [mark for mark in MARKS.values() if mark in text] == []
    events = stored(uow)
    assert events["ReviewRequested"]["agreement"]["amount"] == "5000.00"  # what the figures use stays clear
    for event_type in ("SessionHeld", "AgreementReached", "ReviewRequested"):
        assert privacy.bindings(events[event_type], event_type)["text"] == text_key  # the case's own key
    mediator = f"mediator:{mediator_id}"
    mediator_keys = {privacy.bindings(events[t], t)[mediator] for t in ("MediatorRegistered", "MediatorAssigned")}
    mediator_keys.add(privacy.bindings(events["AgreementReached"], "AgreementReached")[mediator])
    assert len(mediator_keys) == 1 and text_key not in mediator_keys  # one key per mediator, everywhere

    with uow:
        view = handlers.get_mediation(uow, DISTRICT, CASE)
        history = handlers.mediation_history(uow, DISTRICT, CASE)["events"]
        roster = handlers.roster(uow, DISTRICT, {"center_id": "huaguangjie"})["mediators"]
        complaint = handlers.get_complaint(uow, DISTRICT, complaint_id)
    assert (complaint["text"], complaint["answer"]) == (MARKS["text"], MARKS["answer"])
    assert view["sessions"][0]["summary"] == MARKS["summary"] and view["agreement"]["terms"] == MARKS["terms"]
    assert view["mediator"]["mediator_name"] == MARKS["name"] and roster[0]["name"] == MARKS["name"]
    assert history[-1]["data"]["agreement"]["terms"] == MARKS["terms"]

    # `tiaojie privacy erase` runs in another process: its vault shares only the key store.
    case_events = [(e.event_type, e.data) for e in uow.stored.events if e.case_id == CASE]
    key_ids = privacy.case_key_ids(case_events)
    mediator_roots = {privacy.root_key_id(key_id) for key_id in mediator_keys}
    assert text_key in key_ids and not key_ids & mediator_roots  # the mediator's name is not the case's
    Vault(vault.store, vault.master).erase(key_ids, "当事人要求删除")
    with uow:
        view = handlers.get_mediation(uow, DISTRICT, CASE)
        history = handlers.mediation_history(uow, DISTRICT, CASE)["events"]
        roster = handlers.roster(uow, DISTRICT, {"center_id": "huaguangjie"})["mediators"]
        complaint = handlers.get_complaint(uow, DISTRICT, complaint_id)
    assert complaint["text"] == privacy.ERASED == complaint["answer"]  # a complaint about the case goes with it
    assert view["sessions"][0]["summary"] == privacy.ERASED and view["agreement"]["terms"] == privacy.ERASED
    assert history[-1]["data"]["agreement"] == {**history[-1]["data"]["agreement"], "terms": privacy.ERASED}
    assert view["mediator"]["mediator_name"] == MARKS["name"] and roster[0]["name"] == MARKS["name"]
    assert view["agreement"]["amount"] == "5000.00"


def test_a_field_is_personal_only_in_the_event_types_that_name_it(vault):
    erased = {"case_id": CASE, "reason": "当事人要求删除"}  # the operator's reason for an erasure
    assert vault.seal(erased, {}, event_type="PersonalDataErased") == erased
    assert privacy.is_sealed(vault.seal(erased, {}, event_type="MediationFailed")["reason"])
    review = {"agreement": {"terms": "付清工资", "amount": "100.00", "signed_at": "2026-03-02"}}
    sealed = vault.seal(review, {}, event_type="ReviewRequested")["agreement"]
    assert privacy.is_sealed(sealed["terms"]) and sealed["amount"] == "100.00" and sealed["signed_at"] == "2026-03-02"
    assert review["agreement"]["terms"] == "付清工资"  # the caller's data is left as it was


def test_a_response_is_kept_with_the_values_sealed_as_its_events_hold_them(vault):
    data = {"summary": "标记的笔录", "held_at": "2026-03-02"}
    sealed = vault.seal(data, {}, event_type="SessionHeld")
    pairs = privacy.sealed_pairs(data, sealed)
    assert pairs == {"标记的笔录": sealed["summary"]}
    response = {"sessions": [{"summary": "标记的笔录", "held_at": "2026-03-02"}], "status": "mediating"}
    kept = privacy.seal_whole(response, pairs)
    assert "标记" not in json.dumps(kept, ensure_ascii=False) and kept["status"] == "mediating"
    assert vault.open(kept) == response

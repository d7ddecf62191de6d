"""Complaints (投诉举报): filed by a center, read and answered once by its head or the district.

The domain on its own, then the handlers through the kernel's pipeline on a
FakeUnitOfWork, with the people of CONTRACTS §7 as callers.
"""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from marshmallow import ValidationError

from services.common.auth import PERSON_SCOPES, Principal
from services.common.clock import FixedClock
from services.common.envelope import Event
from services.common.errors import Forbidden, NotFound, StateConflict
from services.common.unit_of_work import FakeUnitOfWork
from services.mediation import commands, handlers, schemas
from services.mediation.domain import ANSWERED, OPEN, Complaint, NotAllowed
from services.mediation.readmodels import InMemoryReadModels
from services.mediation.schemas import MAX_COMPLAINT_ANSWER
from tests.unit.kernel_requests import answer, pipeline, request

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HERE, THERE = "huaguangjie", "longshengjie"


def person(role, center_id=None, login=None):
    identity = {
        "account_id": f"id-{login or role}",
        "login": login or f"{role}.{center_id}",
        "name": "王主任",
        "role": role,
    }
    return Principal(PERSON_SCOPES[role], center_id, f"hash-{login or role}", person=identity)


STAFF_HERE = person("staff", HERE)
HEAD_HERE = person("head", HERE)
HEAD_THERE = person("head", THERE)
DISTRICT = person("district", login="district.1")
MACHINE_HERE = Principal("center", HERE, "token-h")
MACHINE_DISTRICT = Principal("district", None, "token-d")
ADMIN_PERSON = person("admin", login="admin.1")


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def uow(clock):
    ids = itertools.count(1)
    settings = handlers.Settings(tz=TZ, performance_grace_days=3, new_id=lambda: str(uuid.UUID(int=next(ids))))
    return FakeUnitOfWork(clock, settings, views=InMemoryReadModels())


ROUTES = {
    handlers.file_complaint: (commands.FileComplaint, schemas.ComplaintFiling, 201),
    handlers.answer_complaint: (commands.AnswerComplaint, schemas.ComplaintAnswer, 200),
}


def call(uow, use_case, body, principal, **params):
    """`(status, body)` of the handler through the kernel's pipeline, as the HTTP route runs it."""
    command_type, schema, status = ROUTES[use_case]
    run = pipeline(uow, principal, (Complaint,)).run
    dated = schema(now=uow.clock.now(), zone=TZ)
    return answer(run, request(body=body), use_case, command_type, dated, status, **params)


def file(uow, text="调解员态度不好", center_id=HERE, principal=STAFF_HERE, **body):
    status, filed = call(uow, handlers.file_complaint, {"center_id": center_id, "text": text, **body}, principal)
    assert status == 201, filed
    return filed["complaint_id"]


def events_of(uow, complaint_id):
    return [e.event_type for e in uow.events.load(f"complaint-{complaint_id}")]


def open_case(uow, case_id):
    data = {
        "case_id": case_id,
        "center_id": HERE,
        "case_number": "HG-2026-0001",
        "accepted_at": START.isoformat(),
        "received_at": START.isoformat(),
        "mediation_deadline": (START + timedelta(days=15)).isoformat(),
        "category": "wages",
        "source": "self",
        "workers_involved": 1,
        "collective": False,
        "claimed_total": "12000.00",
    }
    event = Event(
        event_id=str(uuid.uuid4()),
        event_type="CaseAccepted",
        schema_version=1,
        stream_id=f"case-{case_id}",
        stream_version=2,
        case_id=case_id,
        center_id=HERE,
        occurred_at=START,
        recorded_at=START,
        correlation_id="c",
        causation_id=None,
        data=data,
    )
    with uow:
        previous = uow.inbox.claim("mediation.intake_cases", event)
        handlers.open_mediation(uow, event, previous)


# -- the domain ------------------------------------------------------------------------------
def test_a_complaint_is_answered_once():
    complaint = Complaint(Complaint.stream_for("k1"))
    complaint.file("k1", HERE, None, "等待时间过长", START)
    assert complaint.status == OPEN
    complaint.answer_with("已约谈调解员并向投诉人致歉", START + timedelta(days=2))
    assert (complaint.status, complaint.answer, complaint.answered_at) == (
        ANSWERED,
        "已约谈调解员并向投诉人致歉",
        START + timedelta(days=2),
    )
    [filed, answered] = complaint.pending
    assert answered.event_type == "ComplaintAnswered"
    assert answered.data == {
        "complaint_id": "k1",
        "center_id": HERE,
        "case_id": None,
        "answer": "已约谈调解员并向投诉人致歉",
        "answered_at": (START + timedelta(days=2)).isoformat(),
    }
    with pytest.raises(NotAllowed) as refused:
        complaint.answer_with("再答复一次", START + timedelta(days=3))
    assert refused.value.state == ANSWERED
    assert len(complaint.pending) == 2


def test_a_complaint_folded_from_its_events_remembers_its_answer():
    written = Complaint(Complaint.stream_for("k1"))
    written.file("k1", HERE, "case-9", "慢", START)
    written.answer_with("已处理", START)
    events = [
        SimpleNamespace(event_type=e.event_type, data=json.loads(json.dumps(e.data)), stream_version=n)
        for n, e in enumerate(written.pending, 1)
    ]
    read = Complaint.from_events(written.stream_id, events)
    assert (read.status, read.case_id, read.answer, read.version) == (ANSWERED, "case-9", "已处理", 2)
    with pytest.raises(StateConflict):
        read.answer_with("again", START)


# -- answering through the pipeline ----------------------------------------------------------
@pytest.mark.parametrize("principal", [HEAD_HERE, DISTRICT, MACHINE_HERE], ids=["head", "district", "machine"])
def test_the_centers_head_or_the_district_answers_and_the_event_names_who(uow, clock, principal):
    complaint_id = file(uow)
    clock.advance(days=3)
    status, answered = call(
        uow, handlers.answer_complaint, {"answer": "已约谈调解员"}, principal, complaint_id=complaint_id
    )
    assert status == 200, answered
    assert answered["status"] == "answered" and answered["answer"] == "已约谈调解员"
    assert datetime.fromisoformat(answered["answered_at"]) == START + timedelta(days=3)
    assert answered["answered_by"] == principal.actor
    assert answered["text"] == "调解员态度不好"
    [_, event] = uow.events.load(f"complaint-{complaint_id}")
    assert event.event_type == "ComplaintAnswered" and event.actor == principal.actor
    assert event.data["answered_at"] == (START + timedelta(days=3)).isoformat()
    assert uow.views.complaint_rows[complaint_id]["answered_by"] == principal.actor


@pytest.mark.parametrize(
    "principal",
    [STAFF_HERE, HEAD_THERE, MACHINE_DISTRICT, ADMIN_PERSON],
    ids=["staff", "head-of-another-center", "district-token", "admin-person"],
)
def test_those_who_may_not_answer_get_403_and_nothing_is_stored(uow, principal):
    complaint_id = file(uow)
    status, refused = call(uow, handlers.answer_complaint, {"answer": "好的"}, principal, complaint_id=complaint_id)
    assert (status, refused["error"]) == (403, "forbidden")
    assert events_of(uow, complaint_id) == ["ComplaintFiled"]
    assert uow.views.complaint_rows[complaint_id]["status"] == "open"


def test_a_second_answer_is_409_and_keeps_the_first(uow):
    complaint_id = file(uow)
    assert call(uow, handlers.answer_complaint, {"answer": "第一次"}, HEAD_HERE, complaint_id=complaint_id)[0] == 200
    status, refused = call(uow, handlers.answer_complaint, {"answer": "第二次"}, DISTRICT, complaint_id=complaint_id)
    assert (status, refused["status"]) == (409, "answered")
    assert events_of(uow, complaint_id) == ["ComplaintFiled", "ComplaintAnswered"]
    shown = handlers.get_complaint(uow, DISTRICT, complaint_id)
    assert (shown["answer"], shown["answered_by"]) == ("第一次", HEAD_HERE.actor)


@pytest.mark.parametrize(
    "body",
    [{}, {"answer": ""}, {"answer": " \u200b\n"}, {"answer": "答" * (MAX_COMPLAINT_ANSWER + 1)}, {"answer": 5}],
    ids=["missing", "empty", "blank", "too-long", "not-text"],
)
def test_an_empty_or_too_long_answer_is_422_and_nothing_is_stored(uow, body):
    complaint_id = file(uow)
    status, refused = call(uow, handlers.answer_complaint, body, HEAD_HERE, complaint_id=complaint_id)
    assert status == 422 and list(refused["errors"]) == ["answer"]
    assert events_of(uow, complaint_id) == ["ComplaintFiled"]
    assert uow.views.complaint_rows[complaint_id]["status"] == "open"


def test_the_longest_answer_accepted_is_stored_whole(uow):
    complaint_id = file(uow)
    longest = "答" * MAX_COMPLAINT_ANSWER
    assert call(uow, handlers.answer_complaint, {"answer": longest}, HEAD_HERE, complaint_id=complaint_id)[0] == 200
    assert handlers.get_complaint(uow, HEAD_HERE, complaint_id)["answer"] == longest


@pytest.mark.parametrize("complaint_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_complaint_is_404(uow, complaint_id):
    status, refused = call(uow, handlers.answer_complaint, {"answer": "好"}, DISTRICT, complaint_id=complaint_id)
    assert (status, refused["error"]) == (404, "not_found")
    with pytest.raises(NotFound):
        handlers.get_complaint(uow, DISTRICT, complaint_id)


# -- filing ----------------------------------------------------------------------------------
def test_a_complaint_naming_an_unknown_case_is_422_and_stores_nothing(uow):
    status, refused = call(
        uow,
        handlers.file_complaint,
        {"center_id": HERE, "case_id": str(uuid.uuid4()), "text": "没人回电话"},
        STAFF_HERE,
    )
    assert status == 422 and list(refused["errors"]) == ["case_id"]
    assert not uow.stored.events
    assert uow.views.complaint_rows == {}


def test_a_filed_complaint_is_open_in_the_list_with_its_case_number(uow):
    case_id = str(uuid.uuid4())
    open_case(uow, case_id)
    complaint_id = file(uow, case_id=case_id)
    [listed] = handlers.list_complaints(uow, HEAD_HERE, {"center_id": None, "status": None, "page": 1})["complaints"]
    assert listed["complaint_id"] == complaint_id
    assert (listed["status"], listed["case_id"], listed["case_number"]) == ("open", case_id, "HG-2026-0001")
    assert (listed["answer"], listed["answered_at"], listed["answered_by"]) == (None, None, None)


# -- reading ---------------------------------------------------------------------------------
def test_the_head_lists_its_own_centers_complaints_and_the_district_every_centers(uow, clock):
    here = [file(uow, text=f"这里{n}") for n in range(3)]
    there = file(uow, text="那里", center_id=THERE, principal=person("staff", THERE))
    clock.advance(days=1)
    call(uow, handlers.answer_complaint, {"answer": "已答复"}, HEAD_HERE, complaint_id=here[1])

    def listed(principal, center_id=None, status=None):
        page = handlers.list_complaints(uow, principal, {"center_id": center_id, "status": status, "page": 1})
        return page, [c["complaint_id"] for c in page["complaints"]]

    page, ids = listed(HEAD_HERE)
    assert page["center_id"] == HERE and page["counts"] == {"open": 2, "answered": 1}
    assert ids == [here[0], here[2], here[1]]  # open first, the oldest first; then the answered
    assert listed(HEAD_HERE, status="open")[1] == [here[0], here[2]]
    assert listed(HEAD_HERE, status="answered")[1] == [here[1]]
    page, ids = listed(DISTRICT)
    assert page["counts"] == {"open": 3, "answered": 1} and set(ids) == {*here, there}
    assert listed(DISTRICT, center_id=THERE)[1] == [there]
    assert listed(MACHINE_DISTRICT, center_id=THERE)[1] == [there]
    assert handlers.get_complaint(uow, HEAD_THERE, there)["text"] == "那里"


def test_the_complaints_about_one_case_are_listed_for_its_page(uow, clock):
    case_id, other_case = str(uuid.uuid4()), str(uuid.uuid4())
    open_case(uow, case_id)
    open_case(uow, other_case)
    about = [file(uow, text=f"本案{n}", case_id=case_id) for n in range(2)]
    file(uow, text="别的案件", case_id=other_case)
    file(uow, text="不涉及案件")
    clock.advance(days=1)
    call(uow, handlers.answer_complaint, {"answer": "已答复"}, HEAD_HERE, complaint_id=about[0])
    query = schemas.ComplaintListQuery().load({"case_id": case_id})
    page = handlers.list_complaints(uow, HEAD_HERE, query)
    assert page["case_id"] == case_id
    assert [(c["complaint_id"], c["status"]) for c in page["complaints"]] == [
        (about[1], "open"),
        (about[0], "answered"),
    ]
    district = handlers.list_complaints(uow, DISTRICT, {**query, "center_id": HERE})["complaints"]
    assert [c["complaint_id"] for c in district] == [about[1], about[0]]
    with pytest.raises(Forbidden):  # staff read no complaints, of a case or not
        handlers.list_complaints(uow, STAFF_HERE, query)
    with pytest.raises(ValidationError) as refused:
        schemas.ComplaintListQuery().load({"case_id": "not-a-case"})
    assert list(refused.value.messages) == ["case_id"]


@pytest.mark.parametrize(
    "principal, center_id",
    [(STAFF_HERE, None), (STAFF_HERE, HERE), (HEAD_HERE, THERE), (ADMIN_PERSON, None), (HEAD_THERE, HERE)],
)
def test_others_get_403_on_the_list(uow, principal, center_id):
    file(uow)
    with pytest.raises(Forbidden):
        handlers.list_complaints(uow, principal, {"center_id": center_id, "status": None, "page": 1})


@pytest.mark.parametrize("principal", [STAFF_HERE, HEAD_THERE, ADMIN_PERSON])
def test_others_get_403_on_one_complaint(uow, principal):
    complaint_id = file(uow)
    with pytest.raises(Forbidden):
        handlers.get_complaint(uow, principal, complaint_id)

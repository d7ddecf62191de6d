"""The contract of intake's records (case-number counters and the case list), run against the
in-memory version; tests/integration/test_intake_records.py runs it against PostgreSQL."""

import uuid
from datetime import UTC, datetime

import pytest

from services.intake.domain import Case, mediation_deadline
from services.intake.records import InMemoryIntakeRecords
from tests.unit.test_intake_domain import CALENDAR, an_application

YEAR = 2002  # a year no other test registers in


def a_case(center_id="zhenanjie", recommendation_id=None, minutes=0):
    received_at = datetime(YEAR, 6, 1, 1, minutes, tzinfo=UTC)
    application = an_application(center_id=center_id, received_at=received_at, recommendation_id=recommendation_id)
    case_id = str(uuid.uuid4())
    deadline = mediation_deadline(received_at, CALENDAR)
    return Case.receive(case_id, f"ZAJ-{YEAR}-{case_id[:5]}", application, deadline, CALENDAR.ends_at(deadline))


class IntakeRecordsContract:
    """Subclasses provide `records` (a fixture) on an otherwise empty year and center."""

    def test_case_numbers_run_per_center_and_year(self, records):
        first = records.next_case_number("zhenanjie", YEAR)
        assert records.next_case_number("zhenanjie", YEAR) == first + 1
        other_year = records.next_case_number("zhenanjie", YEAR + 1)
        assert records.next_case_number("zhenanjie", YEAR + 1) == other_year + 1
        assert records.next_case_number("zhenanjie", YEAR) == first + 2

    def test_looks_are_listed_in_the_order_they_happened(self, records):
        case_id = str(uuid.uuid4())
        who = {"token": "center:zhenanjie"}
        records.record_looks([case_id], who, "GET /api/v1/cases/{case_id}", datetime(YEAR, 6, 1, 2, tzinfo=UTC))
        # reported later by another service (through the bus), though it happened before
        records.record_looks(
            [case_id], who, "mediation GET /api/v1/cases/{case_id}", datetime(YEAR, 6, 1, 1, tzinfo=UTC)
        )
        assert [look["route"] for look in records.looks(case_id)] == [
            "mediation GET /api/v1/cases/{case_id}",
            "GET /api/v1/cases/{case_id}",
        ]

    def test_one_accounts_looks_are_listed_newest_first_with_their_case_and_by_center(self, records):
        here, there = a_case(), a_case(center_id="huaguangjie")
        records.save(here)
        records.save(there)
        login = f"wang.{uuid.uuid4().hex[:8]}"
        person = {"account_id": "a1", "login": login, "name": "王某", "role": "staff"}
        at = [datetime(YEAR, 6, 1, 2, minute, tzinfo=UTC) for minute in range(3)]
        records.record_looks([here.case_id], person, "GET /api/v1/cases/{case_id}", at[0])
        records.record_looks([there.case_id], person, "GET /api/v1/cases", at[2])
        records.record_looks([here.case_id], {**person, "login": "someone.else"}, "GET /api/v1/cases", at[1])
        records.record_looks([here.case_id], {"token": "center:zhenanjie"}, "GET /api/v1/cases", at[1])
        every = records.looks_by(login)
        assert [(look["case_id"], look["route"]) for look in every] == [
            (there.case_id, "GET /api/v1/cases"),
            (here.case_id, "GET /api/v1/cases/{case_id}"),
        ]
        assert every[1]["case_number"] == here.case_number and every[1]["looked_at"] == at[0].isoformat()
        assert [look["case_id"] for look in records.looks_by(login, "zhenanjie")] == [here.case_id]
        assert len(records.looks_by(login, limit=1)) == 1

    def test_a_saved_case_is_listed_newest_first_and_filtered(self, records):
        older, newer = a_case(minutes=1), a_case(minutes=2)
        records.save(older)
        records.save(newer)
        newer.accept(datetime(YEAR, 6, 2, tzinfo=UTC))
        records.save(newer)

        cases, total = records.page(center_id="zhenanjie")
        ids = [c["case_id"] for c in cases]
        assert ids.index(newer.case_id) < ids.index(older.case_id) and total >= 2
        accepted, _ = records.page(center_id="zhenanjie", status="accepted")
        assert newer.case_id in [c["case_id"] for c in accepted]
        assert older.case_id not in [c["case_id"] for c in accepted]

    def test_pages_split_the_list(self, records):
        for minute in range(3):
            records.save(a_case(minutes=minute))
        _, total = records.page(center_id="zhenanjie")
        first, _ = records.page(center_id="zhenanjie", page=1, page_size=2)
        rest, _ = records.page(center_id="zhenanjie", page=2, page_size=2)
        assert len(first) == 2 and len(first) + len(rest) == min(total, 4)

    def test_a_recommendation_letter_finds_its_case(self, records):
        letter = f"R-{uuid.uuid4()}"
        assert records.case_for_recommendation(letter) is None
        case = a_case(recommendation_id=letter)
        records.save(case)
        assert records.case_for_recommendation(letter) == case.case_id

    def test_the_list_carries_no_id_numbers(self, records):
        records.save(a_case())
        assert "11010519491231002X" not in repr(records.page(center_id="zhenanjie"))


class TestInMemoryIntakeRecords(IntakeRecordsContract):
    @pytest.fixture
    def records(self):
        return InMemoryIntakeRecords()

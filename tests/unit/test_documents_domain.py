"""The case file folded from a case's events, and which documents each state allows."""

import itertools
import random

import pytest

from services.documents.domain import CaseFile, KindNotAllowed, document_number, issuer_name, short_name
from tests import documents_case as case


def fold(events):
    return CaseFile.fold(case.CASE_ID, case.CENTER_ID, case.facts(events))


def test_the_case_file_is_the_same_whatever_order_its_events_arrived_in():
    expected = fold(case.AGREED_CASE)
    shuffler = random.Random(7)
    for _ in range(30):
        events = list(case.AGREED_CASE)
        shuffler.shuffle(events)
        facts = case.facts(case.AGREED_CASE)
        shuffler.shuffle(facts)
        assert CaseFile.fold(case.CASE_ID, case.CENTER_ID, facts) == expected
    assert expected.status == "agreement"
    assert expected.case_number == case.CASE_NUMBER
    assert expected.applicant["id_number"] == case.APPLICANT["id_number"]
    assert [s["held_at"][:10] for s in expected.sessions] == ["2026-03-05", "2026-03-09"]
    assert expected.mediator["name"] == "李秀兰"


def test_a_case_file_without_intake_events_yet_does_not_exist():
    assert not fold([case.OPENED, case.ASSIGNED]).exists
    assert fold([case.OPENED, case.ACCEPTED]).exists
    assert not CaseFile.fold(case.CASE_ID, None, []).exists


@pytest.mark.parametrize(
    ("events", "status", "allowed"),
    [
        ([case.RECEIVED], "received", set()),
        ([case.RECEIVED, case.NOT_ACCEPTED], "not_accepted", {"rejection_notice"}),
        ([case.RECEIVED, case.ACCEPTED, case.OPENED], "mediating", {"acceptance_notice"}),
        (
            [case.RECEIVED, case.ACCEPTED, case.OPENED, case.ASSIGNED, case.SESSION_1],
            "mediating",
            {"acceptance_notice", "session_record"},
        ),
        (case.AGREED_CASE, "agreement", {"acceptance_notice", "session_record", "agreement"}),
        (case.FAILED_CASE, "failed", {"acceptance_notice", "session_record", "termination_notice"}),
        (
            [case.RECEIVED, case.ACCEPTED, case.OPENED, case.EXPIRED],
            "expired",
            {"acceptance_notice", "termination_notice"},
        ),
    ],
)
def test_which_kinds_each_state_allows(events, status, allowed):
    case_file = fold(events)
    assert case_file.status == status
    for kind in ("acceptance_notice", "rejection_notice", "agreement", "termination_notice", "session_record"):
        if kind in allowed:
            case_file.check_allows(kind)
        else:
            with pytest.raises(KindNotAllowed) as refused:
                case_file.check_allows(kind)
            assert refused.value.state == status


def test_an_agreement_that_arrives_after_an_expiry_wins_in_any_order():
    for events in itertools.permutations([case.EXPIRED, case.AGREED]):
        case_file = fold([case.RECEIVED, case.ACCEPTED, case.OPENED, *events])
        assert case_file.status == "agreement"
        with pytest.raises(KindNotAllowed):
            case_file.check_allows("termination_notice")


def test_names_and_numbers_of_the_issuer():
    assert issuer_name("华光街街道办事处") == "华光街街道办事处劳动人事争议调解中心"
    assert short_name("华光街街道办事处") == "华光街"
    assert short_name("苇湖梁片区管委会") == "苇湖梁"
    assert short_name("某调解中心") == "某调解中心"
    assert document_number("苇湖梁片区管委会", "agreement", 2026, 12) == "苇湖梁劳调协字〔2026〕第12号"
    assert document_number("华光街街道办事处", "rejection_notice", 2027, 1) == "华光街劳调不受字〔2027〕第1号"


def test_finding5_the_agreement_names_the_certificate_the_mediator_held_on_the_day_of_signing():
    source, event_type, version, occurred_at, data = case.AGREED
    renewed = (source, event_type, version, occurred_at, {**data, "certificate_no": "新调证字2026第0101号"})
    case_file = fold(
        [case.RECEIVED, case.ACCEPTED, case.OPENED, case.ASSIGNED, case.SESSION_1, case.SESSION_2, renewed]
    )
    assert case_file.mediator["certificate_no"] == "新调证字2026第0101号"  # not the one at assignment
    assert case_file.mediator["name"] == "李秀兰"

"""The simulator's generators: valid identifiers, a repeatable workload, the per-center rates."""

import collections
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.common.centers import load_centers
from services.simulate import identities, profile
from services.simulate.workload import DistrictWorkload

CENTERS = load_centers()
START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)


def test_resident_id_check_digit_matches_the_standard_example():
    assert identities.resident_id_check("11010519491231002") == "X"
    assert identities.is_valid_resident_id("11010519491231002X")
    assert not identities.is_valid_resident_id("110105194912310021")


def test_credit_code_check_character_matches_a_registered_code():
    assert identities.is_valid_credit_code("91350100M000100Y43")
    assert not identities.is_valid_credit_code("91350100M000100Y44")


def test_generated_ids_and_codes_are_all_valid():
    rng = random.Random(3)
    for _ in range(2000):
        worker = identities.worker(rng, date(2026, 5, 1))
        assert identities.is_valid_resident_id(worker["id_number"]), worker["id_number"]
        born = datetime.strptime(worker["id_number"][6:14], "%Y%m%d").date()
        assert 18 <= (date(2026, 5, 1) - born).days / 365.25 <= 62
        code = identities.credit_code(rng)
        assert identities.is_valid_credit_code(code), code


def test_generated_identifiers_pass_intakes_own_validation():
    intake = pytest.importorskip("services.intake.identifiers")
    rng = random.Random(5)
    for _ in range(500):
        assert intake.is_valid_resident_id(identities.worker(rng, date(2026, 1, 1))["id_number"])
        assert intake.is_valid_credit_code(identities.credit_code(rng))


def _plans(seed):
    return DistrictWorkload(CENTERS, seed=seed).backfill(START, END)


def test_the_same_seed_repeats_the_same_workload():
    assert _plans(11) == _plans(11)
    assert _plans(11)[0] != _plans(12)[0]


def test_rosters_are_repeatable_and_the_full_time_mediator_holds_a_long_certificate():
    first = DistrictWorkload(CENTERS, seed=4).mediators(date(2026, 1, 1))
    assert first == DistrictWorkload(CENTERS, seed=4).mediators(date(2026, 1, 1))
    by_center = collections.defaultdict(list)
    for plan in first:
        by_center[plan.center_id].append(plan)
    assert set(by_center) == {c.center_id for c in CENTERS}
    for plans in by_center.values():
        assert plans[0].body["full_time"] is True
        assert date.fromisoformat(plans[0].body["certificate_expires"]) > date(2028, 1, 1)


def test_every_center_receives_cases_in_order_of_receipt_with_a_realistic_mix():
    cases, consultations = _plans(1)
    assert {c.center_id for c in cases} == {c.center_id for c in CENTERS}
    assert [c.received_at for c in cases] == sorted(c.received_at for c in cases)
    assert all(START <= c.received_at < END for c in cases)
    categories = collections.Counter(c.application["category"] for c in cases)
    assert categories.most_common(1)[0][0] == "wages"
    assert any(c.application["workers_involved"] >= 10 for c in cases)
    assert len(consultations) > len(cases)
    for case in cases:
        for claim in case.application["claims"]:
            assert Decimal(claim["amount"]) > 0 and claim["amount"] == format(Decimal(claim["amount"]), ".2f")


def test_per_center_agreement_rates_follow_the_profile():
    workload = DistrictWorkload(CENTERS, seed=2)
    for center in CENTERS:
        outcomes = collections.Counter(workload.case(center, START).outcome for _ in range(800))
        closed_by_mediation = sum(outcomes[o] for o in ("agreement", "failed", "expired", "withdrawn"))
        rate = outcomes["agreement"] / closed_by_mediation
        assert rate == pytest.approx(profile.center_profile(center.center_id).agreement_rate, abs=0.05)
        assert outcomes["not_accepted"] > 0
    assert profile.center_profile("huaguangjie").agreement_rate > 0.6
    assert profile.center_profile("longshengjie").agreement_rate > 0.6
    assert sum(profile.center_profile(c.center_id).agreement_rate < 0.6 for c in CENTERS) >= 3


def test_steps_fall_within_the_law_deadlines():
    cases, _ = _plans(8)
    for case in cases:
        days = [s.day for s in case.steps]
        assert days == sorted(days)
        actions = {s.action: s for s in case.steps}
        extension = actions["extension"].body["days"] if "extension" in actions else 0
        for closing in ("agreement", "failure"):
            if closing in actions:
                assert actions[closing].day < 14 + extension
        if "review_request" in actions:
            assert actions["review_request"].day - actions["agreement"].day <= 15


def test_step_bodies_pass_the_services_schemas():
    intake = pytest.importorskip("services.intake.schemas")
    mediation = pytest.importorskip("services.mediation.schemas")
    from zoneinfo import ZoneInfo

    cases, consultations = _plans(9)
    zone = ZoneInfo("Asia/Shanghai")
    for case in cases[:300]:
        body = dict(case.application, received_at=case.received_at.isoformat())
        intake.ApplicationSchema(now=END, zone=zone).load(body)
        for step in case.steps:
            if step.action in ("accept", "reject"):
                intake.AcceptanceSchema().load(step.body)
            elif step.action == "session":
                mediation.Session().load({"held_at": END.isoformat(), **step.body})
            elif step.action == "agreement":
                due = (END + timedelta(days=step.body["performance_due_days"])).date().isoformat()
                mediation.Agreement().load(
                    {"terms": step.body["terms"], "amount": step.body["amount"], "performance_due": due}
                )
            elif step.action == "extension":
                mediation.Extension().load(step.body)
            elif step.action == "survey":
                mediation.Survey().load(step.body)
            elif step.action == "failure":  # each says what kind of failure it is (finding 5's reason_code)
                assert mediation.Failure().load(step.body)["reason_code"] in ("no_agreement", "party_absent")
            elif step.action == "answer_complaint":
                mediation.ComplaintAnswer().load(step.body)
                assert [s.action for s in case.steps if s.day <= step.day].count("complaint") == 1
    for consultation in consultations[:100]:
        intake.ConsultationSchema().load(consultation.body)

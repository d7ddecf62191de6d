"""Issue 16, findings 2, 4, 7 and 8: what the boundary used to take and must refuse, or compare as JSON."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from marshmallow import ValidationError

from services.common import limits
from services.common.http import flatten_errors
from services.common.unit_of_work import IdempotencyKeys
from services.intake.identifiers import resident_id_check_digit
from services.intake.schemas import ApplicationSchema, ConsultationSchema, RecommendationSchema
from services.mediation import schemas as mediation

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def resident_id(first17):
    return first17 + resident_id_check_digit(first17)


def application(**overrides):
    value = {
        "center_id": "huaguangjie",
        "channel": "walk_in",
        "category": "wages",
        "applicant": {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X"},
        "respondent": {"name": "某公司", "credit_code": "91350100M000100Y43"},
        "claims": [{"item": "工资", "amount": "12000.00"}],
    }
    value.update(overrides)
    return value


def applicant(**fields):
    return {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X", **fields}


def errors_of(schema, data):
    with pytest.raises(ValidationError) as refused:
        schema.load(data)
    return flatten_errors(refused.value.messages)


def intake_errors(data):
    return errors_of(ApplicationSchema(now=NOW, zone=SHANGHAI), data)


def test_a_schema_instance_does_not_add_to_a_validator_list_every_instance_shares():
    for _ in range(3):
        ConsultationSchema()
        ApplicationSchema(now=NOW, zone=SHANGHAI)
    errors = errors_of(ConsultationSchema(), {"center_id": "nowhere", "channel": "phone", "topic": "工资"})
    assert errors == {"center_id": ["Unknown center."]}
    assert ApplicationSchema(now=NOW, zone=SHANGHAI).load(application()).center_id == "huaguangjie"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"claims": []}, "claims"),
        ({"claims": [{"item": "工资", "amount": "1.00"}] * (limits.MAX_CLAIMS + 1)}, "claims"),
        ({"claims": [{"item": "工资", "amount": "999999999999.99"}] * 2}, "claims"),
        ({"claims": [{"item": "工资", "amount": "1٢٣.٠٠"}]}, "claims.0.amount"),
        ({"claims": [{"item": "工资", "amount": "١٢٣"}]}, "claims.0.amount"),
        ({"claims": [{"item": "\u200b", "amount": "1.00"}]}, "claims.0.item"),
        ({"applicant": applicant(id_number=resident_id("11010519901345001"))}, "applicant.id_number"),
        ({"applicant": applicant(id_number=resident_id("00000019900101001"))}, "applicant.id_number"),
        ({"applicant": applicant(id_number=resident_id("11010520300101001"))}, "applicant.id_number"),
        ({"applicant": applicant(id_number=resident_id("11010518800101001"))}, "applicant.id_number"),
        ({"applicant": applicant(employed_from="2024-05-01", employed_until="2023-05-01")}, "applicant.employed_until"),
        ({"applicant": applicant(employed_from="0001-01-01")}, "applicant.employed_from"),
        ({"applicant": applicant(employed_until="9999-12-31")}, "applicant.employed_until"),
        ({"applicant": applicant(name="\u200b")}, "applicant.name"),
        ({"applicant": applicant(name="\u200b\u2060\ufeff \u3000")}, "applicant.name"),
        ({"respondent": {"name": "\u200d", "credit_code": "91350100M000100Y43"}}, "respondent.name"),
        ({"received_at": "0001-01-01T00:00:00+00:00"}, "received_at"),
        ({"received_at": "2008-04-30T12:00:00+08:00"}, "received_at"),
    ],
)
def test_an_application_the_boundary_used_to_take_is_refused_on_its_field(overrides, field):
    assert field in intake_errors(application(**overrides))


def test_what_lies_just_inside_the_limits_is_taken():
    claims = [{"item": "工资", "amount": "19999999999.99"}] * limits.MAX_CLAIMS
    taken = ApplicationSchema(now=NOW, zone=SHANGHAI).load(
        application(
            claims=claims,
            applicant=applicant(id_number=resident_id("65010520260301001"), name="阿依古丽·买买提"),
            received_at="2008-05-01T00:00:00+08:00",
        )
    )
    assert taken.claimed_total <= limits.MAX_AMOUNT and len(taken.claims) == limits.MAX_CLAIMS


def test_a_letter_is_held_to_the_same_claim_limits():
    letter = {**application(), "recommendation_id": "R-1", "applicant": {"name": "陈六"}}
    letter["claims"] = [{"item": "工资", "amount": "1.00"}] * (limits.MAX_CLAIMS + 1)
    assert "claims" in errors_of(RecommendationSchema(now=NOW, zone=SHANGHAI), letter)


def mediation_errors(schema_class, data):
    return errors_of(schema_class(now=NOW, zone=SHANGHAI), data)


@pytest.mark.parametrize(
    "schema_class, data, field",
    [
        (mediation.Extension, {"days": 5, "parties_consent": "yes"}, "parties_consent"),
        (mediation.Extension, {"days": 5, "parties_consent": 1}, "parties_consent"),
        (mediation.Performance, {"performed": "true"}, "performed"),
        (mediation.Agreement, {"terms": "付清", "amount": "١٢٣", "performance_due": "2026-03-10"}, "amount"),
        (mediation.Agreement, {"terms": "付清", "amount": "1.00", "performance_due": "9999-12-31"}, "performance_due"),
        (mediation.Agreement, {"terms": "付清", "amount": "1.00", "performance_due": "2036-03-10"}, "performance_due"),
        (mediation.Agreement, {"terms": "\u200b", "amount": "1.00", "performance_due": "2026-03-10"}, "terms"),
        (mediation.Session, {"held_at": "2099-01-01T10:00:00+08:00", "summary": "谈"}, "held_at"),
        (mediation.Session, {"held_at": "1900-01-01T10:00:00+08:00", "summary": "谈"}, "held_at"),
        (mediation.Session, {"held_at": "2026-03-02T10:30:00+08:00", "summary": "谈"}, "held_at"),  # 20 min ahead
        (mediation.MediatorRegistration, {"center_id": "huaguangjie", "name": "\u2060", "full_time": True}, "name"),
        (mediation.MediatorRegistration, {"center_id": "huaguangjie", "name": "王芳", "full_time": "no"}, "full_time"),
        (
            mediation.MediatorRegistration,
            {"center_id": "huaguangjie", "name": "王芳", "certificate_no": "C1", "certificate_expires": "9999-12-31"},
            "certificate_expires",
        ),
        (
            mediation.CertificateRenewal,
            {"certificate_no": "C1", "certificate_expires": "9999-12-31"},
            "certificate_expires",
        ),
        (mediation.ComplaintFiling, {"center_id": "huaguangjie", "case_id": "%00", "text": "慢"}, "case_id"),
    ],
)
def test_a_mediation_command_the_boundary_used_to_take_is_refused_on_its_field(schema_class, data, field):
    assert field in mediation_errors(schema_class, data)


def test_mediation_dates_just_inside_the_window_are_taken():
    mediation.Session(now=NOW, zone=SHANGHAI).load({"held_at": "2026-03-02T10:00:30+08:00", "summary": "谈"})
    mediation.Agreement(now=NOW, zone=SHANGHAI).load(
        {"terms": "付清", "amount": "999999999999.99", "performance_due": "2035-03-02"}
    )
    assert mediation.Extension(now=NOW, zone=SHANGHAI).load({"days": 5, "parties_consent": True})["parties_consent"]


def test_an_idempotent_request_is_compared_as_json_not_as_text():
    first = json.dumps({"decision": "accept", "reason": None})
    again = json.dumps({"reason": None, "decision": "accept"}, indent=2)
    other = json.dumps({"decision": "reject", "reason": "超出受理范围"})
    hash_of = IdempotencyKeys.request_hash
    assert hash_of("POST", "/p", first) == hash_of("POST", "/p", again)
    assert hash_of("POST", "/p", first) != hash_of("POST", "/p", other)
    assert hash_of("POST", "/p", "not json") != hash_of("POST", "/p", "not json ")

"""The intake API's boundary: every rule fails on its own field, all at once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from marshmallow import ValidationError

from services.common.http import flatten_errors
from services.intake.schemas import (
    AcceptanceSchema,
    ApplicationSchema,
    CaseListQuerySchema,
    ConsultationSchema,
    RecommendationSchema,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def body(**overrides):
    value = {
        "center_id": "huaguangjie",
        "channel": "walk_in",
        "source": "self",
        "category": "wages",
        "applicant": {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "phone": "13912345678",
        },
        "respondent": {"name": "某公司", "credit_code": "91350100M000100Y43"},
        "claims": [{"item": "工资", "amount": "12000.00"}],
        "workers_involved": 3,
    }
    value.update(overrides)
    return value


def load(data):
    return ApplicationSchema(now=NOW, zone=SHANGHAI).load(data)


def errors_of(data, schema=None):
    with pytest.raises(ValidationError) as failed:
        (schema or ApplicationSchema(now=NOW, zone=SHANGHAI)).load(data)
    return flatten_errors(failed.value.messages)


def test_a_valid_application_becomes_domain_values():
    application = load(body(received_at="2026-03-01T09:00:00Z"))

    assert application.claims[0].amount == Decimal("12000.00")
    assert application.received_at == datetime(2026, 3, 1, 17, 0, tzinfo=SHANGHAI)
    assert application.received_at.utcoffset() == timedelta(hours=8)
    assert application.applicant["id_number"] == "11010519491231002X"


def test_receipt_defaults_to_now_in_the_district_zone():
    assert load(body()).received_at == NOW.astimezone(SHANGHAI)


def test_source_defaults_to_self_and_workers_to_one():
    data = body()
    del data["source"], data["workers_involved"]
    application = load(data)
    assert (application.source, application.workers_involved) == ("self", 1)


def test_a_lowercase_resident_id_check_x_is_stored_uppercase():
    application = load(body(applicant={"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002x"}))
    assert application.applicant["id_number"] == "11010519491231002X"


def test_passports_and_other_ids_are_not_checked():
    for id_type in ("passport", "other"):
        application = load(body(applicant={"name": "John", "id_type": id_type, "id_number": "E12345678"}))
        assert application.applicant["id_type"] == id_type


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"category": "parking"}, "category"),
        ({"channel": "fax"}, "channel"),
        ({"source": "rumour"}, "source"),
        ({"center_id": "atlantis"}, "center_id"),
        ({"workers_involved": 0}, "workers_involved"),
        ({"workers_involved": "3"}, "workers_involved"),
        ({"claims": [{"item": "工资", "amount": 12000.0}]}, "claims.0.amount"),
        ({"claims": [{"item": "工资", "amount": 12000}]}, "claims.0.amount"),
        ({"claims": [{"item": "工资", "amount": "12000.001"}]}, "claims.0.amount"),
        ({"claims": [{"item": "工资", "amount": "1e3"}]}, "claims.0.amount"),
        ({"claims": [{"item": "工资", "amount": "-1.00"}]}, "claims.0.amount"),
        ({"claims": [{"item": " ", "amount": "1.00"}]}, "claims.0.item"),
        ({"received_at": "2026-03-02T02:05:00Z"}, "received_at"),
        ({"received_at": "2026-03-02T10:00:00"}, "received_at"),
        (
            {"applicant": {"name": "张三", "id_type": "resident_id", "id_number": "110105194912310021"}},
            "applicant.id_number",
        ),
        ({"applicant": {"name": "张三", "id_type": "card", "id_number": "1"}}, "applicant.id_type"),
        (
            {"applicant": {"name": "张三", "id_type": "passport", "id_number": "E1", "phone": "call me"}},
            "applicant.phone",
        ),
        ({"respondent": {"name": "某公司", "credit_code": "91350100M000100Y44"}}, "respondent.credit_code"),
    ],
)
def test_each_rule_fails_on_its_field(overrides, field):
    assert field in errors_of(body(**overrides))


def test_a_receipt_a_few_seconds_ahead_is_clock_skew_not_the_future():
    assert load(body(received_at="2026-03-02T02:00:30Z")).received_at


def test_every_failing_field_is_reported_at_once():
    data = body(category="x", channel="x", workers_involved=0, claims=[{"item": "a", "amount": 1.5}])
    del data["applicant"]
    assert set(errors_of(data)) == {"category", "channel", "workers_involved", "claims.0.amount", "applicant"}


def test_a_rejection_needs_its_reason():
    assert "reason" in errors_of({"decision": "reject"}, AcceptanceSchema())
    assert AcceptanceSchema().load({"decision": "accept"}) == {
        "decision": "accept",
        "reason": None,
        "occurred_at": None,
    }


def test_a_consultation_needs_a_known_center_channel_and_topic():
    assert set(errors_of({"center_id": "atlantis", "channel": "fax"}, ConsultationSchema())) == {
        "center_id",
        "channel",
        "topic",
    }


def test_the_case_list_query_parses_paging_and_filters():
    assert CaseListQuerySchema().load({"page": "2", "status": "accepted"}) == {
        "center_id": None,
        "status": "accepted",
        "page": 2,
        "page_size": 50,
        "q": None,
        "received_from": None,
        "received_to": None,
    }
    assert set(errors_of({"page": "0", "status": "open", "center_id": "atlantis"}, CaseListQuerySchema())) == {
        "page",
        "status",
        "center_id",
    }


def test_a_recommendation_letter_opens_a_letter_case_received_when_reported():
    letter = RecommendationSchema(now=NOW, zone=SHANGHAI).load(
        {
            "recommendation_id": "R-1",
            "center_id": "longshengjie",
            "applicant": {"name": "李四"},
            "respondent": {"name": "某公司"},
            "category": "compensation",
            "claims": [{"item": "补偿", "amount": "8000.00"}],
            "issued_at": "2026-03-01T09:00:00+08:00",
        }
    )
    assert (letter.source, letter.channel, letter.recommendation_id) == ("arbitration_recommendation", "letter", "R-1")
    assert letter.received_at == NOW.astimezone(SHANGHAI)


def test_a_letter_may_name_any_id_type_but_a_resident_id_must_check():
    schema = RecommendationSchema(now=NOW, zone=SHANGHAI)
    letter = {
        "recommendation_id": "R-2",
        "center_id": "huaguangjie",
        "respondent": {"name": "某公司"},
        "category": "wages",
        "claims": [],
    }
    permit = {"name": "陈六", "id_type": "hk_macao_permit", "id_number": "H1234567", "phone": "0991-1234567"}
    assert schema.load({**letter, "applicant": permit}).applicant["id_type"] == "hk_macao_permit"
    wrong = {"name": "陈六", "id_type": "resident_id", "id_number": "110105194912310021"}
    assert "applicant.id_number" in errors_of({**letter, "applicant": wrong}, schema)

"""JSON logs without personal data; marshmallow errors as field paths."""

import json

from marshmallow import Schema, fields, validate

from services.common.errors import Rejected
from services.common.http import error_response, flatten_errors
from services.common.http import validate as validate_body
from services.common.logs import correlation_id_var, mask_personal_data
from tests import support


def test_id_numbers_and_phones_are_masked():
    text = mask_personal_data("applicant 11010519491231002X phone 13912345678")
    assert "11010519491231002X" not in text and "13912345678" not in text
    assert "110105********X" in text and "139****5678" in text


def test_a_log_line_is_one_json_object_with_the_correlation_id():
    def emit(logger):
        token = correlation_id_var.set("corr-42")
        try:
            logger.warning("case for %s", "11010519491231002X")
        finally:
            correlation_id_var.reset(token)

    line = support.json_log_of(emit).strip()
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["correlation_id"] == "corr-42"
    assert "11010519491231002X" not in entry["message"]


class Claim(Schema):
    item = fields.String(required=True)
    amount = fields.Decimal(required=True, places=2)


class Application(Schema):
    workers_involved = fields.Integer(required=True, validate=validate.Range(min=1))
    claims = fields.List(fields.Nested(Claim), required=True)


def test_every_failing_field_is_reported_at_once_with_its_path():
    try:
        validate_body(Application(), {"workers_involved": 0, "claims": [{"item": "wages"}]})
    except Rejected as exc:
        assert set(exc.errors) == {"workers_involved", "claims.0.amount"}
        assert error_response(exc).status_code == 422
    else:
        raise AssertionError("expected 422")


def test_flatten_keeps_top_level_messages():
    assert flatten_errors({"_schema": ["bad"], "a": {"b": ["x"]}}) == {"_schema": ["bad"], "a.b": ["x"]}

"""One money rule for the whole system: intake and mediation accept and refuse the same amounts."""

from decimal import Decimal

import pytest
from marshmallow import ValidationError

from services.common.money import is_money, money, parse_money
from services.intake.schemas import ClaimSchema
from services.mediation.schemas import Agreement

REFUSED = ["0012.00", "12.345", "-1.00", "1e3", "１２.00", "12.", ".5", "", " 12.00", "1234567890123.00"]
ACCEPTED = ["0", "0.5", "12000.00", "3000.5", "999999999999.99"]


@pytest.mark.parametrize("text", REFUSED)
def test_every_schema_refuses_the_same_amounts(text):
    assert not is_money(text)
    with pytest.raises(ValueError):
        parse_money(text)
    with pytest.raises(ValidationError) as intake:
        ClaimSchema().load({"item": "工资", "amount": text})
    with pytest.raises(ValidationError) as mediation:
        Agreement().load({"terms": "x", "amount": text, "performance_due": "2026-04-01"})
    assert "amount" in intake.value.messages and "amount" in mediation.value.messages


@pytest.mark.parametrize("text", ACCEPTED)
def test_every_schema_accepts_the_same_amounts(text):
    assert parse_money(text) == Decimal(text)
    assert ClaimSchema().load({"item": "工资", "amount": text}).amount == Decimal(text)
    assert Agreement().load({"terms": "x", "amount": text, "performance_due": "2026-04-01"})["amount"] == Decimal(text)


def test_a_json_number_is_refused_everywhere():
    with pytest.raises(ValidationError):
        ClaimSchema().load({"item": "工资", "amount": 12000})
    with pytest.raises(ValidationError):
        Agreement().load({"terms": "x", "amount": 12000.0, "performance_due": "2026-04-01"})


def test_an_amount_is_carried_with_two_places():
    assert (money(Decimal("3000.5")), money("0"), money(Decimal("12000"))) == ("3000.50", "0.00", "12000.00")

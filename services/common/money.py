"""Money, one rule for the whole system.

An amount travels as a decimal string (CONTRACTS §2), never a JSON number: ASCII digits,
no sign, no leading zero ("0012.00" is refused), at most `MAX_DIGITS` digits before the
point and at most two after it ("3000.5" is accepted and carried as "3000.50").
Inside, it is a `Decimal`; events and responses carry `money(amount)`, two places.
"""

import re
from decimal import Decimal

from marshmallow import fields

from . import limits

# The largest amount, one or a sum of claims (docs/LIMITS.md); the rule's digits follow from it.
MAX_AMOUNT = limits.MAX_AMOUNT
MAX_DIGITS = len(str(int(MAX_AMOUNT)))
CENT = Decimal("0.01")
_PATTERN = re.compile(rf"^(0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})(\.[0-9]{{1,2}})?$")


def is_money(text):
    """True when `text` is an amount written by the rule above."""
    return isinstance(text, str) and _PATTERN.match(text) is not None


def within_limit(total):
    """True when a sum of amounts (a case's claims) is one every store and consumer holds."""
    return Decimal(total) <= MAX_AMOUNT


def parse_money(text):
    """The `Decimal` of an amount string; `ValueError` when it breaks the rule."""
    if not is_money(text):
        raise ValueError(f"not an amount: {text!r}")
    return Decimal(text)


def money(amount):
    """An amount as the two-place decimal string events and responses carry."""
    return format(Decimal(amount).quantize(CENT), "f")


class Money(fields.Field):
    """The marshmallow field of every schema that takes an amount."""

    default_error_messages = {
        "type": 'Must be a decimal string such as "12000.00", not a number.',
        "invalid": "Must be a non-negative amount with at most two decimal places.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("type")
        if not is_money(value):
            raise self.make_error("invalid")
        return Decimal(value)

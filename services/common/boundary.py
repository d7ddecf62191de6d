"""Field rules every service's schemas share: text with something visible in it, JSON
booleans, and dates inside the window of `services.common.limits`.

A text is filled in only if a person could read something in it: a name made of a
zero-width space is as blank as one made of spaces. A flag is a JSON `true` or `false`,
never `"yes"` or `1`. A date staff enter lies between `limits.EARLIEST_DATE` and
`limits.LATEST_DATE`, and, where the schema is given today (from the service's clock),
not in the future, or at most `limits.MAX_DAYS_AHEAD` ahead where the domain has future
dates (a performance due date, a certificate's expiry).
"""

import unicodedata
from datetime import datetime, timedelta

from marshmallow import Schema, ValidationError, fields, validate

from . import limits


def has_visible_character(value):
    """True when some character is neither white space, nor a control, format or unassigned code point."""
    return any(unicodedata.category(character)[0] not in "ZC" for character in value)


def visible(value):
    if not has_visible_character(value):
        raise ValidationError("Must not be blank.")


def text(max_length, **kwargs):
    """A text field of at most `max_length` characters with something visible in it."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), visible], **kwargs)


class Flag(fields.Boolean):
    """A JSON boolean: `"yes"`, `"true"` or `1` are refused, not taken as true."""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Dated(Schema):
    """A schema whose dates lie in the window; `now` (the service clock's) bounds the future,
    and `zone` (the district's) says which day today is."""

    def __init__(self, *, now=None, zone=None, **kwargs):
        super().__init__(**kwargs)
        self.now = now
        self.zone = zone

    @property
    def today(self):
        return self.now.astimezone(self.zone).date() if self.now is not None else None

    def check_past(self, value, earliest=limits.EARLIEST_DATE):
        """A moment or a day that has happened: not before `earliest`, not in the future."""
        if isinstance(value, datetime):
            check_window(value.date(), earliest, limits.LATEST_DATE)
            if self.now is not None and (value - self.now).total_seconds() > limits.CLOCK_SKEW_SECONDS:
                raise ValidationError("Must not be in the future.")
        else:
            check_window(value, earliest, self.today or limits.LATEST_DATE)

    def check_ahead(self, value, earliest=limits.EARLIEST_DATE):
        """A day that may lie ahead, at most `limits.MAX_DAYS_AHEAD` days from today."""
        today = self.today
        latest = min(today + timedelta(days=limits.MAX_DAYS_AHEAD), limits.LATEST_DATE) if today else limits.LATEST_DATE
        check_window(value, earliest, latest)


def check_window(day, earliest, latest):
    if day < earliest:
        raise ValidationError(f"Must not be before {earliest.isoformat()}.")
    if day > latest:
        raise ValidationError(f"Must not be after {latest.isoformat()}.")

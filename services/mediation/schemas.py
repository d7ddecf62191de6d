"""The mediation API's boundary: marshmallow schemas turning request JSON into domain values.

Unknown fields are ignored; every failing field is reported at once (422).
"""

from marshmallow import EXCLUDE, ValidationError, fields, post_load, validate, validates, validates_schema

from services.common import limits
from services.common.boundary import Dated, Flag, text
from services.common.centers import centers_by_id
from services.common.money import Money

from .domain import COMPLAINT_STATUSES, FAILURE_REASON_CODES, STATUSES

MAX_EXTENSION_DAYS = 90
MAX_COMPLAINT_TEXT = 5000
MAX_COMPLAINT_ANSWER = 5000  # as long as the complaint it answers


class CenterId(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in centers_by_id():
            raise ValidationError("Unknown center.")
        return value


class _Body(Dated):
    """A request body; the handler hands in `now` and `zone` where its dates need today."""

    class Meta:
        unknown = EXCLUDE


class _Step(_Body):
    """A step of a case's mediation: `occurred_at` (RFC 3339 with an offset) says when it
    happened if not now; its bounds are the handler's (services.common.steps), which knows
    the case's step before it."""

    occurred_at = fields.AwareDateTime(load_default=None)


class MediatorRegistration(_Body):
    """A mediator for the roster; one without a certificate may be listed but not assigned."""

    center_id = CenterId(required=True)
    name = text(100, required=True)
    certificate_no = text(60, load_default=None, allow_none=True)
    certificate_expires = fields.Date(load_default=None, allow_none=True)
    full_time = Flag(load_default=False)

    @validates("certificate_expires")
    def _expiry_in_the_window(self, value, **kwargs):
        if value is not None:
            self.check_ahead(value)

    @validates_schema
    def _certificate_complete(self, data, **kwargs):
        if data.get("certificate_no") and not data.get("certificate_expires"):
            raise ValidationError("Required with a certificate number.", "certificate_expires")
        if data.get("certificate_expires") and not data.get("certificate_no"):
            raise ValidationError("Required with a certificate expiry date.", "certificate_no")


class CertificateRenewal(_Body):
    certificate_no = text(60, required=True)
    certificate_expires = fields.Date(required=True)

    @validates("certificate_expires")
    def _expiry_in_the_window(self, value, **kwargs):
        self.check_ahead(value)


class Assignment(_Step):
    mediator_id = fields.UUID(required=True)


class Session(_Step):
    """A session's `held_at` is its `occurred_at`: either may be given; given both, they agree."""

    held_at = fields.AwareDateTime(load_default=None)
    summary = text(5000, required=True)

    @validates("held_at")
    def _held_in_the_window(self, value, **kwargs):
        if value is not None:
            self.check_past(value)

    @validates_schema
    def _held_at_is_occurred_at(self, data, **kwargs):
        held_at, occurred_at = data.get("held_at"), data.get("occurred_at")
        if held_at is None and occurred_at is None:
            raise ValidationError("Missing data for required field.", "held_at")
        if held_at is not None and occurred_at is not None and held_at != occurred_at:
            raise ValidationError(
                "Must be the same moment as held_at (a session's held_at is when it happened).", "occurred_at"
            )

    @post_load
    def _one_moment(self, data, **kwargs):
        data["held_at"] = data["held_at"] or data["occurred_at"]
        return data


class Extension(_Step):
    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_EXTENSION_DAYS))
    parties_consent = Flag(required=True)  # must be true: the domain refuses an extension without it


class Agreement(_Step):
    terms = text(10000, required=True)
    amount = Money(required=True)
    performance_due = fields.Date(required=True)

    @validates("performance_due")
    def _due_in_the_window(self, value, **kwargs):
        self.check_ahead(value)


class Failure(_Step):
    """`{reason}` as CONTRACTS §2 has it, plus an optional `reason_code` (what kind of failure)."""

    reason = text(2000, required=True)
    reason_code = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(FAILURE_REASON_CODES))


class Withdrawal(_Step):
    reason = text(2000, required=True)


class ReviewRequest(_Step):
    """The parties' joint application (a body is optional: the request itself is the application)."""

    note = text(2000, load_default=None, allow_none=True)


class Performance(_Step):
    performed = Flag(required=True)


class Survey(_Step):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = text(2000, load_default=None, allow_none=True)


class ComplaintFiling(_Body):
    center_id = CenterId(required=True)
    case_id = fields.UUID(load_default=None, allow_none=True)
    text = text(MAX_COMPLAINT_TEXT, required=True)


class ComplaintAnswer(_Body):
    answer = text(MAX_COMPLAINT_ANSWER, required=True)


class ComplaintListQuery(_Body):
    center_id = CenterId(load_default=None)
    case_id = fields.UUID(load_default=None)  # the complaints about one case (its page)
    status = fields.String(load_default=None, validate=validate.OneOf(COMPLAINT_STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=limits.MAX_PAGE))


class CaseListQuery(_Body):
    center_id = CenterId(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=limits.MAX_PAGE))


class RosterQuery(_Body):
    center_id = CenterId(load_default=None)

"""The intake API's boundary: marshmallow schemas turning request JSON into domain values.

Every rule fails on its own field, so a 422 lists every failing field at once.
"""

import re
from decimal import Decimal

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from services.common import limits
from services.common.boundary import Dated, check_window, text
from services.common.centers import load_centers
from services.common.money import MAX_AMOUNT, Money, within_limit

from .domain import CATEGORIES, CHANNELS, ID_TYPES, SOURCES, STATUSES, Application, Claim
from .identifiers import is_valid_credit_code, is_valid_resident_id, resident_id_birth_date, resident_id_problem

_PHONE = re.compile(r"^[0-9+\-() ]{3,30}$")


def one_of(choices, **kwargs):
    return fields.String(validate=validate.OneOf(choices), **kwargs)


class Phone(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not _PHONE.match(value):
            raise ValidationError("Not a phone number.")
        return value


class _Party(Schema):
    class Meta:
        unknown = EXCLUDE

    @post_load
    def _as_json(self, data, **kwargs):
        # Party details travel in events as JSON: dates as YYYY-MM-DD.
        return {
            key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in data.items()
            if value is not None
        }


class ApplicantSchema(_Party):
    """The worker (劳动者): personal data, never logged."""

    name = text(100, required=True)
    id_type = one_of(ID_TYPES, required=True)
    id_number = text(40, required=True)
    phone = Phone(load_default=None, allow_none=True)
    address = text(300, load_default=None, allow_none=True)
    job = text(100, load_default=None, allow_none=True)
    employed_from = fields.Date(load_default=None, allow_none=True)
    employed_until = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def resident_id_checks(self, data, **kwargs):
        if data.get("id_type") == "resident_id" and data.get("id_number") is not None:
            problem = self.resident_id_problem(data["id_number"])
            if problem:
                raise ValidationError(problem, field_name="id_number")
            data["id_number"] = data["id_number"].upper()

    @staticmethod
    def resident_id_problem(number):
        return resident_id_problem(number, limits.EARLIEST_BIRTH_DATE)

    @validates_schema
    def employment_dates(self, data, **kwargs):
        errors = {}
        for key in ("employed_from", "employed_until"):
            if data.get(key) is not None:
                try:
                    check_window(data[key], limits.EARLIEST_EMPLOYMENT_DATE, limits.LATEST_DATE)
                except ValidationError as exc:
                    errors[key] = exc.messages
        started, ended = data.get("employed_from"), data.get("employed_until")
        if not errors and started and ended and started > ended:
            errors["employed_until"] = ["Must not be before employed_from."]
        if errors:
            raise ValidationError(errors)


class LetterApplicantSchema(ApplicantSchema):
    """The worker named in a recommendation letter, as the institute writes it.

    Its contract leaves the id optional and its type open; a resident id must still check.
    """

    id_type = text(40, load_default=None, allow_none=True)
    id_number = text(40, load_default=None, allow_none=True)
    phone = text(40, load_default=None, allow_none=True)

    @staticmethod
    def resident_id_problem(number):
        # Only the check digit, as the institute's contract promises and the link checks:
        # a letter the link accepted must open a case here, not wait in a dead-letter queue.
        if not is_valid_resident_id(number):
            return "Not a valid resident id number (18 characters with a GB 11643 check digit)."
        return None


class RespondentSchema(_Party):
    """The employer (用人单位)."""

    name = text(200, required=True)
    credit_code = fields.String(load_default=None, allow_none=True)
    address = text(300, load_default=None, allow_none=True)
    legal_representative = text(100, load_default=None, allow_none=True)
    contact = Phone(load_default=None, allow_none=True)

    @validates("credit_code")
    def credit_code_checks(self, value, **kwargs):
        if value is not None and not is_valid_credit_code(value):
            raise ValidationError(
                "Not a valid unified social credit code (18 characters with a GB 32100 check character)."
            )


class ClaimSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    item = text(200, required=True)
    amount = Money(required=True)

    @post_load
    def _as_claim(self, data, **kwargs):
        return Claim(item=data["item"], amount=data["amount"])


class _CenterScoped(Schema):
    """A schema whose `center_id` must name a known center."""

    class Meta:
        unknown = EXCLUDE

    center_id = fields.String(required=True)

    def __init__(self, *, center_ids=None, **kwargs):
        super().__init__(**kwargs)
        # Kept on the instance: a validator appended to the field would land in the list
        # every instance shares, one more with every request.
        self.center_ids = frozenset(center_ids or (c.center_id for c in load_centers()))

    @validates("center_id")
    def known_center(self, value, **kwargs):
        if value is not None and value not in self.center_ids:
            raise ValidationError("Unknown center.")


class _Received(Dated, _CenterScoped):
    """Shared by the two ways an application arrives; knows the clock (`now`) and the district's zone."""

    category = one_of(CATEGORIES, required=True)
    claims = fields.List(
        fields.Nested(ClaimSchema), required=True, validate=validate.Length(min=1, max=limits.MAX_CLAIMS)
    )
    workers_involved = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=1_000_000))
    description = fields.String(load_default="", validate=validate.Length(max=5000))

    @validates_schema
    def claimed_total_within_limit(self, data, **kwargs):
        if not within_limit(sum((claim.amount for claim in data.get("claims") or ()), Decimal(0))):
            raise ValidationError(f"The claims may add up to at most {MAX_AMOUNT}.", field_name="claims")

    @validates_schema
    def born_by_today(self, data, **kwargs):
        applicant = data.get("applicant") or {}
        if applicant.get("id_type") == "resident_id" and applicant.get("id_number") and self.today:
            born = resident_id_birth_date(applicant["id_number"])
            if born is not None and born > self.today:
                message = "Not a valid resident id number: its birth date is in the future."
                raise ValidationError({"applicant": {"id_number": [message]}})

    @staticmethod
    def application(data, **how_received):
        common = ("center_id", "category", "applicant", "respondent", "workers_involved", "description")
        return Application(claims=tuple(data["claims"]), **{key: data[key] for key in common}, **how_received)


class ApplicationSchema(_Received):
    """POST /api/v1/cases."""

    channel = one_of(CHANNELS, required=True)
    source = one_of(SOURCES, load_default="self")
    applicant = fields.Nested(ApplicantSchema, required=True)
    respondent = fields.Nested(RespondentSchema, required=True)
    received_at = fields.AwareDateTime(load_default=None)

    @validates("received_at")
    def received_in_the_window(self, value, **kwargs):
        if value is not None:
            self.check_past(value)

    @post_load
    def _as_application(self, data, **kwargs):
        return self.application(
            data,
            channel=data["channel"],
            source=data["source"],
            received_at=(data["received_at"] or self.now).astimezone(self.zone),
        )


class RecommendationSchema(_Received):
    """A mediation recommendation letter (调解建议书) from the arbitration institute, as arbitration_link reports it.

    The center receives it when arbitration_link does: `received_at` is handed in.
    """

    recommendation_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    applicant = fields.Nested(LetterApplicantSchema, required=True)
    respondent = fields.Nested(RespondentSchema, required=True)
    claims = fields.List(fields.Nested(ClaimSchema), load_default=list, validate=validate.Length(max=limits.MAX_CLAIMS))
    issued_at = fields.String(load_default=None, allow_none=True)

    @post_load
    def _as_application(self, data, **kwargs):
        return self.application(
            data,
            channel="letter",
            source="arbitration_recommendation",
            received_at=self.now.astimezone(self.zone),
            recommendation_id=data["recommendation_id"],
        )


class ConsultationSchema(_CenterScoped):
    """POST /api/v1/consultations."""

    channel = one_of(CHANNELS, required=True)
    topic = text(1000, required=True)


class AcceptanceSchema(Schema):
    """POST /api/v1/cases/{case_id}/acceptance."""

    class Meta:
        unknown = EXCLUDE

    decision = one_of(("accept", "reject"), required=True)
    reason = text(2000, load_default=None, allow_none=True)
    occurred_at = fields.AwareDateTime(load_default=None)  # when it was decided, if not now

    @validates_schema
    def reason_for_rejection(self, data, **kwargs):
        if data.get("decision") == "reject" and not data.get("reason"):
            raise ValidationError("A case not accepted needs the reason (written notice).", field_name="reason")


class WithdrawalSchema(Schema):
    """POST /api/v1/cases/{case_id}/withdrawal."""

    class Meta:
        unknown = EXCLUDE

    reason = text(2000, required=True)
    occurred_at = fields.AwareDateTime(load_default=None)  # when it was withdrawn, if not now


class CaseListQuerySchema(_CenterScoped):
    """GET /api/v1/cases?q=&status=&received_from=&received_to=&center_id=&page=&page_size= (CONTRACTS §7)."""

    center_id = fields.String(load_default=None)
    status = one_of(STATUSES, load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    received_from = fields.Date(load_default=None)
    received_to = fields.Date(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=limits.MAX_PAGE))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        if data.get("received_from") and data.get("received_to") and data["received_from"] > data["received_to"]:
            raise ValidationError("Must not be before received_from.", field_name="received_to")

    @post_load
    def _blank_query_is_none(self, data, **kwargs):
        data["q"] = (data.get("q") or "").strip() or None
        return data


class AccountLooksQuerySchema(Schema):
    """GET /api/v1/looks?account=&limit=: the looks one console account took (its login)."""

    class Meta:
        unknown = EXCLUDE

    account = fields.String(required=True, validate=validate.Length(min=1, max=100))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))

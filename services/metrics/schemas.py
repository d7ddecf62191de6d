"""The report endpoint's query parameters, validated at the boundary."""

from marshmallow import EXCLUDE, Schema, fields, validate


class ReportQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    month = fields.Integer(validate=validate.Range(min=1, max=12))
    center_id = fields.String(validate=validate.Length(min=1, max=100))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))

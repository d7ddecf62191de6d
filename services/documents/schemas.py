"""The documents API's boundary: what a request to issue a document may say."""

from marshmallow import EXCLUDE, Schema, fields, validate

from .domain import KINDS


class IssueSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(required=True, validate=validate.OneOf(sorted(KINDS)))
    # For a service receipt: the document it records the service of (default: the latest issued).
    document_id = fields.UUID(load_default=None, allow_none=True)

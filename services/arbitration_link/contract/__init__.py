"""The link's public contract (CONTRACTS §4): names on the broker and a JSON Schema per message.

The schema files beside this module (draft 2020-12) and `asyncapi.yaml` are what the
arbitration institute's developers code against; the service validates every reply it
receives with them, and the tests validate every message it really sends.
"""

import functools
import json
from pathlib import Path

import jsonschema
from referencing import Registry, Resource

HERE = Path(__file__).resolve().parent

OUTBOUND_EXCHANGE = "arbitration.outbound"
REFERRALS_QUEUE = "arbitration.referrals"
REPLIES_EXCHANGE = "arbitration.replies"
REPLIES_QUEUE = "arbitration.replies.link"

# Outbound: the message `type` property is also the routing key.
OUTBOUND_TYPES = ("referral", "review_request")
# Inbound: the routing keys the institute publishes with.
REPLY_KINDS = ("referral.docketed", "referral.declined", "review.decided", "recommendation.issued")
MESSAGE_KINDS = OUTBOUND_TYPES + REPLY_KINDS


class ContractViolation(Exception):
    """A message that does not match its schema. `errors` are paths and rule names, never values,
    so they can be logged without personal data."""

    def __init__(self, kind, errors):
        super().__init__(f"{kind}: " + "; ".join(errors))
        self.kind = kind
        self.errors = errors


def schema_path(kind):
    return HERE / f"{kind}.schema.json"


@functools.cache
def _validators():
    schemas = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in HERE.glob("*.schema.json")}
    registry = Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    return {
        kind: jsonschema.Draft202012Validator(schemas[schema_path(kind).name], registry=registry)
        for kind in MESSAGE_KINDS
    }


def schema(kind):
    return _validators()[kind].schema


def errors(kind, body):
    """Every way `body` breaks the schema of `kind`, as `path: rule` strings (empty when valid)."""
    if kind not in MESSAGE_KINDS:
        return [f"unknown message kind {kind!r}"]
    found = sorted(_validators()[kind].iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(e) for e in found]


# These rules' messages name properties, not values: safe to log.
_NAMING_RULES = ("required", "unevaluatedProperties", "additionalProperties")


def _describe(error):
    path = ".".join(str(p) for p in error.absolute_path) or "(body)"
    return f"{path}: {error.message if error.validator in _NAMING_RULES else error.validator}"


def validate(kind, body):
    """Raises `ContractViolation` unless `body` is a valid message of `kind`."""
    problems = errors(kind, body)
    if problems:
        raise ContractViolation(kind, problems)
    return body

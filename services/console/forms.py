"""Form fields, named by the API's field paths (CONTRACTS §7), turned into the API's JSON.

`applicant.name` becomes `{"applicant": {"name": ...}}` and `claims.1.amount` the second
claim's amount. The console does not judge the values: it sends what was typed (blank
optional fields left out, numbers and yes/no in their JSON types when they read as such)
and the service's 422 comes back beside each field.
"""

import re
from datetime import datetime

INTEGER_FIELDS = {"workers_involved", "days", "score"}
BOOLEAN_FIELDS = {"parties_consent", "performed", "full_time"}
DATETIME_FIELDS = {"received_at", "held_at", "occurred_at"}
# Fields of the console's own, never sent to a service.
CONSOLE_FIELDS = {"csrf_token", "form_key", "confirmed"}
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


def typed(field, value, zone):
    """One form value in the type the API expects, when it reads as that type."""
    name = field.rsplit(".", 1)[-1]
    if name in INTEGER_FIELDS and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if name in BOOLEAN_FIELDS:
        return value in ("true", "on", "1", "yes")
    if name in DATETIME_FIELDS and _LOCAL_DATETIME.match(value):
        # <input type="datetime-local"> gives the district's wall-clock time without a zone.
        return datetime.fromisoformat(value).replace(tzinfo=zone).isoformat()
    return value


def api_body(form, zone, fields=None):
    """The JSON body of a form: nested by the dots of its names, blank values left out."""
    body = {}
    for field in fields or form.keys():
        if field in CONSOLE_FIELDS:
            continue
        value = form.get(field, "")
        value = value.strip() if isinstance(value, str) else value
        if value == "" and field.rsplit(".", 1)[-1] not in BOOLEAN_FIELDS:
            continue
        _place(body, field.split("."), typed(field, value, zone))
    return _lists(body)


def claim_lines(form, minimum=3):
    """The claim lines to show: those typed in, then empty ones up to `minimum`, and one spare."""
    indexes = sorted({int(m.group(1)) for key in form.keys() if (m := re.match(r"claims\.(\d+)\.", key))})
    filled = [
        i for i in indexes if form.get(f"claims.{i}.item", "").strip() or form.get(f"claims.{i}.amount", "").strip()
    ]
    count = max(minimum, (max(filled) + 2) if filled else 0)
    return list(range(count))


def application_body(form, zone):
    """The application of `POST /api/v1/cases`: claim lines left blank are dropped, the rest renumbered."""
    body = api_body(form, zone)
    claims = body.pop("claims", [])
    body["claims"] = [claim for claim in claims if claim]
    return body


def renumbered_errors(form, errors):
    """The API numbers claims after blank lines were dropped; the form keeps its own numbers."""
    indexes = sorted({int(m.group(1)) for key in form.keys() if (m := re.match(r"claims\.(\d+)\.", key))})
    kept = [
        i for i in indexes if form.get(f"claims.{i}.item", "").strip() or form.get(f"claims.{i}.amount", "").strip()
    ]
    renamed = {}
    for field, messages in errors.items():
        found = re.match(r"claims\.(\d+)\.(.+)$", field)
        if found and int(found.group(1)) < len(kept):
            field = f"claims.{kept[int(found.group(1))]}.{found.group(2)}"
        renamed[field] = messages
    return renamed


def _place(node, path, value):
    head, rest = path[0], path[1:]
    if not rest:
        node[head] = value
        return
    _place(node.setdefault(head, {}), rest, value)


def _lists(node):
    """Dicts whose keys are all digits become lists in index order (`claims.0`, `claims.1`)."""
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted

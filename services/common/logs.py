"""Structured logging: one JSON object a line, with the correlation id, and no personal data.

Resident id numbers and phone numbers are masked in every message, whatever the caller
put into it. A database error's own text is where data slips in unasked: PostgreSQL adds
the failing row (`DETAIL: Failing row contains (..., 张三, ...)`), the JSON or query it was
parsing (`CONTEXT:`, `LINE 1: ... '张三'`) and quotes the offending value in the message
itself (`invalid input syntax for type uuid: "..."`). Those lines are dropped and the
quoted values masked, in the message and in the traceback alike.
"""

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

correlation_id_var = contextvars.ContextVar("correlation_id", default=None)

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


# Lines a PostgreSQL error adds after its message, and the caret line under a `LINE n:`.
_DATABASE_CONTEXT = re.compile(r"^\s*(DETAIL|CONTEXT|HINT|QUERY|STATEMENT|WHERE|LINE \d+):")
_CARET = re.compile(r"^\s*\^\s*$")
# The line that states a database error: psycopg2's exception line, or the server's own.
_DATABASE_ERROR = re.compile(r"^\s*(psycopg2\.[\w.]+|(\w+\.)*\w*(Error|Violation|Exception)|ERROR|FATAL)\b[^:]*:")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def mask_personal_data(text):
    """Masks id numbers and phone numbers, keeping enough to recognise a record, and the data
    a database error quotes."""
    text = scrub_database_errors(text)
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)[-1]}", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return text


def scrub_database_errors(text):
    """Drops the DETAIL, CONTEXT, HINT and LINE lines of PostgreSQL errors and masks the values
    their messages quote."""
    if "DETAIL" not in text and "CONTEXT" not in text and "LINE " not in text and "psycopg2" not in text:
        return text
    lines = text.splitlines()
    context = [bool(_DATABASE_CONTEXT.match(line) or _CARET.match(line)) for line in lines]
    kept = []
    for index, line in enumerate(lines):
        if context[index]:
            continue
        # The error's message is the line that states it, or the one its context lines follow.
        if _DATABASE_ERROR.match(line) or (index + 1 < len(lines) and context[index + 1]):
            line = _QUOTED.sub('"…"', line)
        kept.append(line)
    return "\n".join(kept)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_personal_data(record.getMessage()),
        }
        correlation_id = getattr(record, "correlation_id", None) or correlation_id_var.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        for key in ("service", "event_type", "event_id", "case_id", "center_id", "position"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level="INFO", stream=None):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqp", "kombu", "nameko", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # nameko logs an expected API refusal (a 422, a 409) as a warning with its traceback.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)

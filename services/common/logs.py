"""Structured logging: one JSON object a line, with the correlation id, and no personal data.

Resident id numbers and phone numbers are masked in every message,
whatever the caller put into it.
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


def mask_personal_data(text):
    """Masks id numbers and phone numbers, keeping enough to recognise a record."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)[-1]}", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return text


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

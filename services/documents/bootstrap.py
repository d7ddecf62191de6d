"""The documents service's bootstrap: its settings, read once at start, and its repository."""

from zoneinfo import ZoneInfo

from services.common.bootstrap import wire
from services.common.centers import centers_by_id
from services.common.config import environment, timezone_name

from .handlers import DEFAULT_COMMISSION, DocumentsSettings
from .repository import PostgresDocuments


def documents_settings(config, env=None):
    """The district's time zone and centers, and the arbitration commission its notices name."""
    env = environment(env)
    return DocumentsSettings(
        zone=ZoneInfo(config.get("TIMEZONE") or timezone_name(env)),
        centers=centers_by_id(),
        commission=env.get("TIAOJIE_ARBITRATION_COMMISSION") or DEFAULT_COMMISSION,
    )


def bootstrap(config, env=None):
    return wire(config, settings=documents_settings(config, env), repositories={"documents": PostgresDocuments})

"""The tables every service's database has: events, inbox, idempotency keys, tokens, relay, credentials."""

from .credentials import CREDENTIAL_MIGRATIONS
from .eventstore import EVENT_MIGRATIONS

COMMON_MIGRATIONS = (
    EVENT_MIGRATIONS
    + [
        (
            "common-0002-inbox",
            """
        CREATE TABLE inbox (
            consumer     text NOT NULL,
            event_id     uuid NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        );
        CREATE TABLE inbox_streams (
            consumer  text NOT NULL,
            stream_id text NOT NULL,
            version   integer NOT NULL,
            PRIMARY KEY (consumer, stream_id)
        );
        """,
        ),
        (
            "common-0003-idempotency",
            """
        CREATE TABLE idempotency_keys (
            scope        text NOT NULL,
            key          text NOT NULL,
            request_hash text NOT NULL,
            status       integer,
            response     jsonb,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        );
        """,
        ),
        (
            "common-0004-tokens",
            """
        CREATE TABLE api_tokens (
            token_hash text PRIMARY KEY,
            role       text NOT NULL CHECK (role IN ('center', 'district', 'admin')),
            center_id  text,
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_at timestamptz,
            CHECK ((role = 'center') = (center_id IS NOT NULL))
        );
        """,
        ),
        (
            "common-0005-relay",
            """
        CREATE TABLE relay_positions (
            relay      text PRIMARY KEY,
            position   bigint NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """,
        ),
        (
            # The inbox is pruned by age (`services/common/service.py`, `prune_inbox`).
            "common-0007-inbox-retention",
            """
        ALTER TABLE inbox_streams ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
        CREATE INDEX inbox_processed_at ON inbox (processed_at);
        CREATE INDEX inbox_streams_updated_at ON inbox_streams (updated_at);
        """,
        ),
    ]
    + CREDENTIAL_MIGRATIONS
)

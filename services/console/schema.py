"""The console's tables beside its event store (where accounts, sessions and tokens are events)."""

MIGRATIONS = [
    (
        "console-0001-session-activity",
        """
        -- When each live session was last used: the idle limit (30 minutes) is measured
        -- from here. A click is not an event; ending a session is (SessionEnded).
        CREATE TABLE console_session_activity (
            session_hash text PRIMARY KEY,
            last_seen    timestamptz NOT NULL
        );
        CREATE INDEX console_session_activity_by_time ON console_session_activity (last_seen);
        -- Accounts and tokens are found by login, account id or token prefix among a few
        -- event types of a small store.
        CREATE INDEX console_events_by_type ON events (event_type);
        """,
    ),
    (
        "console-0002-login-failures",
        """
        -- Failed logins of login names that are no account, and of client addresses (an
        -- account's own are events in its stream). `key` is "name:" or "address:" and a
        -- SHA-256, never the name or address; a row is forgotten after `forget_after`.
        CREATE TABLE console_login_failures (
            key          text PRIMARY KEY,
            failures     timestamptz[] NOT NULL,
            locked_until timestamptz,
            forget_after timestamptz NOT NULL
        );
        CREATE INDEX console_login_failures_by_expiry ON console_login_failures (forget_after);
        """,
    ),
]

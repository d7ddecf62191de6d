"""The people's credentials every service knows: sessions and personal tokens, from `console.events`.

The console's store is where accounts live (docs/ACCOUNTS.md); each service keeps, in its
own `credentials` table, what it needs to authenticate a person's bearer by its SHA-256:
who it belongs to, until when it is good, whether it ended. `CredentialsConsumer` is part
of every service (`BaseService`), so a new service gets it by being one.

Events of one person arrive on several queues, so in any order: an end or a revocation
that overtakes its start leaves a row that the start fills in without reviving it, and a
disabled account is kept apart (`credential_accounts`), so it refuses credentials that
arrive after it.
"""

from datetime import datetime

from .messaging import inbox_handler

CREDENTIAL_MIGRATIONS = [
    (
        "common-0009-credentials",
        """
        CREATE TABLE credentials (
            credential_hash text PRIMARY KEY,
            kind            text CHECK (kind IN ('session', 'token')),
            account_id      text,
            login           text,
            name            text,
            role            text CHECK (role IN ('staff', 'head', 'district', 'admin')),
            center_id       text,
            expires_at      timestamptz,
            ended_at        timestamptz
        );
        CREATE INDEX credentials_by_account ON credentials (account_id);
        CREATE TABLE credential_accounts (
            account_id  text PRIMARY KEY,
            disabled_at timestamptz NOT NULL
        );
        """,
    ),
]

IDENTITY_FIELDS = ("account_id", "login", "name", "role", "center_id")


class Credentials:
    """The `credentials` table, inside the caller's transaction."""

    def __init__(self, cursor):
        self.cursor = cursor

    def grant(self, credential_hash, kind, identity, expires_at):
        self.cursor.execute(
            "INSERT INTO credentials (credential_hash, kind, account_id, login, name, role, center_id, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (credential_hash) DO UPDATE SET kind = EXCLUDED.kind, account_id = EXCLUDED.account_id,"
            " login = EXCLUDED.login, name = EXCLUDED.name, role = EXCLUDED.role,"
            " center_id = EXCLUDED.center_id, expires_at = EXCLUDED.expires_at",
            (credential_hash, kind, *(identity[f] for f in IDENTITY_FIELDS), expires_at),
        )

    def end(self, credential_hash, at):
        self.cursor.execute(
            "INSERT INTO credentials (credential_hash, ended_at) VALUES (%s, %s)"
            " ON CONFLICT (credential_hash) DO UPDATE"
            " SET ended_at = LEAST(COALESCE(credentials.ended_at, EXCLUDED.ended_at), EXCLUDED.ended_at)",
            (credential_hash, at),
        )

    def disable_account(self, account_id, at):
        self.cursor.execute(
            "INSERT INTO credential_accounts (account_id, disabled_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (account_id, at),
        )

    def revoke_machine_token(self, token_hash, at):
        self.cursor.execute(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, %s) WHERE token_hash = %s", (at, token_hash)
        )

    def live(self, credential_hash, now):
        """The identity behind a live credential, or None (unknown, ended, expired, disabled)."""
        self.cursor.execute(
            "SELECT c.account_id, c.login, c.name, c.role, c.center_id FROM credentials c"
            " LEFT JOIN credential_accounts a ON a.account_id = c.account_id"
            " WHERE c.credential_hash = %s AND c.account_id IS NOT NULL AND c.ended_at IS NULL"
            " AND c.expires_at > %s AND a.account_id IS NULL",
            (credential_hash, now),
        )
        row = self.cursor.fetchone()
        if row is None:
            return None
        return dict(row) if isinstance(row, dict) else dict(zip(IDENTITY_FIELDS, row, strict=True))


class CredentialsConsumer:
    """The inbox handlers that keep `credentials` up to date; a mixin of `BaseService`."""

    @inbox_handler("console", "SessionStarted")
    def on_session_started(self, envelope):
        self._credentials("on_session_started", envelope, _grant("session", "session_hash"))

    @inbox_handler("console", "PersonalTokenIssued")
    def on_personal_token_issued(self, envelope):
        self._credentials("on_personal_token_issued", envelope, _grant("token", "token_hash"))

    @inbox_handler("console", "SessionEnded")
    def on_session_ended(self, envelope):
        self._credentials(
            "on_session_ended",
            envelope,
            lambda credentials, event: credentials.end(event.data["session_hash"], event.occurred_at),
        )

    @inbox_handler("console", "TokenRevoked")
    def on_token_revoked(self, envelope):
        def revoke(credentials, event):
            if event.data.get("kind") == "machine":
                credentials.revoke_machine_token(event.data["token_hash"], event.occurred_at)
            else:
                credentials.end(event.data["token_hash"], event.occurred_at)

        self._credentials("on_token_revoked", envelope, revoke)

    @inbox_handler("console", "AccountDisabled")
    def on_account_disabled(self, envelope):
        self._credentials(
            "on_account_disabled",
            envelope,
            lambda credentials, event: credentials.disable_account(event.data["account_id"], event.occurred_at),
        )

    def _credentials(self, consumer, envelope, change):
        self.store.consume(consumer, envelope, lambda uow, event, previous: change(Credentials(uow.cursor), event))


def _grant(kind, hash_field):
    def grant(credentials, event):
        data = event.data
        credentials.grant(data[hash_field], kind, data, datetime.fromisoformat(data["expires_at"]))

    return grant

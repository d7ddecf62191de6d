"""Named staff accounts (账号): logins, sessions, personal tokens. docs/ACCOUNTS.md is the guide.

The API the console's pages and the CLI use is re-exported here from `api`; the stores
(`PostgresAccountStore` for the service and the CLI, `InMemoryAccountStore` for unit
tests) from `repository`.
"""

from .api import (
    AccountView,
    LoginLocked,
    LoginRefused,
    LoginResult,
    Person,
    UnknownAccount,
    UnknownToken,
    change_password,
    create_account,
    disable_account,
    end_idle_sessions,
    end_session,
    forget_login_failures,
    hash_secret,
    issue_personal_token,
    list_accounts,
    login,
    record_machine_token,
    revoke_tokens,
    session,
)
from .domain import ROLE_NAMES, ROLES, AccountError, AccountSettings
from .repository import InMemoryAccountStore, Passwords, PostgresAccountStore, fast_passwords
from .throttle import minutes_left

__all__ = [
    "AccountError",
    "AccountSettings",
    "AccountView",
    "InMemoryAccountStore",
    "LoginLocked",
    "LoginRefused",
    "LoginResult",
    "Passwords",
    "Person",
    "PostgresAccountStore",
    "ROLES",
    "ROLE_NAMES",
    "UnknownAccount",
    "UnknownToken",
    "change_password",
    "create_account",
    "disable_account",
    "end_idle_sessions",
    "end_session",
    "fast_passwords",
    "forget_login_failures",
    "hash_secret",
    "issue_personal_token",
    "list_accounts",
    "login",
    "minutes_left",
    "record_machine_token",
    "revoke_tokens",
    "session",
]

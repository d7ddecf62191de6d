"""Accounts, sessions and personal tokens as aggregates: pure rules, no I/O.

An account (账号) is a person: a login, a name, a role (`staff | head | district | admin`)
and, for `staff` and `head`, the center they work at. Its password is kept as an argon2
hash computed outside the domain; the domain only decides which events happen.

Streams: `account-<login>`, `session-<sha256 of the secret>`, `token-<sha256 of the token>`.
"""

import dataclasses
from datetime import datetime, timedelta

from services.common.aggregate import Aggregate

from .throttle import locks

ROLES = ("staff", "head", "district", "admin")
CENTER_ROLES = frozenset({"staff", "head"})

# What a person with each role may do, CONTRACTS §7 (the console shows it in Chinese).
ROLE_NAMES = {"staff": "工作人员", "head": "中心负责人", "district": "区级", "admin": "管理员"}


@dataclasses.dataclass(frozen=True)
class AccountSettings:
    """Lockout and session lengths (CONTRACTS §7); the console reads them from the environment.

    `lockout_failures` within `lockout_window` lock a login name (an account or a name that is
    none) for `lockout_duration`; `address_failures` within the same window lock a client
    address the same way, whichever names it tried (docs/ACCOUNTS.md, "Failed logins")."""

    lockout_failures: int = 5
    address_failures: int = 50
    lockout_window: timedelta = timedelta(minutes=15)
    lockout_duration: timedelta = timedelta(minutes=15)
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    token_days: int = 90
    min_password_length: int = 8


class AccountError(Exception):
    """A command on an account that its rules refuse; `field` names the input at fault."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def account_stream(login):
    return f"account-{login}"


def session_stream(session_hash):
    return f"session-{session_hash}"


def token_stream(token_hash):
    return f"token-{token_hash}"


class Account(Aggregate):
    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.account_id = None
        self.login = None
        self.name = None
        self.role = None
        self.center_id = None
        self.password_hash = None
        self.must_change_password = False
        self.disabled = False
        self.failures = []  # times of the failed logins since the last success
        self.locked_until = None

    @property
    def exists(self):
        return self.account_id is not None

    # --- commands ----------------------------------------------------------------------

    def create(self, account_id, login, name, role, center_id, password_hash, initial, now):
        if self.exists:
            raise AccountError("该登录名已被使用", field="login")
        if role not in ROLES:
            raise AccountError("角色必须是 staff、head、district 或 admin 之一", field="role")
        if (role in CENTER_ROLES) != (center_id is not None):
            message = "该角色必须指定所属中心" if role in CENTER_ROLES else "该角色不属于某个中心"
            raise AccountError(message, field="center_id")
        self.record(
            "AccountCreated",
            {"account_id": account_id, "login": login, "name": name, "role": role, "center_id": center_id},
            occurred_at=now,
            center_id=center_id,
        )
        self.record(
            "InitialPasswordSet" if initial else "PasswordChanged",
            {"account_id": account_id, "password_hash": password_hash},
            occurred_at=now,
            center_id=center_id,
        )

    def refuse_login(self, now, settings):
        """Records a failed login; the `lockout_failures`-th within the window locks it."""
        self.record(
            "LoginFailed",
            {"account_id": self.account_id, "failed_at": now.isoformat()},
            occurred_at=now,
            center_id=self.center_id,
        )
        if locks(self.failures, now, settings.lockout_failures, settings.lockout_window):
            self.record(
                "LoginLocked",
                {"account_id": self.account_id, "locked_until": (now + settings.lockout_duration).isoformat()},
                occurred_at=now,
                center_id=self.center_id,
            )

    def accept_login(self, now):
        """A successful login clears the failures that came before it."""
        if self.failures:
            self.record("LoginSucceeded", {"account_id": self.account_id}, occurred_at=now, center_id=self.center_id)

    def is_locked(self, now):
        return self.locked_until is not None and now < self.locked_until

    def change_password(self, password_hash, now):
        if self.disabled:
            raise AccountError("该账号已停用")
        self.record(
            "PasswordChanged",
            {"account_id": self.account_id, "password_hash": password_hash},
            occurred_at=now,
            center_id=self.center_id,
        )

    def disable(self, now):
        if self.disabled:
            return
        self.record(
            "AccountDisabled",
            {"account_id": self.account_id, "login": self.login},
            occurred_at=now,
            center_id=self.center_id,
        )

    def identity(self):
        """What a session or token says about its person (never the password)."""
        return {
            "account_id": self.account_id,
            "login": self.login,
            "name": self.name,
            "role": self.role,
            "center_id": self.center_id,
        }

    # --- state ---------------------------------------------------------------------------

    def apply(self, event_type, data):
        if event_type == "AccountCreated":
            self.account_id = data["account_id"]
            self.login = data["login"]
            self.name = data["name"]
            self.role = data["role"]
            self.center_id = data["center_id"]
        elif event_type == "InitialPasswordSet":
            self.password_hash = data["password_hash"]
            self.must_change_password = True
        elif event_type == "PasswordChanged":
            self.password_hash = data["password_hash"]
            self.must_change_password = False
        elif event_type == "LoginFailed":
            self.failures.append(datetime.fromisoformat(data["failed_at"]))
        elif event_type == "LoginSucceeded":
            self.failures = []
        elif event_type == "LoginLocked":
            self.locked_until = datetime.fromisoformat(data["locked_until"])
            self.failures = []
        elif event_type == "AccountDisabled":
            self.disabled = True


class Session(Aggregate):
    """A login's session, known by the hash of its secret: started, then ended once."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.identity = None
        self.expires_at = None
        self.ended = False

    def start(self, session_hash, identity, now, settings):
        self.record(
            "SessionStarted",
            {
                "session_hash": session_hash,
                **identity,
                "started_at": now.isoformat(),
                "expires_at": (now + settings.session_absolute).isoformat(),
            },
            occurred_at=now,
            center_id=identity["center_id"],
        )

    def end(self, session_hash, reason, now):
        if self.ended or self.identity is None:
            return
        self.record(
            "SessionEnded",
            {"session_hash": session_hash, "account_id": self.identity["account_id"], "reason": reason},
            occurred_at=now,
            center_id=self.identity["center_id"],
        )

    def apply(self, event_type, data):
        if event_type == "SessionStarted":
            self.identity = {k: data[k] for k in ("account_id", "login", "name", "role", "center_id")}
            self.expires_at = datetime.fromisoformat(data["expires_at"])
        elif event_type == "SessionEnded":
            self.ended = True


class Token(Aggregate):
    """An API token, a person's (`PersonalTokenIssued`) or a machine's (`MachineTokenIssued`)."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.kind = None
        self.prefix = None
        self.account_id = None
        self.revoked = False

    def issue_personal(self, token_hash, prefix, identity, now, days):
        self.record(
            "PersonalTokenIssued",
            {
                "token_hash": token_hash,
                "prefix": prefix,
                **identity,
                "expires_at": (now + timedelta(days=days)).isoformat(),
            },
            occurred_at=now,
            center_id=identity["center_id"],
        )

    def issue_machine(self, token_hash, prefix, role, center_id, now):
        self.record(
            "MachineTokenIssued",
            {"token_hash": token_hash, "prefix": prefix, "role": role, "center_id": center_id},
            occurred_at=now,
            center_id=center_id,
        )

    def revoke(self, token_hash, now):
        if self.revoked:
            return
        self.record(
            "TokenRevoked",
            {"token_hash": token_hash, "kind": self.kind, "account_id": self.account_id},
            occurred_at=now,
        )

    def apply(self, event_type, data):
        if event_type == "PersonalTokenIssued":
            self.kind, self.prefix, self.account_id = "personal", data["prefix"], data["account_id"]
        elif event_type == "MachineTokenIssued":
            self.kind, self.prefix = "machine", data["prefix"]
        elif event_type == "TokenRevoked":
            self.revoked = True

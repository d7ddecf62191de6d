"""What the console (and the CLI) call to log people in, keep their sessions and manage accounts.

Every function takes an `AccountStore` first: `PostgresAccountStore` in the console service
and the CLI, `InMemoryAccountStore` in unit tests. Each call is one unit of work on the
console's event store; its events reach every service on `console.events`. docs/ACCOUNTS.md
describes this API for the pages built on it.
"""

import dataclasses
import logging
import re
import secrets
import uuid
from datetime import datetime

from services.common.auth import hash_token as hash_secret
from services.common.auth import new_token
from services.common.centers import centers_by_id
from services.common.pipeline import decide_again

from . import throttle
from .domain import (
    CENTER_ROLES,
    ROLES,
    Account,
    AccountError,
    Session,
    Token,
    account_stream,
    session_stream,
    token_stream,
)

log = logging.getLogger(__name__)

LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
# Initial passwords: no 0/O, 1/l/I, so they can be read aloud over the phone.
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TOKEN_PREFIX_LENGTH = 8


@dataclasses.dataclass(frozen=True)
class Person:
    """Who is logged in. `bearer` is the session secret: the console sends it to the
    services as `Authorization: Bearer <bearer>`; it never goes into a log or a page."""

    account_id: str
    login: str
    name: str
    role: str  # staff | head | district | admin
    center_id: str | None
    bearer: str = dataclasses.field(repr=False)
    must_change_password: bool = False

    @property
    def actor(self):
        """The envelope's `actor` for events this person causes (CONTRACTS §7)."""
        return {"account_id": self.account_id, "login": self.login, "name": self.name, "role": self.role}


@dataclasses.dataclass(frozen=True)
class LoginResult:
    account: Person
    session_secret: str = dataclasses.field(repr=False)
    must_change_password: bool


@dataclasses.dataclass(frozen=True)
class AccountView:
    """One row of the account list (账号管理)."""

    account_id: str
    login: str
    name: str
    role: str
    center_id: str | None
    disabled: bool
    must_change_password: bool
    locked_until: datetime | None


class LoginRefused(Exception):
    """Wrong login or password, or a disabled account: one message, whichever it was."""

    message = "登录名或密码不正确"

    def __init__(self):
        super().__init__(self.message)


class LoginLocked(Exception):
    """Too many failed logins of this login name or client address: no login until `until`.
    The same for an account and for a name that is none, so it says nothing about which exists."""

    def __init__(self, until):
        super().__init__(f"登录尝试过多，请于 {until.isoformat()} 后再试")
        self.until = until


class UnknownAccount(AccountError):
    def __init__(self):
        super().__init__("没有这个账号", field="login")


class UnknownToken(AccountError):
    def __init__(self, message="没有这个令牌"):
        super().__init__(message, field="token")


def token_prefix(token):
    """The part of a token that may be shown and typed to revoke it: 8 characters after `tj_`."""
    return token.removeprefix("tj_")[:TOKEN_PREFIX_LENGTH]


def new_password(length=12):
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


# --- logging in and sessions --------------------------------------------------------------


def login(store, login, password, now, address=None):
    """Checks a login and password and starts a session.

    Raises `LoginRefused` (unknown login, wrong password, disabled account: one message)
    or `LoginLocked` (too many failures of this login name, whether it is an account or
    not, or of the client `address`). A refused password is recorded (`LoginFailed` for an
    account, a counter for a name that is none and for the address); nothing else is stored
    and no session starts. A name that is no account costs the same argon2 verification and
    gets the same answers as an account with a wrong password.
    """
    login = (login or "").strip().lower()
    outcome = decide_again(lambda: _login_once(store, login, password or "", now, address))
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _login_once(store, login, password, now, address):
    settings = store.settings
    with store.unit_of_work() as uow:
        account = uow.load(Account, account_stream(login))
        keys = [throttle.address_key(address)] if address is not None else []
        if not account.exists:
            keys.insert(0, throttle.name_key(login))
        locked = [until for until in (uow.index.failures(key).locked(now) for key in keys) if until]
        if account.exists and account.is_locked(now):
            locked.append(account.locked_until)
        if locked:
            log.info("login refused: too many failed logins")  # no name, no address (docs/PRIVACY.md)
            return LoginLocked(max(locked))
        if account.exists:
            uow.actor = _actor(account.identity())
            right = store.passwords.verify(account.password_hash, password) and not account.disabled
        else:
            store.passwords.verify_nothing(password)
            right = False
        if not right:
            if account.exists:
                account.refuse_login(now, settings)
                uow.save(account)
                if account.is_locked(now):
                    locked.append(account.locked_until)
            for key in keys:
                limit = settings.address_failures if key.startswith("address:") else settings.lockout_failures
                counted = uow.index.failures(key, for_update=True).after_failure(
                    now, limit, settings.lockout_window, settings.lockout_duration
                )
                uow.index.count_failures(key, counted, counted.forget_after(settings.lockout_window))
                if counted.locked(now):
                    locked.append(counted.locked_until)
            if locked:
                log.info("login locked after too many failed logins")
                return LoginLocked(max(locked))
            return LoginRefused()
        account.accept_login(now)
        uow.save(account)
        secret = secrets.token_urlsafe(32)
        session_hash = hash_secret(secret)
        new_session = Session(session_stream(session_hash))
        new_session.start(session_hash, account.identity(), now, store.settings)
        uow.save(new_session)
        uow.index.touch(session_hash, now)
    person = _person(account.identity(), secret, account.must_change_password)
    return LoginResult(account=person, session_secret=secret, must_change_password=account.must_change_password)


def forget_login_failures(store, now):
    """Drops the counters of names and addresses that say nothing any more (the console's
    timer, every minute). Returns how many."""
    with store.unit_of_work() as uow:
        return uow.index.forget_failures(now)


def session(store, secret, now):
    """The person whose session `secret` is, or None when it is unknown, ended, expired or
    idle too long, or the account is disabled. A live session's idle time starts again."""
    if not secret:
        return None
    session_hash = hash_secret(secret)

    def once():
        with store.unit_of_work() as uow:
            current = uow.load(Session, session_stream(session_hash))
            if current.identity is None or current.ended:
                return None
            account = uow.load(Account, account_stream(current.identity["login"]))
            last_seen = uow.index.last_seen(session_hash)
            reason = (
                "disabled"
                if account.disabled
                else "expired"
                if now >= current.expires_at
                else "idle"
                if last_seen is not None and now - last_seen >= store.settings.session_idle
                else None
            )
            if reason:
                current.end(session_hash, reason, now)
                uow.save(current)
                return None
            uow.index.touch(session_hash, now)
            return _person(account.identity(), secret, account.must_change_password)

    return decide_again(once)


def end_session(store, secret, now, reason="logout"):
    """Ends a session (退出): its secret gets 401 everywhere from then on. Unknown secrets are ignored."""
    if not secret:
        return
    session_hash = hash_secret(secret)

    def once():
        with store.unit_of_work() as uow:
            current = uow.load(Session, session_stream(session_hash))
            if current.identity is not None:
                uow.actor = _actor(current.identity)
            current.end(session_hash, reason, now)
            uow.save(current)

    decide_again(once)


def end_idle_sessions(store, now):
    """Ends the sessions idle longer than the setting (the console runs this every minute),
    so the services stop accepting them without waiting for the person's next click.
    Returns how many it ended."""
    with store.unit_of_work() as uow:
        idle = uow.index.idle_sessions(now - store.settings.session_idle)
    for session_hash in idle:

        def once(session_hash=session_hash):
            with store.unit_of_work() as uow:
                current = uow.load(Session, session_stream(session_hash))
                current.end(session_hash, "idle", now)
                uow.save(current)
                uow.index.forget(session_hash)

        decide_again(once)
    return len(idle)


def change_password(store, account_id, old, new, now):
    """Changes a password; the first login's one-time password must be changed this way.

    Raises `AccountError` with `field` "old_password" (wrong) or "new_password" (too short,
    or the same as the old one); nothing is stored then.
    """
    if len(new or "") < store.settings.min_password_length:
        raise AccountError(f"新密码至少 {store.settings.min_password_length} 位", field="new_password")
    if new == old:
        raise AccountError("新密码不能与原密码相同", field="new_password")

    def once():
        with store.unit_of_work() as uow:
            login_name = uow.index.login_of(account_id)
            account = uow.load(Account, account_stream(login_name)) if login_name else None
            if account is None or not account.exists:
                raise UnknownAccount()
            if not store.passwords.verify(account.password_hash, old or ""):
                raise AccountError("原密码不正确", field="old_password")
            uow.actor = _actor(account.identity())
            account.change_password(store.passwords.hash(new), now)
            uow.save(account)

    decide_again(once)


# --- managing accounts (admin, CLI) --------------------------------------------------------


def create_account(store, login, name, role, center_id=None, password=None, now=None, actor=None):
    """Creates an account and returns its password.

    Without `password` a one-time initial password is made up and returned: it must be
    changed at the first login. Raises `AccountError` naming the field at fault.
    """
    login = (login or "").strip().lower()
    name = (name or "").strip()
    if not LOGIN_PATTERN.match(login):
        raise AccountError("登录名为 2–40 位小写字母、数字或 . _ -，以字母或数字开头", field="login")
    if not name or len(name) > 50:
        raise AccountError("请填写姓名（最多 50 字）", field="name")
    if role not in ROLES:
        raise AccountError("角色必须是 staff、head、district 或 admin 之一", field="role")
    if role in CENTER_ROLES and center_id not in centers_by_id():
        raise AccountError("请选择一个已知的中心", field="center_id")
    if password is not None and len(password) < store.settings.min_password_length:
        raise AccountError(f"密码至少 {store.settings.min_password_length} 位", field="password")
    initial = password is None
    password = new_password() if initial else password
    password_hash = store.passwords.hash(password)
    now = now or store.clock.now()

    def once():
        with store.unit_of_work(actor) as uow:
            account = uow.load(Account, account_stream(login))
            account.create(
                str(uuid.uuid4()),
                login,
                name,
                role,
                center_id if role in CENTER_ROLES else None,
                password_hash,
                initial,
                now,
            )
            uow.save(account)

    decide_again(once)
    return password


def disable_account(store, login, now=None, actor=None):
    """Disables an account: its sessions and tokens get 401 in every service from the next request on."""
    login = (login or "").strip().lower()
    now = now or store.clock.now()

    def once():
        with store.unit_of_work(actor) as uow:
            account = uow.load(Account, account_stream(login))
            if not account.exists:
                raise UnknownAccount()
            account.disable(now)
            uow.save(account)

    decide_again(once)


def list_accounts(store, now=None):
    """Every account, ordered by login, as `AccountView`s."""
    now = now or store.clock.now()
    with store.unit_of_work() as uow:
        accounts = [uow.load(Account, account_stream(login)) for login in uow.index.logins()]
    return [
        AccountView(
            account_id=a.account_id,
            login=a.login,
            name=a.name,
            role=a.role,
            center_id=a.center_id,
            disabled=a.disabled,
            must_change_password=a.must_change_password,
            locked_until=a.locked_until if a.is_locked(now) else None,
        )
        for a in sorted(accounts, key=lambda a: a.login)
    ]


# --- tokens ----------------------------------------------------------------------------------


def issue_personal_token(store, login, days=None, now=None, actor=None):
    """A personal API token of an account (default `token_days`, 90), returned once; only its hash is kept."""
    login = (login or "").strip().lower()
    days = store.settings.token_days if days is None else int(days)
    if days < 1:
        raise AccountError("有效天数至少为 1", field="days")
    now = now or store.clock.now()
    token = new_token()
    token_hash = hash_secret(token)

    def once():
        with store.unit_of_work(actor) as uow:
            account = uow.load(Account, account_stream(login))
            if not account.exists:
                raise UnknownAccount()
            if account.disabled:
                raise AccountError("该账号已停用", field="login")
            issued = Token(token_stream(token_hash))
            issued.issue_personal(token_hash, token_prefix(token), account.identity(), now, days)
            uow.save(issued)

    decide_again(once)
    return token


def record_machine_token(store, token, role, center_id=None, now=None):
    """Records a machine token of CONTRACTS §2 (its hash and prefix), so it can be revoked by prefix."""
    token_hash = hash_secret(token)
    now = now or store.clock.now()

    def once():
        with store.unit_of_work() as uow:
            issued = uow.load(Token, token_stream(token_hash))
            if issued.kind is None:
                issued.issue_machine(token_hash, token_prefix(token), role, center_id, now)
                uow.save(issued)

    decide_again(once)


def revoke_tokens(store, prefix=None, login=None, now=None, actor=None):
    """Revokes the token whose prefix is `prefix` (a whole token works too), or every token of
    the account `login`. Returns the prefixes revoked. Raises `UnknownToken` when the prefix
    matches no token or more than one."""
    now = now or store.clock.now()
    if (prefix is None) == (login is None):
        raise AccountError("请指定令牌前缀或账号之一", field="token")

    def once():
        with store.unit_of_work(actor) as uow:
            if prefix is not None:
                hashes = uow.index.tokens_with_prefix(token_prefix(prefix.strip()))
                if not hashes:
                    raise UnknownToken()
                if len(hashes) > 1:
                    raise UnknownToken("该前缀对应多个令牌，请输入更长的前缀或完整令牌")
            else:
                account = uow.load(Account, account_stream(login.strip().lower()))
                if not account.exists:
                    raise UnknownAccount()
                hashes = uow.index.tokens_of_account(account.account_id)
            revoked = []
            for token_hash in hashes:
                token = uow.load(Token, token_stream(token_hash))
                if token.revoked:
                    continue
                token.revoke(token_hash, now)
                uow.save(token)
                revoked.append(token.prefix)
            return revoked

    return decide_again(once)


# --- plumbing --------------------------------------------------------------------------------


def _actor(identity):
    return {k: identity[k] for k in ("account_id", "login", "name", "role")}


def _person(identity, secret, must_change_password):
    return Person(**identity, bearer=secret, must_change_password=must_change_password)

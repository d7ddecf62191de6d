"""`tiaojie account ...` and the people's side of `tiaojie token ...` (CONTRACTS §7).

They append to the console's event store only; every service learns of the accounts,
tokens and revocations from `console.events`.

    tiaojie account add LOGIN --name NAME --role staff|head|district|admin [--center ID] [--password-stdin]
    tiaojie account disable LOGIN
    tiaojie token issue --account LOGIN [--days N]
    tiaojie token revoke TOKEN_PREFIX | --account LOGIN
"""

import contextlib
import sys

from services.common.clock import clock_from_config
from services.common.config import database_url, environment
from services.common.db import Database, ensure_database, migrate
from services.common.schema import COMMON_MIGRATIONS

from . import accounts
from .schema import MIGRATIONS

OPERATOR = {"token": "operator:cli"}


def add_arguments(parser):
    sub = parser.add_subparsers(dest="account_command", required=True)
    add = sub.add_parser("add", help="create an account; prints a one-time initial password as its last line")
    add.add_argument("login")
    add.add_argument("--name", required=True, help="the person's name, as shown in case histories")
    add.add_argument("--role", required=True, choices=accounts.ROLES)
    add.add_argument("--center", metavar="ID", help="the center of a staff or head account")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (not one-time)"
    )
    disable = sub.add_parser("disable", help="disable an account: its sessions and tokens get 401 everywhere")
    disable.add_argument("login")


def run(args):
    with account_store() as store:
        try:
            if args.account_command == "add":
                password = _read_password() if args.password_stdin else None
                initial = accounts.create_account(
                    store, args.login, args.name, args.role, args.center, password=password, actor=OPERATOR
                )
                print(f"account {args.login.strip().lower()} created ({args.role})")
                if not args.password_stdin:
                    print("one-time initial password (must be changed at the first login):")
                    print(initial)
            elif args.account_command == "disable":
                accounts.disable_account(store, args.login, actor=OPERATOR)
                print(f"account {args.login.strip().lower()} disabled")
        except accounts.AccountError as exc:
            print(f"{exc.field or 'error'}: {exc}", file=sys.stderr)
            return 2
    return 0


def issue_personal_token(login, days=None):
    with account_store() as store:
        try:
            token = accounts.issue_personal_token(store, login, days=days, actor=OPERATOR)
        except accounts.AccountError as exc:
            print(f"{exc.field or 'error'}: {exc}", file=sys.stderr)
            return 2
    print(f"personal token of {login} (shown once; only its hash is kept):")
    print(token)
    return 0


def revoke_tokens(prefix=None, login=None):
    with account_store() as store:
        try:
            revoked = accounts.revoke_tokens(store, prefix=prefix, login=login, actor=OPERATOR)
        except accounts.AccountError as exc:
            print(f"{exc.field or 'error'}: {exc}", file=sys.stderr)
            return 2
    print(f"revoked {len(revoked)} token(s)" + (f": {', '.join(revoked)}" if revoked else ""))
    return 0


def record_machine_token(token, role, center_id=None, env=None):
    with account_store(env) as store:
        accounts.record_machine_token(store, token, role, center_id)


@contextlib.contextmanager
def account_store(env=None):
    """The console's account store, its database migrated, on the services' clock."""
    env = environment(env)
    url = database_url("console", env)
    ensure_database(url)
    migrate(url, COMMON_MIGRATIONS + MIGRATIONS)
    database = Database(url, max_connections=1)
    try:
        yield accounts.PostgresAccountStore(database, clock_from_config({"CLOCK_FILE": env.get("TIAOJIE_CLOCK_FILE")}))
    finally:
        database.close()


def _read_password():
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise accounts.AccountError("no password on standard input", field="password")
    return password

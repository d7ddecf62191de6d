"""The operator's command line, `tiaojie` (CONTRACTS §6).

eventlet is monkey-patched before anything else is imported: the services, and the
clients the other subcommands use, run on green threads.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402

# Subcommands that live with the part of the system they belong to. Each module has
# `add_arguments(parser)` and `run(args) -> int`.
EXTENSION_COMMANDS = {
    "simulate": ("services.simulate.cli", "drive the real HTTP APIs with a district workload"),
    "court": ("services.arbitration_link.court", "reference arbitration-side client (plain AMQP)"),
    "replay": ("services.metrics.replay", "rebuild a projection from the event stores"),
    "status": ("services.status", "health, backlog, queue depths and reconciliation"),
    "privacy": ("services.intake.privacy_cli", "erase, export and seal personal data (docs/PRIVACY.md)"),
    "intake": ("services.intake.catch_up", "how mediations ended before intake consumed it (catch-up)"),
    "documents": (
        "services.documents.backfill",
        "the demo's documents (backfill); case files from the stores (catch-up)",
    ),
    "account": ("services.console.cli", "people's accounts: add, disable"),
}


def _parser():
    parser = argparse.ArgumentParser(prog="tiaojie", description="tiaojie (调解) operator CLI")
    sub = parser.add_subparsers(dest="command", required=True)

    setup = sub.add_parser("setup", help="create databases, apply migrations, declare broker topology and users")
    setup.add_argument("--skip-broker", action="store_true", help="only the databases")

    serve = sub.add_parser("serve", help="run services in the foreground until SIGTERM")
    serve.add_argument(
        "services", nargs="+", metavar="SERVICE", help="intake, mediation, arbitration_link, metrics or all"
    )

    token = sub.add_parser("token", help="staff tokens: machine tokens and people's personal tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    issue = token_sub.add_parser("issue", help="print a new token as the last line (only its hash is stored)")
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--center", metavar="CENTER_ID")
    who.add_argument("--district", action="store_true")
    who.add_argument("--admin", action="store_true")
    who.add_argument("--account", metavar="LOGIN", help="a personal token of this account")
    issue.add_argument("--days", type=int, help="a personal token's validity in days (default 90)")
    revoke = token_sub.add_parser("revoke", help="revoke a token, personal or machine, in every service")
    what = revoke.add_mutually_exclusive_group(required=True)
    what.add_argument("prefix", nargs="?", metavar="TOKEN_PREFIX", help="the token's first characters after tj_")
    what.add_argument("--account", metavar="LOGIN", help="every personal token of this account")

    for name, (module, help_text) in EXTENSION_COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        try:
            importlib.import_module(module).add_arguments(sub_parser)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                sub_parser.set_defaults(unavailable=module)
            else:
                raise
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "setup":
        from services.operations import setup

        return setup(skip_broker=args.skip_broker)
    if args.command == "serve":
        from services.runner import serve

        return serve(args.services)
    if args.command == "token":
        return _token(args)
    if getattr(args, "unavailable", None):
        print(f"tiaojie {args.command}: not installed ({args.unavailable})", file=sys.stderr)
        return 2
    return importlib.import_module(EXTENSION_COMMANDS[args.command][0]).run(args)


def _token(args):
    from services.console import cli as accounts_cli

    if args.token_command == "revoke":
        return accounts_cli.revoke_tokens(prefix=args.prefix, login=args.account)
    if args.account:
        return accounts_cli.issue_personal_token(args.account, days=args.days)
    if args.days is not None:
        print("--days applies to personal tokens (--account) only", file=sys.stderr)
        return 2
    from services.operations import issue_token

    return issue_token(center=args.center, district=args.district, admin=args.admin)


if __name__ == "__main__":
    sys.exit(main())

"""`camelops user login`: a portal login (argon2id password hash) with a role in an org.

The password comes from stdin (one line) or, at a terminal, from a hidden prompt; never from
argv, which other users can read in `ps`. Running it again for the same user sets a new role
and password and ends that user's sessions.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from camelops.cli_support import EXIT_ERROR, EXIT_OK, Subparsers
from reconciler.server import load_kek
from reconciler.service.accounts import AccountError, PortalAccounts
from reconciler.store import StateStore, StoreError
from reconciler.store.records import Role


def register(subparsers: Subparsers) -> None:
    """Adds `user login` to the `user` group `camelops.commands.accounts` creates."""
    user = subparsers.choices["user"]
    actions = next(a for a in user._actions if isinstance(a, argparse._SubParsersAction))
    login = actions.add_parser(
        "login",
        help="create or update a user who logs in to the portal (password from stdin)",
        description="Reads the password (12+ characters) from stdin, or prompts at a terminal. "
        "Roles: viewer (read), operator (sync, pin, replay), admin.",
    )
    login.add_argument("--data-dir", type=Path, default=Path(".camelops"), help="state directory")
    login.add_argument("--org", default="default", help="organisation (default: default)")
    login.add_argument("--name", required=True, help="login name (unique across orgs)")
    login.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    login.set_defaults(func=run_create)


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise AccountError("the two passwords differ")
        return first
    return sys.stdin.readline().removesuffix("\n")


def run_create(args: argparse.Namespace) -> int:
    try:
        if not (args.data_dir / "state.db").exists():
            raise AccountError(f"no state database in {args.data_dir}: run `camelops serve` first")
        password = _password()
        store = StateStore(args.data_dir / "state.db", load_kek(args.data_dir))
        try:
            PortalAccounts(store).create_user(args.org, args.name, Role(args.role), password)
        finally:
            store.close()
    except (AccountError, StoreError, OSError, ValueError) as exc:
        print(f"camelops user login: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"user {args.name} ({args.role}) in org {args.org} can log in to the portal")
    return EXIT_OK

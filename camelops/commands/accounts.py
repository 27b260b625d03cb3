"""`camelops org create`, `camelops user create`, and API tokens for users:
`camelops token create --user`, `token list --user`, `token revoke --user --name`.

They open the control plane's state database in `--data-dir` (`serve` may be running: SQLite
serialises the writers). Tokens are printed once; only their hashes are kept.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from camelops.cli_support import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Subparsers, owner_only_files

if TYPE_CHECKING:  # the store is imported when a command runs, not to build the parser
    from reconciler.store import StateStore

DEFAULT_USER_TTL = timedelta(days=30)
ROLES = ("viewer", "operator", "admin")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class AccountError(Exception):
    """Bad input (exit 1): the message says what to fix."""


def _open(data_dir: Path) -> StateStore:
    from reconciler.server import load_kek  # noqa: PLC0415
    from reconciler.store import StateStore  # noqa: PLC0415

    if not (data_dir / "state.db").exists():
        raise FileNotFoundError(f"{data_dir}: no control-plane state here (run `camelops serve`)")
    return StateStore(data_dir / "state.db", load_kek(data_dir))


def _run(label: str, work: Callable[[StateStore, argparse.Namespace], str]) -> Callable[..., int]:
    def run(args: argparse.Namespace) -> int:
        from reconciler.store import StoreError  # noqa: PLC0415
        from reconciler.store.accounts import AccountExists  # noqa: PLC0415

        owner_only_files()
        # `--data-dir`, else the settings' default ($CAMELOPS_DATA_DIR)
        data_dir: Path = args.data_dir or args.settings.runner.data_dir
        try:
            store = _open(data_dir)
        except (OSError, StoreError, ValueError) as exc:
            print(f"camelops {label}: {exc}", file=sys.stderr)
            return EXIT_ERROR
        try:
            print(work(store, args))
        except (AccountError, AccountExists) as exc:
            print(f"camelops {label}: {exc}", file=sys.stderr)
            return EXIT_INVALID
        finally:
            store.close()
        return EXIT_OK

    return run


def _name(value: str) -> str:
    if not (_LABEL.fullmatch(value) and len(value) <= 63):
        raise argparse.ArgumentTypeError("a DNS label: lower-case letters, digits and '-'")
    return value


def _org(store: StateStore, name: str) -> int:
    org = store.accounts.org_id(name)
    if org is None:
        raise AccountError(f"no org {name} (create it with `camelops org create {name}`)")
    return org


def _user(store: StateStore, args: argparse.Namespace) -> int:
    user = store.accounts.user_id(_org(store, args.org), args.user)
    if user is None:
        raise AccountError(f"no user {args.user} in org {args.org}")
    return user


def create_org(store: StateStore, args: argparse.Namespace) -> str:
    store.accounts.create_org(args.name)
    return f"org {args.name} created"


def create_user(store: StateStore, args: argparse.Namespace) -> str:
    from reconciler.store.records import Role  # noqa: PLC0415

    store.accounts.create_user(_org(store, args.org), args.name, Role(args.role))
    return f"user {args.name} ({args.role}) created in org {args.org}"


def create_user_token(store: StateStore, args: argparse.Namespace) -> str:
    ttl = args.ttl or DEFAULT_USER_TTL
    token = store.accounts.issue_token(_user(store, args), args.name, ttl.total_seconds())
    print(f"API token {args.name} of {args.org}/{args.user}, valid for {ttl}", file=sys.stderr)
    return token


def list_tokens(store: StateStore, args: argparse.Namespace) -> str:
    return json.dumps(store.accounts.tokens(_user(store, args)), indent=2)


def revoke_tokens(store: StateStore, args: argparse.Namespace) -> str:
    revoked = store.accounts.revoke_named(_user(store, args), args.name)
    if revoked == 0:
        raise AccountError(f"{args.org}/{args.user} has no live token named {args.name}")
    return f"{revoked} token(s) revoked"


run_create_user_token = _run("token create", create_user_token)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the control plane's (default: $CAMELOPS_DATA_DIR, else .camelops)",
    )


def register(subparsers: Subparsers) -> None:
    org = subparsers.add_parser("org", help="organisations (tenants) of the control plane")
    org_actions = org.add_subparsers(dest="org_command", metavar="ACTION", required=True)
    create = org_actions.add_parser("create", help="a new org (its names are its own)")
    create.add_argument("name", type=_name)
    _common(create)
    create.set_defaults(func=_run("org create", create_org))

    user = subparsers.add_parser("user", help="users of an org: API users and portal logins")
    user_actions = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    create = user_actions.add_parser("create", help="a new user with a role in an org")
    create.add_argument("name", type=_name)
    create.add_argument("--org", required=True, type=_name)
    create.add_argument("--role", required=True, choices=ROLES)
    _common(create)
    create.set_defaults(func=_run("user create", create_user))


def add_user_token_actions(token_actions: Subparsers) -> None:
    """`token list` and `token revoke` (API tokens of users), joining the `token` group."""
    for action, helptext, work in (
        ("list", "a user's API tokens: names, dates, never the tokens", list_tokens),
        ("revoke", "revoke a user's API tokens of one name", revoke_tokens),
    ):
        parser = token_actions.add_parser(action, help=helptext)
        parser.add_argument("--user", required=True, type=_name)
        parser.add_argument("--org", default="default", type=_name)
        if action == "revoke":
            parser.add_argument("--name", required=True)
        _common(parser)
        parser.set_defaults(func=_run(f"token {action}", work))

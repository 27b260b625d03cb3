"""`camelops token create` (control plane) and `camelops runner register` (runner side)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

from tunnel.pki.ca import CaError
from tunnel.pki.identity import IdentityError, RunnerIdentity
from tunnel.pki.service import ControlPlanePki
from tunnel.pki.store import SqlitePkiStore
from tunnel.pki.tokens import TokenError
from tunnel.registration import RegistrationError, register_runner

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2
PASSPHRASE_ENV = "CAMELOPS_CA_PASSPHRASE"  # noqa: S105 (the variable name, not a secret)
DEFAULT_DATA_DIR = Path(os.environ.get("CAMELOPS_DATA_DIR", ".camelops"))


def pki_dir(data_dir: Path) -> Path:
    return data_dir / "pki"


def open_pki(data_dir: Path, org: str) -> ControlPlanePki:
    """The control plane's PKI under `<data-dir>/pki` (CA created on first use)."""
    passphrase = os.environ.get(PASSPHRASE_ENV, "")
    if not passphrase:
        raise CaError(f"set {PASSPHRASE_ENV}: it encrypts the CA key at rest")
    directory = pki_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = SqlitePkiStore(directory / "pki.sqlite")
    return ControlPlanePki.open_or_create(directory, passphrase.encode(), org, store)


def _parse_ttl(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        value, unit = int(text[:-1]), units[text[-1]]
    except (ValueError, KeyError, IndexError) as exc:
        raise argparse.ArgumentTypeError("use a number and a unit: 30m, 24h, 7d") from exc
    if value <= 0 or value * unit > 30 * 86400:
        raise argparse.ArgumentTypeError("between 1s and 30d")
    return timedelta(seconds=value * unit)


def token_create(args: argparse.Namespace) -> int:
    try:
        identity = RunnerIdentity(args.org, args.runner)
        pki = open_pki(args.data_dir, args.org)
    except (IdentityError, CaError, OSError) as exc:
        print(f"camelops token create: {exc}", file=sys.stderr)
        return EXIT_INVALID if isinstance(exc, IdentityError) else EXIT_ERROR
    token = pki.create_token(identity, args.ttl)
    print(token)
    print(f"single use, valid for {args.ttl}, binds runner {identity}", file=sys.stderr)
    return EXIT_OK


def runner_register(args: argparse.Namespace) -> int:
    try:
        identity = asyncio.run(register_runner(args.server, args.token, args.data_dir))
    except (TokenError, RegistrationError) as exc:
        print(f"camelops runner register: {exc}", file=sys.stderr)
        refused = isinstance(exc, TokenError) or "HTTP 403" in str(exc) or "fingerprint" in str(exc)
        return EXIT_INVALID if refused else EXIT_ERROR
    print(f"registered as {identity.uri}; credentials in {args.data_dir / 'tunnel'}")
    return EXIT_OK


def add_runner_register(
    runner_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """`runner register`: separate so the `camelops runner` daemon parser can adopt it."""
    register = runner_commands.add_parser(
        "register", help="trade a one-time token for a certificate"
    )
    register.add_argument("--server", required=True, help="control-plane HTTPS URL")
    register.add_argument("--token", required=True, help="from `camelops token create`")
    register.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    register.set_defaults(func=runner_register)


def _runner_daemon_missing(_: argparse.Namespace) -> int:
    print("camelops runner: the runner daemon is not wired in this build", file=sys.stderr)
    return EXIT_ERROR


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = subparsers.add_parser("token", help="registration tokens for runners")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_commands.add_parser("create", help="a one-time token binding org + runner name")
    create.add_argument("--runner", required=True, help="runner name (DNS label)")
    create.add_argument("--org", default="default", help="organisation (DNS label)")
    create.add_argument("--ttl", type=_parse_ttl, default=timedelta(hours=24), help="e.g. 30m, 24h")
    create.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    create.set_defaults(func=token_create)

    runner = subparsers.add_parser("runner", help="the runner: register (daemon wired by serve)")
    runner.set_defaults(func=_runner_daemon_missing)
    runner_commands = runner.add_subparsers(dest="runner_command", metavar="ACTION")
    add_runner_register(runner_commands)

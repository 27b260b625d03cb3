"""`camelops token create` (control plane), `camelops runner register` and the `camelops runner`
daemon (runner side; composed in `camelops.wiring`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path

from camelops.cli_support import Subparsers, owner_only_files
from camelops.client.tls import (
    ClientTlsError,
    add_ca_file_option,
    chosen_ca_file,
    explain_tls_failure,
    read_ca_file,
)
from camelops.commands.accounts import add_user_token_actions, run_create_user_token
from camelops.logs import setup_logging
from camelops.settings import Settings
from camelops.wiring.pki import close_pki, open_pki
from schema.model_rules import parse_duration
from tunnel.pki.ca import CaError
from tunnel.pki.identity import IdentityError, RunnerIdentity
from tunnel.pki.tokens import TokenError
from tunnel.registration import RegistrationError, RunnerFiles, register_runner

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2
DATA_DIR_HELP = "state directory (default: $CAMELOPS_DATA_DIR, else .camelops)"
log = logging.getLogger("camelops.runner")


def _parse_ttl(text: str) -> timedelta:
    try:
        ttl = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a number and a unit: 30m, 24h, 7d") from exc
    if not timedelta(seconds=1) <= ttl <= timedelta(days=30):
        raise argparse.ArgumentTypeError("between 1s and 30d")
    return ttl


def data_dir_of(args: argparse.Namespace) -> Path:
    """`--data-dir`, else the settings' default (`$CAMELOPS_DATA_DIR`)."""
    settings: Settings = args.settings
    chosen: Path | None = args.data_dir
    return chosen if chosen is not None else settings.runner.data_dir


def token_create(args: argparse.Namespace) -> int:
    if args.user is not None:  # an API token for a user, not a runner registration token
        return run_create_user_token(args)
    owner_only_files()  # it writes into the control plane's data dir
    args.ttl = args.ttl or timedelta(hours=24)
    try:
        identity = RunnerIdentity(args.org, args.runner)
        pki = open_pki(data_dir_of(args), args.org, args.settings.secrets.ca_passphrase)
    except (IdentityError, CaError, OSError) as exc:
        print(f"camelops token create: {exc}", file=sys.stderr)
        return EXIT_INVALID if isinstance(exc, IdentityError) else EXIT_ERROR
    try:
        token = pki.create_token(identity, args.ttl)
    finally:
        close_pki(pki)
    print(token)
    print(f"single use, valid for {args.ttl}, binds runner {identity}", file=sys.stderr)
    return EXIT_OK


def runner_register(args: argparse.Namespace) -> int:
    owner_only_files()
    ca_file = chosen_ca_file(args)
    try:
        trusted = read_ca_file(ca_file) if ca_file is not None else None
        data_dir = data_dir_of(args)
        identity = asyncio.run(register_runner(args.server, args.token, data_dir, trusted))
    except ClientTlsError as exc:
        print(f"camelops runner register: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (TokenError, RegistrationError) as exc:
        hint = explain_tls_failure(exc, ca_file)
        print(f"camelops runner register: {hint or exc}", file=sys.stderr)
        refused = isinstance(exc, TokenError) or "HTTP 403" in str(exc) or "fingerprint" in str(exc)
        return EXIT_INVALID if refused else EXIT_ERROR
    print(f"registered as {identity.uri}; credentials in {data_dir / 'tunnel'}")
    return EXIT_OK


def add_runner_register(
    runner_commands: Subparsers,
) -> None:
    """`runner register`: separate so the `camelops runner` daemon parser can adopt it."""
    register = runner_commands.add_parser(
        "register", help="trade a one-time token for a certificate"
    )
    register.add_argument("--server", required=True, help="control-plane HTTPS URL")
    register.add_argument("--token", required=True, help="from `camelops token create`")
    register.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    add_ca_file_option(register)
    register.set_defaults(func=runner_register)


def runner_daemon(args: argparse.Namespace) -> int:
    """Bare `camelops runner`: the daemon (tunnel client + sync daemon, kubernetes driver)."""
    data_dir = data_dir_of(args)
    if not RunnerFiles.in_data_dir(data_dir).cert.exists():
        print(
            f"camelops runner: no credentials in {data_dir}; run `camelops runner register "
            f"--server URL --token TOKEN --data-dir {data_dir}` first",
            file=sys.stderr,
        )
        return EXIT_ERROR
    owner_only_files()
    setup_logging(args.settings.log)
    namespace = args.inventory_namespace or args.settings.runner.inventory_namespace
    # imported here: the kubernetes client is slow to import and only the daemon needs it
    from runner.daemon import SidecarPaths  # noqa: PLC0415
    from runner.driver import DriverError  # noqa: PLC0415

    try:
        paths = SidecarPaths(
            relay=args.relay,
            sidecars=tuple(args.sidecar),
            token=args.settings.secrets.sidecar_token,
        )
        if args.driver == "local":
            from camelops.wiring.local_runner import run_local_runner  # noqa: PLC0415

            asyncio.run(
                run_local_runner(
                    data_dir,
                    args.camel_home or args.settings.runner.camel_home,
                    paths,
                    stop_processes=args.stop_processes,
                    settings=args.settings.runner,
                )
            )
        else:
            from camelops.wiring.kube_runner import run_kubernetes_runner  # noqa: PLC0415

            asyncio.run(
                run_kubernetes_runner(
                    data_dir, args.kubeconfig, namespace, paths, args.settings.runner
                )
            )
    except (OSError, ValueError, DriverError) as exc:
        log.error("runner stopped: %s", exc)
        return EXIT_ERROR
    return EXIT_OK


def _host_port(text: str) -> tuple[str, int] | None:
    if text == "off":
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT or 'off', found {text!r}")
    return host, int(port)


def _sidecar(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not name or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(
            f"expected [ENV/]INTEGRATION=http(s)://host:port, found {text!r}"
        )
    return name, url


def register(subparsers: Subparsers) -> None:
    token = subparsers.add_parser("token", help="runner registration tokens, users' API tokens")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_commands.add_parser(
        "create",
        help="--runner: a one-time token binding org + runner name; --user: an API token",
    )
    whom = create.add_mutually_exclusive_group(required=True)
    whom.add_argument("--runner", help="runner name (DNS label)")
    whom.add_argument("--user", help="user name: an API token of that user (printed once)")
    create.add_argument("--org", default="default", help="organisation (DNS label)")
    create.add_argument("--name", default="cli", help="the API token's name (--user only)")
    create.add_argument(
        "--ttl", type=_parse_ttl, help="e.g. 30m, 24h (default 24h; 30d for API tokens)"
    )
    create.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    create.set_defaults(func=token_create)
    add_user_token_actions(token_commands)

    runner = subparsers.add_parser(
        "runner",
        help="the runner daemon (without ACTION), or register / manifests",
        description="Without ACTION: run the daemon: dial the control plane over the mTLS tunnel "
        "(credentials from `camelops runner register`), apply each environment's bundle to the "
        "cluster and report status. Stops cleanly on SIGTERM.",
    )
    runner.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    runner.add_argument(
        "--driver",
        choices=("kubernetes", "local"),
        default="kubernetes",
        help="where integrations run: a cluster, or supervised processes on this host",
    )
    runner.add_argument(
        "--camel-home",
        type=Path,
        help="local driver: the Camel Main runtime (lib/*.jar, jolokia-agent.jar); default "
        "CAMELOPS_CAMEL_HOME or .cache/camel-app",
    )
    runner.add_argument(
        "--stop-processes",
        action="store_true",
        help="local driver: stop the integrations' processes when the runner stops (default: "
        "they keep running and the next runner adopts them)",
    )
    runner.add_argument(
        "--kubeconfig", type=Path, help="default: in-cluster ServiceAccount credentials"
    )
    runner.add_argument(
        "--inventory-namespace",
        help="where inventory ConfigMaps live (the runner's own namespace; default: "
        "$CAMELOPS_RUNNER_NAMESPACE, else camelops-system)",
    )
    runner.add_argument(
        "--relay",
        type=_host_port,
        default=("127.0.0.1", 8790),
        metavar="HOST:PORT",
        help="where sidecars post telemetry (default 127.0.0.1:8790; 'off' to disable)",
    )
    runner.add_argument(
        "--sidecar",
        action="append",
        default=[],
        type=_sidecar,
        metavar="[ENV/]INTEGRATION=URL",
        help="an integration's sidecar replay API, e.g. orders-api=http://10.0.0.7:9464 (repeat)",
    )
    runner.set_defaults(func=runner_daemon)
    runner_commands = runner.add_subparsers(dest="runner_command", metavar="ACTION")
    add_runner_register(runner_commands)

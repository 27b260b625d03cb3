"""`camelops serve`: the control plane (JSON API, webhook receiver, reconciler, scheduler, and
the mTLS tunnel server runners dial; composed in `camelops.wiring.control_plane`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from aiohttp import web

from camelops.cli_support import EXIT_ERROR, EXIT_OK, Subparsers, owner_only_files
from camelops.logs import setup_logging
from camelops.settings import Settings
from camelops.signals import stop_requested
from camelops.wiring.control_plane import TunnelOptions, build_wired_plane
from camelops.wiring.pki import ca_certificate_file
from reconciler.notify import WebhookNotifier
from reconciler.server import bootstrap_admin
from reconciler.store import StoreError
from tunnel.pki.ca import CaError

log = logging.getLogger("camelops.serve")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the control plane: API, webhook receiver, reconciler and scheduler",
        description="Serve /api/v1 (OpenAPI at /api/v1/openapi.json), /metrics and the Git "
        "webhook receiver; reconcile every registered project; run the mTLS tunnel server "
        "runners dial and the runner registration routes (/v1/tunnel/ca, /v1/tunnel/register). "
        "On first start an admin token is written to <data-dir>/admin-token (mode 0600). The "
        "CA key is encrypted with $CAMELOPS_CA_PASSPHRASE, or with a passphrase generated into "
        "<data-dir>/ca-passphrase (0600) when that is unset.",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".camelops"), help="state directory")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="listen port (default 8080)")
    parser.add_argument(
        "--tunnel-port",
        type=int,
        default=8443,
        help="mTLS tunnel port on --host (default 8443; 0 = no tunnel, bundles stay in memory)",
    )
    parser.add_argument(
        "--public-host",
        help="the name runners dial (server certificate and tunnel URL); default: --host, or "
        "localhost when --host is a wildcard",
    )
    parser.add_argument(
        "--api-tls",
        action="store_true",
        help="serve the API over HTTPS with a certificate from the control-plane CA (what "
        "`camelops runner register` verifies against)",
    )
    parser.add_argument(
        "--notify-url",
        help="POST commit-status and preview events here (signed with $CAMELOPS_NOTIFY_SECRET)",
    )
    parser.add_argument(
        "--telemetry-dsn",
        help="telemetry store: chdb://<dir> (default: embedded chDB under the data dir), "
        "http(s)://user:password@clickhouse:8123/db, or 'none' to not ingest telemetry",
    )
    parser.add_argument(
        "--local-runner",
        action="append",
        default=[],
        metavar="RUNNER",
        help="a runner on the local driver (repeat): environments it serves are rendered as "
        "CamelProcess objects for single-host processes instead of Kubernetes objects",
    )
    parser.add_argument(
        "--local-port-base",
        type=int,
        help="first stable port of the local runners' exposed integrations (default 18080)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    owner_only_files()
    setup_logging(args.settings.log)
    try:
        return asyncio.run(_serve(args))
    except (StoreError, CaError, ValueError, OSError) as exc:
        log.error("cannot serve: %s", exc)
        return EXIT_ERROR


async def _serve(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    notifier = None
    if args.notify_url:
        notifier = WebhookNotifier(args.notify_url, settings.secrets.notify_secret)
    telemetry_dsn = args.telemetry_dsn or f"chdb://{args.data_dir.resolve()}/telemetry"
    wired = build_wired_plane(
        args.data_dir,
        _tunnel_options(args),
        settings=settings,
        api_tls=args.api_tls,
        notifier=notifier,
        telemetry_dsn=None if args.telemetry_dsn == "none" else telemetry_dsn,
        local_runners=frozenset(args.local_runner),
        local_port_base=args.local_port_base,
    )
    plane = wired.plane
    token_file = await asyncio.to_thread(bootstrap_admin, plane.store, args.data_dir)
    if token_file is not None:
        log.info("first start: admin API token written to %s", token_file)
    runner = web.AppRunner(plane.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, ssl_context=wired.api_ssl)
    await site.start()
    scheme = "https" if wired.api_ssl is not None else "http"
    log.info("control plane listening on %s://%s:%s", scheme, args.host, args.port)
    if wired.api_ssl is not None:
        # our own CA signs the API's certificate: no client trusts it until told where it is
        log.info(
            "API certificate signed by the CA in %s: pass it to clients as --ca-file (or "
            "CAMELOPS_CA_FILE), to curl as --cacert",
            ca_certificate_file(args.data_dir).resolve(),
        )
    stop = stop_requested()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return EXIT_OK


def _tunnel_options(args: argparse.Namespace) -> TunnelOptions:
    wildcard = args.host in ("0.0.0.0", "::", "")  # noqa: S104 (recognising, not binding)
    public = args.public_host or ("localhost" if wildcard else args.host)
    if not 0 <= args.tunnel_port <= 65535:
        raise ValueError("--tunnel-port must be between 0 and 65535")
    return TunnelOptions(host=args.host, port=args.tunnel_port, public_host=public)

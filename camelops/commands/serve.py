"""`camelops serve`: the control plane (JSON API, webhook receiver, reconciler, scheduler)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from camelops.cli_support import EXIT_ERROR, EXIT_OK, Subparsers
from reconciler.notify import WebhookNotifier
from reconciler.server import bootstrap_admin, build_control_plane
from reconciler.store import StoreError

log = logging.getLogger("camelops.serve")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the control plane: API, webhook receiver, reconciler and scheduler",
        description="Serve /api/v1 (OpenAPI at /api/v1/openapi.json), /metrics and the Git "
        "webhook receiver; reconcile every registered project. On first start an admin token "
        "is written to <data-dir>/admin-token (mode 0600).",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".camelops"), help="state directory")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="listen port (default 8080)")
    parser.add_argument(
        "--notify-url",
        help="POST commit-status and preview events here (signed with $CAMELOPS_NOTIFY_SECRET)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return asyncio.run(_serve(args))
    except (StoreError, ValueError, OSError) as exc:
        log.error("cannot serve: %s", exc)
        return EXIT_ERROR


async def _serve(args: argparse.Namespace) -> int:
    notifier = None
    if args.notify_url:
        secret = os.environ.get("CAMELOPS_NOTIFY_SECRET", "").encode()
        notifier = WebhookNotifier(args.notify_url, secret)
    plane = build_control_plane(args.data_dir, notifier=notifier)
    token_file = await asyncio.to_thread(bootstrap_admin, plane.store, args.data_dir)
    if token_file is not None:
        log.info("first start: admin API token written to %s", token_file)
    runner = web.AppRunner(plane.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    log.info("control plane listening on http://%s:%s", args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return EXIT_OK

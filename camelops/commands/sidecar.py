"""`camelops sidecar`: run next to one Camel JVM (trace capture, redaction, replay API)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import sys
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from camelops.cli_support import EXIT_ERROR, EXIT_OK, Subparsers
from camelops.logs import setup_logging
from camelops.signals import stop_requested
from telemetry.sidecar.api import sidecar_api
from telemetry.sidecar.redact import RedactionRuleError, Redactor
from telemetry.sidecar.service import ShipError, Sidecar
from telemetry.sidecar.settings import SidecarSettings

log = logging.getLogger(__name__)
STOP_GRACE = 1.0
"""Seconds an API call under way at SIGTERM (a replay, a handover) may take to finish."""
LAST_SHIP_TIMEOUT = 1.0
"""Seconds the last attempt to ship what the ring still holds may take at SIGTERM."""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "sidecar",
        help="capture Camel exchange traces through Jolokia and serve replays",
        description="Runs in the Camel pod: owns the BacklogTracer over Jolokia (loopback), "
        "samples and redacts exchanges, ships them to the runner relay, and replays held "
        "originals on the runner's request.",
    )
    parser.add_argument("--integration", required=True)
    parser.add_argument("--environment", default="")
    parser.add_argument("--pod", default="")
    parser.add_argument("--jolokia-url", default="http://127.0.0.1:8778/jolokia/")
    parser.add_argument("--relay-url", default="http://127.0.0.1:8790/v1/telemetry")
    parser.add_argument("--listen-port", type=int, default=8791, help="replay/status API port")
    parser.add_argument(
        "--listen-host",
        default="127.0.0.1",
        help="address of the replay/status API; any address but loopback requires "
        "$CAMELOPS_SIDECAR_TOKEN, which every caller must then send",
    )
    parser.add_argument("--sample-rate", type=_rate, default=1.0)
    parser.add_argument("--body-max-chars", type=int, default=4096)
    parser.add_argument("--redact-pattern", action="append", default=[], metavar="REGEX")
    parser.add_argument("--redact-header", action="append", default=[], metavar="NAME")
    parser.add_argument("--replay-endpoint", default="", help="e.g. direct:orders")
    parser.add_argument("--replay-ttl-seconds", type=float, default=900.0)
    parser.add_argument(
        "--failure-rate-threshold",
        type=_rate,
        default=0.5,
        help="Camel-aware health: a route failing more than this share (0..1) of its "
        "exchanges within the window makes the environment Degraded (1: off)",
    )
    parser.add_argument(
        "--failure-min-exchanges",
        type=_positive_int,
        default=10,
        help="exchanges a route needs within the window before its failure rate is judged",
    )
    parser.add_argument("--failure-window-seconds", type=_positive_float, default=300.0)
    parser.set_defaults(func=run)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share within 0..1, found {value}")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, found {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if not 0.0 < value <= 86_400.0:
        raise argparse.ArgumentTypeError(f"expected 0 < seconds <= 86400, found {value}")
    return value


def settings_from(args: argparse.Namespace) -> SidecarSettings:
    return SidecarSettings(
        integration=args.integration,
        environment=args.environment,
        pod=args.pod,
        jolokia_url=args.jolokia_url,
        sample_rate=args.sample_rate,
        body_max_chars=args.body_max_chars,
        redaction_patterns=tuple(args.redact_pattern),
        redaction_headers=tuple(args.redact_header),
        replay_endpoint=args.replay_endpoint,
        replay_ttl_seconds=args.replay_ttl_seconds,
        failure_rate_threshold=args.failure_rate_threshold,
        failure_min_exchanges=args.failure_min_exchanges,
        failure_window_seconds=args.failure_window_seconds,
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        Redactor.from_rules(settings.redaction_patterns, settings.redaction_headers)
    except RedactionRuleError as exc:
        print(f"camelops sidecar: {exc}", file=sys.stderr)
        return EXIT_ERROR
    setup_logging(args.settings.log)
    listen = Listen(args.listen_host, args.listen_port, args.settings.secrets.sidecar_token)
    # the handover token comes from the environment: a command line is readable by anyone
    handover = args.settings.secrets.handover_token
    asyncio.run(serve(settings, args.relay_url, listen.checked(), handover_token=handover))
    return EXIT_OK


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int
    token: str = field(default="", repr=False)

    def checked(self) -> Listen:
        """Replays carry original, unredacted messages: an address other than loopback only
        with a token. Without one the API stays on loopback (capture and shipping go on, the
        runner's replays fail as unreachable): a pod without the Secret still runs."""
        if self.token or _loopback(self.host):
            return self
        log.error(
            "no $CAMELOPS_SIDECAR_TOKEN: the replay API listens on 127.0.0.1, not %s; the "
            "runner cannot reach it (create the camelops-sidecar Secret)",
            self.host,
        )
        return Listen("127.0.0.1", self.port)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def serve(
    settings: SidecarSettings, relay_url: str, listen: Listen, *, handover_token: str = ""
) -> None:
    stop = stop_requested()
    async with aiohttp.ClientSession() as session:
        sidecar = Sidecar(settings, session, relay_url=relay_url)
        runner = web.AppRunner(
            sidecar_api(sidecar, token=listen.token, handover_token=handover_token),
            shutdown_timeout=STOP_GRACE,  # the default waits a minute for calls under way
        )
        await runner.setup()
        await web.TCPSite(runner, listen.host, listen.port).start()
        log.info(
            "sidecar for %s listening on %s:%d (%s)",
            settings.integration, listen.host, listen.port,
            "runner token required" if listen.token else "loopback, no token",
        )  # fmt: skip
        try:
            await capture_until(stop, sidecar)
        finally:
            await runner.cleanup()
    log.info("sidecar for %s stopped", settings.integration)


async def capture_until(stop: asyncio.Event, sidecar: Sidecar) -> None:
    """Capture and ship until ``stop``; then the round under way is abandoned, not awaited: a
    stalled JVM or relay would hold the exit for their timeouts (5 s per Jolokia read, 10 s
    per post), and a rollout waits for this process. What the ring still holds (a post cut
    short is not acknowledged, so it is still there) gets one short last attempt."""
    capture = asyncio.create_task(sidecar.run(stop), name="sidecar-capture")
    stopped = asyncio.create_task(stop.wait(), name="sidecar-stop")
    await asyncio.wait({capture, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    capture.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await capture  # a crash of the capture loop is raised here
    held = len(sidecar.capture.ring)
    if not held:
        return
    try:
        async with asyncio.timeout(LAST_SHIP_TIMEOUT):
            await sidecar.ship_once()
    except (ShipError, TimeoutError) as exc:
        log.warning("stopping: %d exchanges not shipped: %r", held, exc)

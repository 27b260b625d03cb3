"""`camelops serve` with the tunnel: the CA and PKI store under the data dir, the mTLS tunnel
server, registration on the API app, and the reconciler dispatching through the tunnel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from camelops.settings import Settings
from camelops.wiring.pki import close_pki, open_pki, server_certificate
from camelops.wiring.portal_mount import PkiRunnerCredentials, mount_portal
from reconciler.api.app import add_metrics
from reconciler.api.auth import allow_public
from reconciler.api.console import install_console
from reconciler.api.exchanges import install_exchanges
from reconciler.api.replays import install_replays
from reconciler.dispatch import Dispatcher
from reconciler.git import GitCredentials
from reconciler.notify import Notifier
from reconciler.replay_waiter import TunnelReplaySender
from reconciler.secrets.envelope import Envelope
from reconciler.server import ControlPlane, build_control_plane, load_kek
from reconciler.service.live_console import LiveConsole
from reconciler.sources import HostToken, policy_for
from reconciler.tunnel_callbacks import ReconcilerCallbacks, RefreshingDispatcher
from reconciler.tunnel_console import TunnelConsoleReader
from reconciler.tunnel_dispatch import TunnelDispatcher
from renderers.local import LocalOptions
from telemetry.intake import CamelVerdict, ControlPlaneTelemetry
from tunnel.pki.identity import RunnerIdentity
from tunnel.pki.service import ControlPlanePki
from tunnel.registration import CA_PATH, REGISTER_PATH, registration_routes
from tunnel.server import TUNNEL_PATH, ServerSettings, TunnelServer
from tunnel.tls import registration_server_context, tunnel_server_context

log = logging.getLogger(__name__)
Lifetime = Callable[[web.Application], AsyncIterator[None]]
"""An `app.cleanup_ctx` entry: starts a part before its `yield`, stops it after."""
DEFAULT_ORG = "default"  # the org `bootstrap_admin` creates; names the CA on first start


@dataclass(frozen=True, slots=True)
class TunnelOptions:
    host: str
    """Listen address of the tunnel (the API's --host)."""
    port: int
    """Tunnel port; 0 means no tunnel (bundles stay in the in-process sink)."""
    public_host: str
    """The name runners dial: in the server certificate and the tunnel URL they are given."""


@dataclass(frozen=True, slots=True)
class WiredPlane:
    plane: ControlPlane
    tunnel: TunnelServer | None
    callbacks: ReconcilerCallbacks | None
    """Where other paths (telemetry, replay) add their tunnel message handlers."""
    api_ssl: ssl.SSLContext | None
    """HTTPS for the API (server-auth only, certificate from our CA) when asked for."""


def build_wired_plane(
    data_dir: Path,
    options: TunnelOptions,
    *,
    settings: Settings,
    api_tls: bool,
    notifier: Notifier | None,
    telemetry_dsn: str | None = None,
    local_runners: frozenset[str] = frozenset(),
    local_port_base: int | None = None,
) -> WiredPlane:
    """Everything `camelops serve` runs; the tunnel starts and stops with `plane.app`."""
    local = LocalRunners(
        local_runners, None if local_port_base is None else LocalOptions(port_base=local_port_base)
    )
    secrets = settings.secrets
    if options.port == 0:
        plane = _control_plane(data_dir, settings, None, notifier, local)
        mount_portal(plane, traces=None, replays=None)
        api_ssl = _api_context(data_dir, options, secrets.ca_passphrase) if api_tls else None
        return WiredPlane(plane, None, None, api_ssl)
    pki = open_pki(data_dir, DEFAULT_ORG, secrets.ca_passphrase, generate_passphrase=True)
    cert, key = server_certificate(pki, data_dir, [options.host, options.public_host])
    callbacks = ReconcilerCallbacks()
    server_settings = ServerSettings(
        host=options.host,
        port=options.port,
        state_path=data_dir / "tunnel.sqlite",
        # bundles wait here with decrypted Secrets: sealed under the control plane's KEK
        sealer=Envelope(secrets.kek or load_kek(data_dir)),
    )
    server = TunnelServer(
        pki, callbacks, tunnel_server_context(cert, key, pki.ca.cert_pem), server_settings
    )
    dispatcher = RefreshingDispatcher(TunnelDispatcher(server), callbacks)
    callbacks.resend = dispatcher
    plane = _control_plane(data_dir, settings, dispatcher, notifier, local)
    callbacks.bind(plane.store)
    plane.app.add_routes(registration_routes(pki, tunnel_url(options)))
    allow_public(plane.app, CA_PATH, REGISTER_PATH)  # the one-time token is the credential
    add_metrics(plane.app, server.metrics.render)
    replays = _wire_replays(plane, server, callbacks)
    console = LiveConsole(plane.store, TunnelConsoleReader(server))  # API and portal: one audit
    install_console(plane.app, console)
    # the lifetimes, in start order (stopped in reverse): telemetry ingest is up before the
    # tunnel delivers batches, the tunnel before the controller (already last) dispatches
    lifetimes: list[Lifetime] = []
    telemetry = None
    if telemetry_dsn is not None:
        telemetry = _wire_telemetry(callbacks, telemetry_dsn)
        install_exchanges(plane.app, telemetry.store)  # the API reads what the portal reads
        lifetimes.append(telemetry.lifetime)
    lifetimes.append(_tunnel_lifetime(server, pki, callbacks))
    for position, lifetime in enumerate(lifetimes):
        plane.app.cleanup_ctx.insert(position, lifetime)
    mount_portal(
        plane,
        traces=telemetry.store if telemetry else None,
        replays=replays,
        credentials=PkiRunnerCredentials(pki),
        console=console,
    )
    api_ssl = registration_server_context(cert, key) if api_tls else None
    return WiredPlane(plane, server, callbacks, api_ssl)


def _control_plane(
    data_dir: Path,
    settings: Settings,
    dispatcher: Dispatcher | None,
    notifier: Notifier | None,
    local: LocalRunners,
) -> ControlPlane:
    git = settings.git
    public_key = Path(f"{git.ssh_private_key}.pub") if git.ssh_private_key else None
    if git.https_token and not git.token_hosts:
        log.warning("CAMELOPS_GIT_TOKEN is ignored: CAMELOPS_GIT_TOKEN_HOSTS names no host")
    token = git.https_token if git.token_hosts else None
    credentials = GitCredentials(
        https=(HostToken(git.token_hosts, git.https_username, token),) if token else (),
        ssh_private_key=git.ssh_private_key,
        ssh_public_key=public_key if public_key and public_key.exists() else None,
        ssh_passphrase=git.ssh_passphrase,
    )
    return build_control_plane(
        data_dir,
        dispatcher=dispatcher,
        notifier=notifier,
        credentials=credentials,
        kek=settings.secrets.kek,
        sources=policy_for(data_dir, git.local_repo_roots),
        local_runners=local.runners,
        local_options=local.options,
    )


def _wire_replays(
    plane: ControlPlane, server: TunnelServer, callbacks: ReconcilerCallbacks
) -> TunnelReplaySender:
    """Replay API -> audited command over the tunnel -> the runner's answer back into the API."""
    replays = TunnelReplaySender(server, plane.store)
    install_replays(plane.app, replays)
    callbacks.add_handler(replays.handle)
    return replays


def _wire_telemetry(callbacks: ReconcilerCallbacks, dsn: str) -> ControlPlaneTelemetry:
    """Telemetry batches from runners -> ingestor -> store; its `lifetime` (migrate, flush)
    is started by the caller, before the tunnel."""

    async def camel_health(runner: RunnerIdentity, verdict: CamelVerdict) -> None:
        await callbacks.camel_health(
            runner, verdict.environment, verdict.integration, verdict.pod, verdict.problems
        )

    telemetry = ControlPlaneTelemetry.open(
        dsn, callbacks.environments_of, projects_of=callbacks.projects_of, on_camel=camel_health
    )
    callbacks.add_handler(telemetry.intake.handle)
    return telemetry


@dataclass(frozen=True, slots=True)
class LocalRunners:
    runners: frozenset[str]
    """Runners on the local driver: their environments render CamelProcess objects."""
    options: LocalOptions | None
    """Ports of the local driver's exposed integrations (default: LocalOptions())."""


def tunnel_url(options: TunnelOptions) -> str:
    host = f"[{options.public_host}]" if ":" in options.public_host else options.public_host
    return f"wss://{host}:{options.port}{TUNNEL_PATH}"


def _api_context(
    data_dir: Path, options: TunnelOptions, passphrase: bytes | None
) -> ssl.SSLContext:
    pki = open_pki(data_dir, DEFAULT_ORG, passphrase, generate_passphrase=True)
    try:
        cert, key = server_certificate(pki, data_dir, [options.host, options.public_host])
        return registration_server_context(cert, key)
    finally:
        close_pki(pki)


def _tunnel_lifetime(
    server: TunnelServer, pki: ControlPlanePki, callbacks: ReconcilerCallbacks
) -> Lifetime:
    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        # before the controller in cleanup_ctx: up before it dispatches, down after it stopped
        await server.start()
        heartbeat = asyncio.create_task(callbacks.heartbeat(lambda: server.connected))
        try:
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await server.stop()
            close_pki(pki)

    return lifetime

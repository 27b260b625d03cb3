"""`camelops serve` with the tunnel: the CA and PKI store under the data dir, the mTLS tunnel
server, registration on the API app, and the reconciler dispatching through the tunnel."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from camelops.wiring.callbacks import ReconcilerCallbacks, RefreshingDispatcher
from camelops.wiring.pki import close_pki, open_pki, server_certificate
from camelops.wiring.replay_path import TunnelReplaySender
from camelops.wiring.telemetry_path import ControlPlaneTelemetry
from reconciler.api.replays import install_replays
from reconciler.notify import Notifier
from reconciler.server import ControlPlane, build_control_plane
from reconciler.tunnel_dispatch import TunnelDispatcher
from renderers.local import LocalOptions
from tunnel.pki.service import ControlPlanePki
from tunnel.registration import registration_routes
from tunnel.server import TUNNEL_PATH, ServerSettings, TunnelServer
from tunnel.tls import registration_server_context, tunnel_server_context

log = logging.getLogger(__name__)
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
    api_tls: bool,
    notifier: Notifier | None,
    telemetry_dsn: str | None = None,
    local_runners: frozenset[str] = frozenset(),
    local_port_base: int | None = None,
) -> WiredPlane:
    """Everything `camelops serve` runs; the tunnel starts and stops with `plane.app`."""
    local_options = None if local_port_base is None else LocalOptions(port_base=local_port_base)
    if options.port == 0:
        plane = build_control_plane(
            data_dir,
            notifier=notifier,
            local_runners=local_runners,
            local_options=local_options,
        )
        return WiredPlane(plane, None, None, _api_context(data_dir, options) if api_tls else None)
    pki = open_pki(data_dir, DEFAULT_ORG, generate_passphrase=True)
    cert, key = server_certificate(pki, data_dir, [options.host, options.public_host])
    callbacks = ReconcilerCallbacks()
    settings = ServerSettings(
        host=options.host, port=options.port, state_path=data_dir / "tunnel.sqlite"
    )
    server = TunnelServer(
        pki, callbacks, tunnel_server_context(cert, key, pki.ca.cert_pem), settings
    )
    dispatcher = RefreshingDispatcher(TunnelDispatcher(server), callbacks)
    callbacks.resend = dispatcher
    plane = build_control_plane(
        data_dir,
        dispatcher=dispatcher,
        notifier=notifier,
        local_runners=local_runners,
        local_options=local_options,
    )
    callbacks.bind(plane.store)
    plane.app.add_routes(registration_routes(pki, tunnel_url(options)))
    plane.app.cleanup_ctx.insert(0, _tunnel_lifetime(server, pki))
    _wire_replays(plane, server, callbacks)
    if telemetry_dsn is not None:
        _wire_telemetry(plane, callbacks, telemetry_dsn)
    api_ssl = registration_server_context(cert, key) if api_tls else None
    return WiredPlane(plane, server, callbacks, api_ssl)


def _wire_replays(
    plane: ControlPlane, server: TunnelServer, callbacks: ReconcilerCallbacks
) -> None:
    """Replay API -> audited command over the tunnel -> the runner's answer back into the API."""
    replays = TunnelReplaySender(server, plane.store)
    install_replays(plane.app, replays)
    callbacks.add_handler(replays.handle)


def _wire_telemetry(plane: ControlPlane, callbacks: ReconcilerCallbacks, dsn: str) -> None:
    """Telemetry batches from runners -> ingestor -> store; up before the tunnel, down after it."""
    telemetry = ControlPlaneTelemetry.open(dsn, callbacks.environments_of)
    plane.app.cleanup_ctx.insert(0, telemetry.lifetime)
    callbacks.add_handler(telemetry.intake.handle)


def tunnel_url(options: TunnelOptions) -> str:
    host = f"[{options.public_host}]" if ":" in options.public_host else options.public_host
    return f"wss://{host}:{options.port}{TUNNEL_PATH}"


def _api_context(data_dir: Path, options: TunnelOptions) -> ssl.SSLContext:
    pki = open_pki(data_dir, DEFAULT_ORG, generate_passphrase=True)
    try:
        cert, key = server_certificate(pki, data_dir, [options.host, options.public_host])
        return registration_server_context(cert, key)
    finally:
        close_pki(pki)


def _tunnel_lifetime(
    server: TunnelServer, pki: ControlPlanePki
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        # first in cleanup_ctx: up before the controller dispatches, down after it stopped
        await server.start()
        try:
            yield
        finally:
            await server.stop()
            close_pki(pki)

    return lifetime

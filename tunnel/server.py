"""The control plane's tunnel endpoint: mTLS WebSocket server, one PeerState per runner.

Runs on its own host/port (TLS 1.3, client certificate required). The composition root gives it
a `TunnelCallbacks` to learn about connected runners, received messages and who serves what.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from contract import commands, proxy
from contract.bundles import Bundle
from contract.commands import RUNNER_CONTROL_TYPES
from contract.envelopes import Channel, Envelope, Hello
from contract.proxy import ProxyResponse
from tunnel.at_rest import RecordSealer
from tunnel.connection import Link, LinkSettings, ProtocolViolation
from tunnel.metrics import Metrics
from tunnel.pki.identity import IdentityError, RunnerIdentity, identity_from_peercert
from tunnel.pki.service import ControlPlanePki, RegistrationRefused
from tunnel.proxy import ProxyCalls
from tunnel.session import Key, PeerState
from tunnel.store import SessionStore

log = logging.getLogger(__name__)
TUNNEL_PATH = "/v1/tunnel"
IDENTITY_HEADER = "X-Camelops-Runner"


class TunnelCallbacks:
    """Override what you need; the defaults accept nothing on behalf of any environment."""

    async def runner_connected(self, runner: RunnerIdentity, hello: Hello) -> None:
        """After the handshake; `hello.digests`: what the runner applied (resync by digest)."""

    async def runner_disconnected(self, runner: RunnerIdentity, reason: str) -> None:
        """The connection ended; pending messages stay queued for the next one."""

    async def message_received(self, runner: RunnerIdentity, envelope: Envelope) -> None:
        """Exactly once per message per runner session; raise and it is logged, not retried."""

    def environments_of(self, runner: RunnerIdentity) -> frozenset[str]:  # noqa: ARG002
        """Environments this runner serves: the only ones it may receive or report about."""
        return frozenset()


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8443
    link: LinkSettings = field(default_factory=LinkSettings)
    state_path: Path | None = None  # SQLite for per-runner session state; None keeps it in memory
    sealer: RecordSealer | None = None
    """Seals queued messages at rest (the control plane's KEK); default: a key beside the file."""
    max_pending_per_runner: int = 10_000


class TunnelServer:
    def __init__(
        self,
        pki: ControlPlanePki,
        callbacks: TunnelCallbacks,
        ssl_context: ssl.SSLContext,
        settings: ServerSettings | None = None,
    ) -> None:
        self.pki, self.callbacks, self.settings = pki, callbacks, settings or ServerSettings()
        self._ssl = ssl_context
        self._states: dict[RunnerIdentity, PeerState] = {}
        self._links: dict[RunnerIdentity, tuple[Link, asyncio.Transport | None]] = {}
        self._locks: dict[RunnerIdentity, asyncio.Lock] = {}
        state_path, sealer = self.settings.state_path, self.settings.sealer
        self._store = SessionStore(state_path, sealer) if state_path else None
        # (runner, project/environment) -> the bundle queued for it and not acked yet
        self._queued_bundles: dict[tuple[RunnerIdentity, str], Key] = {}
        self._runner: web.AppRunner | None = None
        self._proxy_calls = ProxyCalls()
        self.metrics = Metrics("camelops_tunnel_server")
        self._describe_metrics()
        self.port = self.settings.port

    @property
    def connected(self) -> frozenset[RunnerIdentity]:
        return frozenset(self._links)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(TUNNEL_PATH, self._tunnel)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.settings.host, self.settings.port, ssl_context=self._ssl
        )
        await site.start()
        server = site._server
        if isinstance(server, asyncio.Server) and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        log.info("tunnel server listening on %s:%d", self.settings.host, self.port)

    async def stop(self) -> None:
        for link, transport in list(self._links.values()):
            with contextlib.suppress(Exception):
                await link.ws.close()
            if transport is not None:
                transport.abort()
        if self._runner is not None:
            await self._runner.cleanup()
        await self._save_all()
        if self._store is not None:
            self._store.close()

    async def proxy(
        self, runner: RunnerIdentity, target: str, path: str = "", timeout: float = 15.0
    ) -> ProxyResponse:
        """GET `path` under one of the runner's allow-listed targets (e.g. Camel health)."""
        request = self._proxy_calls.new_request(runner, target, path)
        await self.send(runner, Channel.PROXY, proxy.REQUEST, request.model_dump())
        return await self._proxy_calls.wait(runner, request, timeout)

    def disconnect(self, runner: RunnerIdentity) -> bool:
        """Drop a runner's live connection (e.g. after revoking it); the next connect is checked."""
        entry = self._links.get(runner)
        if entry is None or entry[1] is None:
            return False
        log.info("disconnecting runner %s", runner)
        entry[1].abort()
        return True

    async def send(
        self, runner: RunnerIdentity, channel: Channel, type: str, payload: dict[str, Any]
    ) -> str:
        """Queue a message for a runner: sent at least once, applied once, across reconnects."""
        state = await self._state(runner)
        if runner in self._links:
            await state.backlog.wait()
        return state.enqueue(channel, type, payload).id

    async def send_bundle(self, runner: RunnerIdentity, bundle: Bundle) -> str:
        if bundle.environment not in self.callbacks.environments_of(runner):
            log.warning("refused to send environment %s to runner %s", bundle.environment, runner)
            self.metrics.inc("refused_total", labels=(("reason", "foreign_environment"),))
            raise PermissionError(
                f"runner {runner} does not serve environment {bundle.environment}"
            )
        state = await self._state(runner)
        if runner in self._links:
            await state.backlog.wait()
        # An offline runner needs only the newest desired state of an environment: the bundle
        # still queued for it is withdrawn (commands around it keep their order).
        slot = (runner, f"{bundle.project}/{bundle.environment}")
        superseded = self._queued_bundles.get(slot)
        if superseded is not None and state.withdraw(superseded):
            self.metrics.inc("bundles_superseded_total")
        message = state.enqueue(Channel.CONTROL, commands.BUNDLE, bundle.model_dump(mode="json"))
        self._queued_bundles[slot] = (message.channel, message.seq)
        return message.id

    async def _state(self, runner: RunnerIdentity) -> PeerState:
        state = self._states.get(runner)
        if state is None:
            limit = self.settings.max_pending_per_runner
            loaded = None
            if self._store is not None:
                loaded = await asyncio.to_thread(self._store.load, runner.uri, max_pending=limit)
            if loaded is not None and runner not in self._states:
                self._coalesce_restored(runner, loaded)
            state = self._states.setdefault(runner, loaded or PeerState(max_pending=limit))
        return state

    def _coalesce_restored(self, runner: RunnerIdentity, state: PeerState) -> None:
        """Index the bundles of a restored outbox; an older one of an environment goes."""
        for key, message in list(state.pending.items()):
            if message.channel != Channel.CONTROL or message.type != commands.BUNDLE:
                continue
            payload = json.loads(message.body).get("payload", {})
            slot = (runner, f"{payload.get('project')}/{payload.get('environment')}")
            superseded = self._queued_bundles.get(slot)
            if superseded is not None and state.withdraw(superseded):
                self.metrics.inc("bundles_superseded_total")
            self._queued_bundles[slot] = key

    async def _authenticate(self, request: web.Request) -> RunnerIdentity:
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        peercert = ssl_object.getpeercert() if ssl_object is not None else None
        identity = identity_from_peercert(peercert)
        claimed = request.headers.get(IDENTITY_HEADER)
        if claimed is not None and claimed != identity.uri:
            raise IdentityError("the runner claims another identity than its certificate's")
        serial = int(str(peercert["serialNumber"]), 16) if peercert else 0
        refusal = await asyncio.to_thread(self.pki.connection_refusal, identity, serial)
        if refusal:
            raise IdentityError(refusal)
        return identity

    async def _tunnel(self, request: web.Request) -> web.StreamResponse:
        try:
            runner = await self._authenticate(request)
        except IdentityError as exc:
            log.warning("tunnel refused from %s: %s", request.remote, exc)
            self.metrics.inc("refused_total", labels=(("reason", "identity"),))
            raise web.HTTPForbidden(text="tunnel refused\n") from exc
        old = self._links.get(runner)
        if old is not None and old[1] is not None:
            log.info("runner %s reconnected; dropping its previous connection", runner)
            old[1].abort()
        lock = self._locks.setdefault(runner, asyncio.Lock())
        async with lock:
            return await self._serve(request, runner)

    async def _serve(self, request: web.Request, runner: RunnerIdentity) -> web.WebSocketResponse:
        link_settings = self.settings.link
        ws = web.WebSocketResponse(
            heartbeat=link_settings.heartbeat,
            max_msg_size=link_settings.limits.receive_limit,
            compress=False,
        )
        await ws.prepare(request)
        state = await self._state(runner)
        link = Link(
            ws,
            state,
            deliver=self._deliverer(runner),
            settings=link_settings,
            metrics=self.metrics,
            peer=str(runner),
            check=self._checker(runner),
        )
        try:
            hello = await link.handshake(state.hello())
        except (ProtocolViolation, ConnectionError) as exc:
            log.warning("tunnel handshake with %s failed: %s", runner, exc)
            await ws.close()
            return ws
        self._links[runner] = (link, _transport(request))
        self.metrics.inc("connections_total")
        log.info("runner %s connected", runner)
        reason = "cancelled"
        try:
            await self.callbacks.runner_connected(runner, hello)
            reason = await link.run()
        finally:
            if self._links.get(runner, (None,))[0] is link:
                del self._links[runner]
            log.info("runner %s disconnected: %s", runner, reason)
            await self._save(runner, state)
            await self.callbacks.runner_disconnected(runner, reason)
        return ws

    def _checker(self, runner: RunnerIdentity) -> Any:
        def check(envelope: Envelope) -> str | None:
            if envelope.channel == Channel.CONTROL and envelope.type not in RUNNER_CONTROL_TYPES:
                return f"runners may not send control messages of type {envelope.type!r}"
            reported = envelope.payload.get("runner")
            if reported is not None and reported not in (runner.name, runner.uri):
                return "message reports about another runner"
            environment = envelope.payload.get("environment")
            if environment is not None and environment not in self.callbacks.environments_of(
                runner
            ):
                return "message reports about an environment this runner does not serve"
            return None

        return check

    def _deliverer(self, runner: RunnerIdentity) -> Any:
        async def deliver(envelope: Envelope) -> None:
            if envelope.channel == Channel.CONTROL and envelope.type == commands.RENEW_CERTIFICATE:
                await self._renew(runner, envelope)
            elif envelope.channel == Channel.PROXY and envelope.type == proxy.RESPONSE:
                self._proxy_calls.resolve(runner, envelope)
            else:
                await self.callbacks.message_received(runner, envelope)

        return deliver

    async def _renew(self, runner: RunnerIdentity, envelope: Envelope) -> None:
        request = commands.RenewCertificate.model_validate(envelope.payload)
        try:
            issued = await asyncio.to_thread(self.pki.renew, runner, request.csr.encode())
        except RegistrationRefused as exc:
            log.warning("certificate renewal for %s refused: %s", runner, exc)
            return
        reply = commands.CertificateIssued(
            certificate=issued.certificate.decode(), ca=issued.ca.decode()
        )
        await self.send(runner, Channel.CONTROL, commands.CERTIFICATE, reply.model_dump())

    async def _save(self, runner: RunnerIdentity, state: PeerState) -> None:
        if self._store is not None:
            snapshot, messages = state.snapshot(), list(state.pending.values())
            await asyncio.to_thread(self._store.save, runner.uri, snapshot, messages)

    async def _save_all(self) -> None:
        for runner, state in list(self._states.items()):
            await self._save(runner, state)

    def _describe_metrics(self) -> None:
        self.metrics.gauge(
            "connected_runners", lambda: {(): float(len(self._links))}, "runners connected now"
        )
        self.metrics.gauge(
            "acks_pending",
            lambda: {(("runner", str(r)),): float(len(s.pending)) for r, s in self._states.items()},
            "messages sent or queued but not acked, per runner",
        )
        self.metrics.gauge(
            "runner_dropped",
            lambda: {
                (("runner", str(r)), ("channel", c.value)): float(n)
                for r, s in self._states.items()
                for c, n in s.peer_dropped.items()
            },
            "messages the runner dropped from its outbox (as it reported)",
        )


def _transport(request: web.Request) -> asyncio.Transport | None:
    transport = request.transport
    return transport if isinstance(transport, asyncio.Transport) else None

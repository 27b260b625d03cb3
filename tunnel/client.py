"""The runner's tunnel endpoint: dials out over mTLS, reconnects, resumes, renews its cert."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from contract import commands
from contract.envelopes import Channel, Envelope
from tunnel.backoff import Backoff
from tunnel.connection import Link, LinkSettings, ProtocolViolation
from tunnel.metrics import Metrics
from tunnel.pki.identity import (
    CertificateDates,
    certificate_dates,
    certificate_identity,
    new_key_and_csr,
)
from tunnel.registration import RunnerFiles
from tunnel.server import IDENTITY_HEADER
from tunnel.session import PeerState
from tunnel.store import SessionStore
from tunnel.tls import runner_client_context

log = logging.getLogger(__name__)
Handler = Callable[[Envelope], Awaitable[None]]
SERVER_PEER = "control-plane"
RENEWAL_RETRY = 60.0


@dataclass(frozen=True, slots=True)
class ClientSettings:
    link: LinkSettings = field(default_factory=LinkSettings)
    backoff: Backoff = field(default_factory=Backoff)
    max_outbox: int = 10_000  # beyond this the oldest telemetry is dropped (status never)
    checkpoint_every: float = 1.0  # seconds between outbox checkpoints to SQLite when changed
    renewal_timeout: float = 30.0
    url: str | None = None  # default: the tunnel URL the control plane gave at registration


class TunnelClient:
    def __init__(
        self,
        data_dir: Path,
        settings: ClientSettings | None = None,
        digests: Callable[[], dict[str, str]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or ClientSettings()
        self.files = RunnerFiles.in_data_dir(data_dir)
        self.identity = certificate_identity(self.files.cert.read_bytes())
        self.url = self.settings.url or self.files.tunnel_url()
        self._digests = digests or dict
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._handlers: dict[tuple[Channel, str], Handler] = {}
        self._store = SessionStore(self.files.state)
        self._state: PeerState | None = None
        self._link: Link | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._renewal: asyncio.Future[commands.CertificateIssued] | None = None
        self._dirty = False
        self.connected = asyncio.Event()
        self.metrics = Metrics("camelops_tunnel_runner")
        self._describe_metrics()

    def on(self, channel: Channel, type: str, handler: Handler) -> None:
        """Register the handler for one message type; handlers must be idempotent."""
        self._handlers[(channel, type)] = handler

    async def start(self) -> None:
        limit = self.settings.max_outbox
        loaded = await asyncio.to_thread(self._store.load, SERVER_PEER, max_pending=limit)
        self._state = loaded or PeerState(max_pending=limit)
        for run in (self._connect_forever, self._checkpoint_forever, self._renew_forever):
            self._tasks.append(asyncio.create_task(self._owned(run), name=f"tunnel-{run.__name__}"))

    async def stop(self) -> None:
        self._stopping.set()
        if self._link is not None:
            with contextlib.suppress(Exception):
                await self._link.ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._checkpoint(force=True)
        self._store.close()

    @property
    def state(self) -> PeerState:
        if self._state is None:
            raise RuntimeError("the tunnel client is not started")
        return self._state

    async def send(self, channel: Channel, type: str, payload: dict[str, Any]) -> str:
        """Queue a message for the control plane; kept in the outbox until acked.

        A message the server is bound to refuse is refused here instead: once in the outbox it
        would close every connection it is resent on, and lock the runner out."""
        if channel == Channel.CONTROL and type not in commands.RUNNER_CONTROL_TYPES:
            raise ValueError(f"runners may not send control messages of type {type!r}")
        state = self.state
        if self.connected.is_set():
            await state.backlog.wait()
        self._dirty = True
        return state.enqueue(channel, type, payload).id

    def reconnect_now(self) -> None:
        """Drop the connection (e.g. to present a renewed certificate); it comes back by itself."""
        if self._link is not None:
            # aiohttp has no abort on a client WebSocket; a graceful close waits on a dead peer.
            connection = getattr(getattr(self._link.ws, "_response", None), "connection", None)
            if connection is not None and connection.transport is not None:
                connection.transport.abort()

    async def renew_certificate(self) -> CertificateDates:
        """Renew over the live tunnel without dropping it; the next connect uses the new cert."""
        key_pem, csr_pem = new_key_and_csr(self.identity)
        self._renewal = asyncio.get_running_loop().create_future()
        payload = commands.RenewCertificate(csr=csr_pem.decode()).model_dump()
        await self.send(Channel.CONTROL, commands.RENEW_CERTIFICATE, payload)
        issued = await asyncio.wait_for(self._renewal, self.settings.renewal_timeout)
        cert_pem = issued.certificate.encode()
        if certificate_identity(cert_pem) != self.identity:
            raise ssl.SSLError("the renewed certificate carries another identity")
        self.files.save_credentials(key_pem, cert_pem)
        self.metrics.inc("certificate_renewals_total")
        log.info("certificate renewed; valid until %s", certificate_dates(cert_pem).not_after)
        return certificate_dates(cert_pem)

    async def _owned(self, run: Callable[[], Awaitable[None]]) -> None:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("tunnel task %s crashed", getattr(run, "__name__", run))
            raise

    async def _connect_forever(self) -> None:
        attempt = 0
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._stopping.is_set():
                try:
                    reason = await self._connect_once(session)
                    attempt = 0 if reason.startswith("served") else attempt
                except (aiohttp.ClientError, OSError, ProtocolViolation, TimeoutError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"[:300]  # ssl.SSLError is an OSError
                except Exception:
                    # Our own bug, not the network's: log it in full, but keep the runner reachable.
                    log.exception("tunnel connection attempt failed unexpectedly")
                    reason = "internal error"
                log.info("tunnel to %s down: %s", self.url, reason)
                if self._stopping.is_set():
                    return
                self.metrics.inc("reconnects_total")
                delay = self.settings.backoff.delay(attempt, self._rng)
                attempt += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def _connect_once(self, session: aiohttp.ClientSession) -> str:
        files, link_settings = self.files, self.settings.link
        context = runner_client_context(files.ca.read_bytes(), files.cert, files.key)
        async with session.ws_connect(
            self.url,
            ssl=context,
            heartbeat=link_settings.heartbeat,
            max_msg_size=link_settings.limits.receive_limit,
            compress=0,
            headers={IDENTITY_HEADER: self.identity.uri},
        ) as ws:
            link = Link(
                ws,
                self.state,
                deliver=self._deliver,
                settings=link_settings,
                metrics=self.metrics,
                peer=SERVER_PEER,
            )
            await link.handshake(self.state.hello(self._digests()))
            self._link = link
            self.connected.set()
            self.metrics.inc("connections_total")
            try:
                return "served; " + await link.run()
            finally:
                self.connected.clear()
                self._link = None
                self._dirty = True

    async def _deliver(self, envelope: Envelope) -> None:
        if envelope.channel == Channel.CONTROL and envelope.type == commands.CERTIFICATE:
            issued = commands.CertificateIssued.model_validate(envelope.payload)
            if self._renewal is not None and not self._renewal.done():
                self._renewal.set_result(issued)
            return
        if envelope.channel == Channel.CONTROL and envelope.type == commands.ROTATE_CERTIFICATE:
            self._tasks.append(asyncio.create_task(self._owned(self._rotate)))
            return
        handler = self._handlers.get((envelope.channel, envelope.type))
        if handler is None:
            self.metrics.inc("unhandled_total", labels=(("type", envelope.type),))
            log.warning("no handler for %s/%s; message skipped", envelope.channel, envelope.type)
            return
        await handler(envelope)

    async def _renew_quietly(self) -> bool:
        try:
            await self.renew_certificate()
        except (TimeoutError, ssl.SSLError, ValueError) as exc:
            log.warning("certificate renewal failed: %s", exc)
            return False
        return True

    async def _rotate(self) -> None:
        await self._renew_quietly()

    async def _renew_forever(self) -> None:
        while not self._stopping.is_set():
            due = certificate_dates(self.files.cert.read_bytes()).renew_at
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), min(wait, 3600))
                continue
            await self.connected.wait()
            if not await self._renew_quietly():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), RENEWAL_RETRY)

    async def _checkpoint_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.checkpoint_every)
            await self._checkpoint()

    async def _checkpoint(self, force: bool = False) -> None:
        if (self._dirty or force) and self._state is not None:
            self._dirty = False
            snapshot, messages = self._state.snapshot(), list(self._state.pending.values())
            await asyncio.to_thread(self._store.save, SERVER_PEER, snapshot, messages)

    def _describe_metrics(self) -> None:
        def pending() -> dict[tuple[tuple[str, str], ...], float]:
            return {(): float(len(self._state.pending))} if self._state else {}

        def dropped() -> dict[tuple[tuple[str, str], ...], float]:
            items = self._state.dropped.items() if self._state else ()
            return {(("channel", c.value),): float(n) for c, n in items}

        self.metrics.gauge(
            "connected", lambda: {(): float(self.connected.is_set())}, "1 while connected"
        )
        self.metrics.gauge("acks_pending", pending, "outbox: messages queued or sent but not acked")
        self.metrics.gauge("dropped", dropped, "messages dropped from the full outbox, ever")

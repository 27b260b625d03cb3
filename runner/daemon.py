"""`camelops runner`: the tunnel client feeding the sync daemon, statuses flowing back.

Bundles and rollbacks from the control channel go to `SyncDaemon.submit`. The daemon queues
every status that says something new in the runner's SQLite outbox; a pump drains it into the
tunnel (which keeps its own outbox across reconnects) whenever the tunnel is up, so statuses
made while the control plane is unreachable are delivered once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from contract import commands
from contract.bundles import Bundle
from contract.commands import RollbackCommand
from contract.envelopes import Channel, Envelope
from contract.message_types import ROLLBACK
from runner.console import RunnerConsole
from runner.driver import Driver
from runner.forwarder import runner_relay_app, serve_relay
from runner.replay import RunnerReplay, SidecarUrl, sidecars_by_integration
from runner.sidecar_credentials import with_sidecar_credentials
from runner.sidecar_directory import SidecarDirectory
from runner.sidecar_ref import IntegrationRef
from runner.store import RunnerStore, env_key
from runner.sync import Rollback, SyncDaemon
from runner.sync_steps import SyncSettings, SyncStatus
from tunnel.client import ClientSettings, TunnelClient

log = logging.getLogger(__name__)
STORE_FILE = "runner.sqlite"
PUMP_INTERVAL = 0.5  # seconds; the daemon reports a status before it is in the outbox
STOP_BUDGET = 4.0  # seconds `stop` may take (SIGTERM to exit under 5 s, interpreter included)


@dataclass(frozen=True, slots=True)
class SidecarPaths:
    """How the runner meets the sidecars next to its integrations."""

    relay: tuple[str, int] | None = None
    """Where sidecars post telemetry batches (forwarded on the tunnel's telemetry channel)."""
    sidecars: tuple[tuple[str, str], ...] = ()
    """`integration` or `environment/integration` -> the sidecar's replay API base URL."""
    lookup: SidecarUrl | None = None
    """Asked first: a driver that starts sidecars itself knows where they listen (local)."""
    token: str = field(default="", repr=False)
    """Sent to every sidecar as `Authorization: Bearer` ($CAMELOPS_SIDECAR_TOKEN): sidecars on
    a pod address refuse calls without it."""


class RunnerDaemon:
    def __init__(
        self,
        data_dir: Path,
        driver: Driver,
        *,
        sync: SyncSettings | None = None,
        tunnel: ClientSettings | None = None,
        paths: SidecarPaths | None = None,
    ) -> None:
        self.driver = driver
        self.store = RunnerStore(data_dir / STORE_FILE)
        self.client = TunnelClient(data_dir, tunnel, digests=self.applied_digests)
        self.daemon = SyncDaemon(driver, self.store, sync, on_status=self._on_status)
        self._digests: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._paths = paths or SidecarPaths()
        self._relay: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.client.on(Channel.CONTROL, commands.BUNDLE, self._on_bundle)
        self.client.on(Channel.CONTROL, ROLLBACK, self._on_rollback)

    def applied_digests(self) -> dict[str, str]:
        """`project/environment` -> digest of the bundle held there (sent in every hello, so
        the control plane resends only what differs)."""
        return dict(self._digests)

    async def start(self) -> None:
        for bundle in await asyncio.to_thread(self.store.latest):
            self._digests[env_key(bundle)] = bundle.digest
        await self._start_sidecar_paths()
        await self.client.start()
        self._tasks = [
            asyncio.create_task(self._owned(self.daemon.run), name="runner-sync"),
            asyncio.create_task(self._owned(self._pump), name="runner-status-pump"),
        ]

    async def stop(self) -> None:
        """Within STOP_BUDGET seconds, nothing lost: the sync under way finishes (or gives up
        a wave wait and runs again at the next start) and records its status, the statuses
        queued are handed to the tunnel (which keeps what is not acknowledged), then the
        store closes after every thread that uses it is done."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.daemon.stop(timeout=STOP_BUDGET * 0.6)
        if self.client.connected.is_set():
            try:
                async with asyncio.timeout(STOP_BUDGET * 0.2):
                    await self._drain()
            except TimeoutError:
                log.warning("statuses not handed to the tunnel yet stay queued for the next start")
        await self.client.stop()
        if self._relay is not None:
            await self._relay.cleanup()
        if self._session is not None:
            await self._session.close()
        # the driver waits for its in-flight API calls, then the store can go
        await asyncio.to_thread(self._close)

    async def _start_sidecar_paths(self) -> None:
        """Replay commands and live-console requests -> the integration's sidecar; sidecars'
        telemetry -> the tunnel."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        static = sidecars_by_integration(dict(self._paths.sidecars))
        dynamic = self._paths.lookup

        def lookup(command: IntegrationRef) -> str | None:
            return (dynamic(command) if dynamic else None) or static(command)

        # in a cluster (no driver that starts sidecars itself), sidecars not configured by URL
        # are found by the batches they post to the relay; on one host (the local driver)
        # they listen on ports of their own and the driver knows them
        directory = SidecarDirectory() if dynamic is None else None
        RunnerReplay(
            self.client, lookup, self._session, token=self._paths.token,
            discovered=directory.urls if directory else None,
        ).install()  # fmt: skip
        RunnerConsole(
            lookup, self._session, token=self._paths.token,
            discovered=directory.urls if directory else None,
        ).install(self.client)  # fmt: skip
        if self._paths.relay is not None:
            host, port = self._paths.relay
            relay = runner_relay_app(self.client, directory.seen if directory else None)
            self._relay = await serve_relay(relay, host, port)
            log.info("telemetry relay for sidecars on http://%s:%s", host, port)

    def _close(self) -> None:
        self.driver.close()
        self.store.close()

    async def _owned(self, run: Callable[[], Awaitable[None]]) -> None:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("runner task crashed")
            raise

    # ---- control plane -> daemon -------------------------------------------------------
    async def _on_bundle(self, envelope: Envelope) -> None:
        try:
            bundle = Bundle.model_validate(envelope.payload)
        except ValidationError as exc:
            log.warning("refused a malformed bundle: %d errors", exc.error_count())
            return
        log.info("bundle %s at %s received", env_key(bundle), bundle.revision)
        self.daemon.submit(with_sidecar_credentials(bundle, self._paths.token))

    async def _on_rollback(self, envelope: Envelope) -> None:
        try:
            command = RollbackCommand.model_validate(envelope.payload)
        except ValidationError as exc:
            log.warning("refused a malformed rollback: %d errors", exc.error_count())
            return
        self.daemon.submit(Rollback(command.project, command.environment, command.revision))

    # ---- daemon -> control plane -------------------------------------------------------
    def _on_status(self, status: SyncStatus) -> None:
        self._digests[status.env] = status.digest
        self._wake.set()

    async def _pump(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PUMP_INTERVAL):
                    await self._wake.wait()
            self._wake.clear()
            await self.client.connected.wait()
            await self._drain()

    async def _drain(self) -> None:
        while batch := await asyncio.to_thread(self.store.pending):
            for queued in batch:
                await self.client.send(Channel.STATUS, queued.kind, queued.payload)
            await asyncio.to_thread(self.store.acknowledge, [q.id for q in batch])

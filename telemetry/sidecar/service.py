"""One sidecar's moving parts wired together: capture loop, statistics, shipping, replay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

import aiohttp

from contract.telemetry import CamelHealthReport, RouteStat, TelemetryBatch
from telemetry.jolokia import JolokiaClient, JolokiaError, truncate
from telemetry.sidecar.camel_health import CamelHealthWatch, HealthRules
from telemetry.sidecar.capture import TracerCapture
from telemetry.sidecar.replay import ReplayExecutor, ReplayOutcome, ReplayResult
from telemetry.sidecar.settings import SidecarSettings
from telemetry.sidecar.stats import context_name, read_route_stats

log = logging.getLogger(__name__)


class ShipError(Exception):
    """The relay did not take a batch; it stays in the ring for the next attempt."""


class Sidecar:
    def __init__(
        self,
        settings: SidecarSettings,
        session: aiohttp.ClientSession,
        *,
        relay_url: str,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.settings = settings
        self.session = session
        self.relay_url = relay_url
        self.wall_ms = wall_ms
        self.clock = clock
        client = JolokiaClient(settings.jolokia_url, session)
        self.capture = TracerCapture(client, settings, clock=clock)
        self.executor = ReplayExecutor(
            client,
            self.capture.replay,
            default_endpoint=settings.replay_endpoint,
            redactor=self.capture.redactor,
        )
        self.route_stats: list[RouteStat] = []
        self._stats_due = 0.0
        self.health = CamelHealthWatch(
            HealthRules(
                failure_rate_threshold=settings.failure_rate_threshold,
                min_exchanges=settings.failure_min_exchanges,
                window_seconds=settings.failure_window_seconds,
            ),
            redact=self.capture.redactor.text,
        )
        self.camel_health: CamelHealthReport | None = None
        """The latest verdict, sent with every batch; None while Camel is not reachable."""
        self._health_due = 0.0

    async def step(self) -> bool:
        """One capture round; Jolokia trouble is counted and leads to re-discovery next round."""
        try:
            await self.capture.poll_once()
            if self.clock() >= self._stats_due and self.capture.target is not None:
                context = context_name(self.capture.target.context_mbean)
                self.route_stats = await read_route_stats(
                    self.capture.client, context, self.wall_ms()
                )
                self._stats_due = self.clock() + self.settings.stats_interval_seconds
            if self.clock() >= self._health_due and self.capture.target is not None:
                await self.check_health()
        except JolokiaError as exc:
            self.capture.counters.jolokia_failures += 1
            self.capture.target = None
            self.camel_health = None
            log.warning("capture round failed, will rediscover Camel: %s", exc)
            return False
        return True

    async def check_health(self) -> CamelHealthReport:
        """Read route states and counters now (the capture must be connected)."""
        assert self.capture.target is not None
        mbean = self.capture.target.context_mbean
        self.camel_health = await self.health.check(
            self.capture.client, mbean, context_name(mbean), self.clock(), self.wall_ms()
        )
        self._health_due = self.clock() + self.settings.health_interval_seconds
        return self.camel_health

    def next_batch(self) -> TelemetryBatch:
        exchanges = self.capture.ring.peek(self.settings.batch_max_exchanges)
        return TelemetryBatch(
            batch_id=uuid.uuid4().hex,
            integration=self.settings.integration,
            environment=self.settings.environment,
            pod=self.settings.pod,
            sent_at_ms=self.wall_ms(),
            exchanges=tuple(exchanges),
            route_stats=tuple(self.route_stats),
            counters=self.capture.counters_snapshot(),
            camel=self.camel_health,
        )

    async def ship_once(self) -> int:
        """Send the oldest exchanges to the relay; only a 2xx answer removes them from the ring,
        so nothing acknowledged is ever lost and nothing unacknowledged is forgotten."""
        batch = self.next_batch()
        payload = batch.model_dump_json()
        try:
            async with self.session.post(
                self.relay_url,
                data=payload,
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                text = await response.text()
                if response.status // 100 != 2:
                    raise ShipError(f"relay answered {response.status}: {truncate(text)}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ShipError(f"relay unreachable: {exc!r}") from exc
        self.capture.ring.ack(len(batch.exchanges))
        self.route_stats = []
        return len(batch.exchanges)

    async def replay(self, exchange_id: str) -> ReplayResult:
        try:
            if self.capture.target is None:
                await self.capture.connect()
        except JolokiaError as exc:
            return ReplayResult(exchange_id, ReplayOutcome.UNAVAILABLE, "", str(exc))
        assert self.capture.target is not None
        return await self.executor.replay(
            exchange_id, self.capture.target.context_mbean, self.clock()
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Capture and ship until ``stop`` is set; intervals, not busy loops."""
        last_ship = 0.0
        while not stop.is_set():
            await self.step()
            due = self.clock() - last_ship >= 1.0
            if len(self.capture.ring) >= self.settings.batch_max_exchanges or due:
                last_ship = self.clock()
                try:
                    await self.ship_once()
                except ShipError as exc:
                    log.warning(
                        "shipping failed, keeping %d exchanges: %s", len(self.capture.ring), exc
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.poll_interval_seconds)

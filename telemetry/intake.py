"""The control plane's telemetry intake: each telemetry envelope a runner sends (its relay
forwards sidecar batches on `Channel.TELEMETRY`, `runner.forwarder`) goes to the ingestor.

Delivery is at-least-once end to end: the relay answers the sidecar only once the batch is in
the tunnel outbox (checkpointed to SQLite; the oldest telemetry is dropped when it overflows
while offline), the tunnel resends until acked, and the ingestor drops batch and exchange ids
it has already stored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from contract.envelopes import Channel, Envelope
from contract.message_types import TELEMETRY_BATCH
from telemetry.ingest import MAX_BATCH_BYTES, Batch, IngestError, Ingestor, IngestResult
from telemetry.ingest_arrow import ArrowBatch
from telemetry.ingest_arrow import decode as decode_arrow
from telemetry.ingest_queue import CoalescingIngestor
from telemetry.ingest_wire import WireBatch, WireError, from_object
from telemetry.store import TelemetryStore
from tunnel.pki.identity import RunnerIdentity

log = logging.getLogger(__name__)
_MAX_ARROW_BASE64 = (MAX_BATCH_BYTES + 2) // 3 * 4
Submit = Callable[[str, Batch], Awaitable[IngestResult]]
ProjectsOf = Callable[[RunnerIdentity, str], frozenset[str]]
CamelHealthSink = Callable[[RunnerIdentity, "CamelVerdict"], Awaitable[None]]
"""Where the sidecars' Camel-aware health goes (the reconciler's status combination)."""


@dataclass(frozen=True, slots=True)
class CamelVerdict:
    """One sidecar's latest verdict, as the runner relayed it (org from the runner)."""

    environment: str
    integration: str
    pod: str
    problems: tuple[str, ...]
    checked_at_ms: int


class TelemetryIntake:
    """Control-plane side: one call per telemetry envelope, from `message_received`."""

    def __init__(
        self,
        submit: Submit,
        environments_of: Callable[[RunnerIdentity], frozenset[str]],
        *,
        projects_of: ProjectsOf | None = None,
        attempts: int = 5,
        retry_delay: float = 0.2,
        on_camel: CamelHealthSink | None = None,
    ) -> None:
        self._submit = submit
        self._environments_of = environments_of
        self._projects_of = projects_of
        self._on_camel = on_camel
        self._attempts = attempts
        self._retry_delay = retry_delay
        self.refused = 0  # batches dropped as malformed or foreign (never retried)
        self.lost = 0  # batches the store would not take after every attempt

    async def handle(self, runner: RunnerIdentity, envelope: Envelope) -> bool:
        """True when the envelope was telemetry (handled, stored or refused); False otherwise."""
        if envelope.channel != Channel.TELEMETRY:
            return False
        batch = self._validated(runner, envelope)
        if batch is not None:
            meta = _meta(batch)
            if meta.camel is not None and meta.environment and self._on_camel is not None:
                # before the store write: health must not wait on the store's retries
                verdict = CamelVerdict(
                    meta.environment, meta.integration, meta.pod,
                    meta.camel.problems, meta.camel.checked_at_ms,
                )  # fmt: skip
                try:
                    await self._on_camel(runner, verdict)
                except Exception:  # health is a side path: the batch is stored regardless
                    log.exception("Camel health from runner %s not recorded", runner)
            await self._store(runner, batch)
        return True

    def _validated(self, runner: RunnerIdentity, envelope: Envelope) -> Checked | None:
        keys = set(envelope.payload)
        if envelope.type != TELEMETRY_BATCH or keys not in ({"batch"}, {"arrow"}):
            self._refuse(runner, f"unexpected telemetry message {envelope.type[:40]!r}")
            return None
        try:
            # compiled checks, no pydantic object per row: this is the ingest hot path
            batch = _decoded(envelope.payload)
        except WireError:
            # no detail: the input may hold message bodies
            self._refuse(runner, "invalid batch")
            return None
        meta = _meta(batch)
        if meta.environment and meta.environment not in self._environments_of(runner):
            self._refuse(runner, "batch of an environment the runner does not serve")
            return None
        return self._with_project(runner, batch)

    def _with_project(self, runner: RunnerIdentity, batch: Checked) -> Checked | None:
        """The project the batch belongs to: the one the sidecar names, if the runner serves
        the environment there; else the only project where it serves that environment."""
        meta = _meta(batch)
        if self._projects_of is None or not meta.environment:
            return batch
        projects = self._projects_of(runner, meta.environment)
        if meta.project:
            if meta.project in projects:
                return batch
            self._refuse(runner, "batch of a project the runner does not serve")
            return None
        if len(projects) == 1:
            return _with_meta(batch, msgspec.structs.replace(meta, project=next(iter(projects))))
        return batch  # served in several projects: which one is not ours to guess

    def _refuse(self, runner: RunnerIdentity, reason: str) -> None:
        self.refused += 1
        log.warning("telemetry from runner %s refused: %s", runner, reason)

    async def _store(self, runner: RunnerIdentity, batch: Checked) -> None:
        # the tunnel records the message as applied once this returns, so a store hiccup is
        # retried here; holding the channel meanwhile backs the runner's outbox up (by design)
        for attempt in range(1, self._attempts + 1):
            try:
                await self._submit(runner.org, batch)
                return
            except IngestError as exc:
                self._refuse(runner, str(exc))
                return
            except Exception as exc:  # the store's own errors: chDB, network to ClickHouse
                log.warning("telemetry store write %d/%d failed: %s", attempt, self._attempts, exc)
                if attempt < self._attempts:
                    await asyncio.sleep(self._retry_delay * 2 ** (attempt - 1))
        self.lost += 1
        log.error("telemetry batch %s from %s lost: the store refused it", batch.batch_id, runner)


Checked = WireBatch | ArrowBatch


def _decoded(payload: dict[str, Any]) -> Checked:
    """``{"batch": <format 1 or 2 object>}`` or ``{"arrow": <format 3 stream, base64>}``."""
    if "arrow" not in payload:
        return from_object(payload["batch"])
    encoded = payload["arrow"]
    if not isinstance(encoded, str) or len(encoded) > _MAX_ARROW_BASE64:
        raise WireError("arrow: not a base64 string within the batch size limit")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise WireError("arrow: not base64") from exc
    return decode_arrow(raw)


def _meta(batch: Checked) -> WireBatch:
    return batch.meta if isinstance(batch, ArrowBatch) else batch


def _with_meta(batch: Checked, meta: WireBatch) -> Checked:
    return dataclasses.replace(batch, meta=meta) if isinstance(batch, ArrowBatch) else meta


class ControlPlaneTelemetry:
    """The store, the de-duplicating ingestor and the coalescing queue, with one lifetime."""

    def __init__(
        self,
        store: TelemetryStore,
        environments_of: Callable[[RunnerIdentity], frozenset[str]],
        *,
        projects_of: ProjectsOf | None = None,
        max_delay_seconds: float = 1.0,
        on_camel: CamelHealthSink | None = None,
    ) -> None:
        self.store = store
        self.queue = CoalescingIngestor(Ingestor(store), max_delay_seconds=max_delay_seconds)
        self.intake = TelemetryIntake(
            self.queue.submit, environments_of, projects_of=projects_of, on_camel=on_camel
        )

    @classmethod
    def open(
        cls,
        dsn: str,
        environments_of: Callable[[RunnerIdentity], frozenset[str]],
        projects_of: ProjectsOf | None = None,
        on_camel: CamelHealthSink | None = None,
    ) -> ControlPlaneTelemetry:
        """E.g. ``chdb://<data-dir>/telemetry``; tables are created when the app starts."""
        return cls(TelemetryStore(dsn), environments_of, projects_of=projects_of, on_camel=on_camel)

    async def lifetime(self, _app: web.Application) -> AsyncIterator[None]:
        """For `app.cleanup_ctx`: migrate on start, flush what is queued on stop."""
        await asyncio.to_thread(self.store.migrate)
        try:
            yield
        finally:
            await self.queue.close()

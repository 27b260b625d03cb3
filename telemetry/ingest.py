"""Control-plane ingestor: validate a sidecar batch, scope it to the sending org, drop what was
already stored (at-least-once delivery upstream), write the rest to the telemetry store."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from contract.telemetry import ExchangeRecord, TelemetryBatch
from telemetry.rows import Rows, batch_rows
from telemetry.store import TelemetryStore

MAX_BATCH_BYTES = 32 * 1024 * 1024
_ORG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class IngestError(ValueError):
    """The batch is refused as a whole; the message is safe to return to the sender."""


def check_org(org: str) -> None:
    if not _ORG.match(org):
        raise IngestError("invalid org")


@dataclass(frozen=True, slots=True)
class IngestResult:
    batch_id: str
    accepted: int
    duplicates: int
    duplicate_batch: bool


class Ingestor:
    def __init__(
        self,
        store: TelemetryStore,
        *,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        remembered_batches: int = 10_000,
    ) -> None:
        self._store = store
        self._clock_ms = clock_ms
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._remembered = remembered_batches
        # one writer at a time, so two deliveries of the same batch cannot both pass the check
        self._lock = threading.Lock()

    def ingest_json(self, org: str, raw: bytes) -> IngestResult:
        if len(raw) > MAX_BATCH_BYTES:
            raise IngestError(f"batch of {len(raw)} bytes exceeds {MAX_BATCH_BYTES}")
        try:
            batch = TelemetryBatch.model_validate_json(raw)
        except ValidationError as exc:
            # locations and messages only: input values may be message bodies
            problems = "; ".join(
                ".".join(str(p) for p in err["loc"]) + ": " + err["msg"] for err in exc.errors()[:5]
            )
            raise IngestError(f"invalid telemetry batch: {problems}") from exc
        return self.ingest(org, batch)

    def ingest(self, org: str, batch: TelemetryBatch) -> IngestResult:
        """``org`` comes from the authenticated runner, never from the batch itself."""
        return self.ingest_many([(org, batch)])[0]

    def ingest_many(self, items: Sequence[tuple[str, TelemetryBatch]]) -> list[IngestResult]:
        """Several batches, one insert per table: what the coalescing queue flushes."""
        for org, _ in items:
            check_org(org)
        with self._lock:
            results, merged = [], Rows([], [], [])
            taken: set[tuple[str, str]] = set()  # (org, exchange id) written by this call
            for org, batch in items:
                key = (org, batch.batch_id)
                if key in self._seen:
                    results.append(IngestResult(batch.batch_id, 0, len(batch.exchanges), True))
                    continue
                fresh = self._fresh(org, batch, taken)
                rows = batch_rows(org, batch, fresh, self._clock_ms())
                merged.exchanges.extend(rows.exchanges)
                merged.nodes.extend(rows.nodes)
                merged.stats.extend(rows.stats)
                self._remember(key)
                results.append(
                    IngestResult(
                        batch.batch_id, len(fresh), len(batch.exchanges) - len(fresh), False
                    )
                )
            self._store.insert_rows(merged)
        return results

    def _fresh(
        self, org: str, batch: TelemetryBatch, taken: set[tuple[str, str]]
    ) -> list[ExchangeRecord]:
        unique = {
            record.exchange_id: record
            for record in batch.exchanges
            if (org, record.exchange_id) not in taken
        }
        starts = [record.started_at_ms for record in unique.values()] or [0]
        stored = self._store.existing_ids(
            org, batch.integration, list(unique), (min(starts), max(starts))
        )
        fresh = [record for key, record in unique.items() if key not in stored]
        taken.update((org, record.exchange_id) for record in fresh)
        return fresh

    async def ingest_async(self, org: str, batch: TelemetryBatch) -> IngestResult:
        """chDB blocks: keep it off the event loop."""
        return await asyncio.to_thread(self.ingest, org, batch)

    def _remember(self, key: tuple[str, str]) -> None:
        self._seen[key] = None
        while len(self._seen) > self._remembered:
            self._seen.popitem(last=False)

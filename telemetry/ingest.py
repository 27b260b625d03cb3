"""Control-plane ingestor: check a sidecar batch, scope it to the sending org, drop what was
already stored (at-least-once delivery upstream), write the rest to the telemetry store.

The hot path never builds a pydantic object per row: JSON bytes are decoded and checked in one
compiled pass (telemetry.ingest_wire), de-duplication is answered from memory
(telemetry.ingest_dedup) and rows go to the store column by column (telemetry.ingest_columns).
A columnar batch (format 2, what the relay forwards) is decoded into those columns directly.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from contract.telemetry import TelemetryBatch
from telemetry.ingest_arrow import ArrowBatch, ArrowRows, insert_tables
from telemetry.ingest_arrow import decode as decode_arrow
from telemetry.ingest_columns import Columns, take
from telemetry.ingest_dedup import DedupMemory
from telemetry.ingest_wire import (
    WireBatch,
    WireError,
    WireExchange,
    WireExchangeColumns,
    decode_batch,
    from_model,
)
from telemetry.store import TelemetryStore

MAX_BATCH_BYTES = 32 * 1024 * 1024
_ORG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

Batch = TelemetryBatch | WireBatch | ArrowBatch


# an Arrow batch's exchanges go to the Arrow insert; Columns takes only its route stats
_NO_EXCHANGES = WireExchangeColumns(exchange_id=[], status=[], started_at_ms=[], elapsed_ms=[])


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
        remembered_exchanges: int = 500_000,
    ) -> None:
        self._store = store
        self._clock_ms = clock_ms
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._remembered = remembered_batches
        self.dedup = DedupMemory(store.stored_ids, capacity=remembered_exchanges)
        # one writer at a time, so two deliveries of the same batch cannot both pass the check
        self._lock = threading.Lock()

    def ingest_json(self, org: str, raw: bytes) -> IngestResult:
        return self._ingest_encoded(org, raw, decode_batch)

    def ingest_arrow(self, org: str, raw: bytes) -> IngestResult:
        """Batch format 3 (an Arrow IPC stream, telemetry.ingest_arrow)."""
        return self._ingest_encoded(org, raw, decode_arrow)

    def _ingest_encoded(
        self, org: str, raw: bytes, decode: Callable[[bytes], Batch]
    ) -> IngestResult:
        if len(raw) > MAX_BATCH_BYTES:
            raise IngestError(f"batch of {len(raw)} bytes exceeds {MAX_BATCH_BYTES}")
        try:
            batch = decode(raw)
        except WireError as exc:
            raise IngestError(f"invalid telemetry batch: {exc}") from exc
        return self.ingest(org, batch)

    def ingest(self, org: str, batch: Batch) -> IngestResult:
        """``org`` comes from the authenticated runner, never from the batch itself."""
        return self.ingest_many([(org, batch)])[0]

    def ingest_many(self, items: Sequence[tuple[str, Batch]]) -> list[IngestResult]:
        """Several batches, one insert per table: what the coalescing queue flushes."""
        for org, _ in items:
            check_org(org)
        wire = [(org, as_wire(batch)) for org, batch in items]
        with self._lock:
            results: list[IngestResult] = []
            columns = Columns()
            arrow: list[ArrowRows] = []
            written: dict[tuple[str, str], dict[str, int]] = {}
            fresh_keys: list[tuple[str, str]] = []
            ingested_ms = self._clock_ms()
            for org, batch in wire:
                key = (org, batch.batch_id)
                count = batch.exchange_count
                if key in self._seen or key in fresh_keys:
                    results.append(IngestResult(batch.batch_id, 0, count, True))
                    continue
                meta = batch.meta if isinstance(batch, ArrowBatch) else batch
                scope = (org, meta.integration)
                taken = written.setdefault(scope, {})
                if isinstance(batch, ArrowBatch):
                    rows = self._fresh_arrow(scope, batch.exchanges, taken)
                    arrow.append(insert_tables(org, batch, rows, ingested_ms))
                    columns.add_columns(org, meta, _NO_EXCHANGES, ingested_ms)
                    accepted = rows.num_rows
                elif batch.columns is not None:
                    fresh_columns = self._fresh_columns(scope, batch.columns, taken)
                    columns.add_columns(org, batch, fresh_columns, ingested_ms)
                    accepted = len(fresh_columns)
                else:
                    fresh = self._fresh(scope, batch, taken)
                    columns.add(org, batch, fresh, ingested_ms)
                    accepted = len(fresh)
                fresh_keys.append(key)
                results.append(IngestResult(batch.batch_id, accepted, count - accepted, False))
            self._store.insert_columns(
                exchanges=columns.exchanges, nodes=columns.nodes, stats=columns.stats
            )
            if arrow:
                self._store.insert_arrow(
                    exchanges=pa.concat_tables([one.exchanges for one in arrow]),
                    nodes=pa.concat_tables([one.nodes for one in arrow]),
                )
            # remembered only once stored: a failed insert must not turn the retry into
            # "duplicates"
            for scope, taken in written.items():
                self.dedup.remember(scope, taken.items())
            for key in fresh_keys:
                self._remember(key)
        return results

    def _fresh(
        self, scope: tuple[str, str], batch: WireBatch, taken: dict[str, int]
    ) -> list[WireExchange]:
        """The batch's exchanges not stored yet, nor written earlier in this call, each once.
        ``taken`` (id -> start) collects what this call writes for ``scope``."""
        unique = {record.exchange_id: record for record in batch.exchanges}
        stored = self.dedup.stored(
            scope, [(key, record.started_at_ms) for key, record in unique.items()]
        )
        fresh = [record for key, record in unique.items() if key not in stored and key not in taken]
        for record in fresh:
            taken[record.exchange_id] = record.started_at_ms
        return fresh

    def _fresh_columns(
        self, scope: tuple[str, str], columns: WireExchangeColumns, taken: dict[str, int]
    ) -> WireExchangeColumns:
        """``_fresh`` for a columnar batch: the columns as decoded when every id is new."""
        keep = self._rows_to_keep(scope, columns.exchange_id, columns.started_at_ms, taken)
        return columns if keep is None else take(columns, keep)

    def _fresh_arrow(
        self, scope: tuple[str, str], rows: pa.Table, taken: dict[str, int]
    ) -> pa.Table:
        """``_fresh`` for an Arrow batch: the table as decoded when every id is new (the
        common case costs one list of ids and one of starts, for the memory)."""
        ids: list[str] = rows["exchange_id"].to_pylist()
        starts: list[int] = rows["started_at_ms"].to_pylist()
        keep = self._rows_to_keep(scope, ids, starts, taken)
        return rows if keep is None else rows.take(pa.array(keep, pa.int64()))

    def _rows_to_keep(
        self, scope: tuple[str, str], ids: list[str], starts: list[int], taken: dict[str, int]
    ) -> list[int] | None:
        """The rows of a column-shaped batch not stored yet nor taken earlier in this flush,
        or None when that is every row (the batch then goes on as decoded, uncopied)."""
        # the last row of an id sent twice in one batch wins, as with the row format
        last = dict(zip(ids, range(len(ids)), strict=True))
        if len(last) == len(ids):
            stored = self.dedup.stored_among(scope, ids, starts)
            if not stored and taken.keys().isdisjoint(last):
                taken.update(zip(ids, starts, strict=True))
                return None
        else:
            stored = self.dedup.stored_among(scope, list(last), [starts[r] for r in last.values()])
        keep = sorted(row for key, row in last.items() if key not in stored and key not in taken)
        taken.update((ids[row], starts[row]) for row in keep)
        return keep

    async def ingest_async(self, org: str, batch: Batch) -> IngestResult:
        """chDB blocks: keep it off the event loop."""
        return await asyncio.to_thread(self.ingest, org, batch)

    def _remember(self, key: tuple[str, str]) -> None:
        self._seen[key] = None
        while len(self._seen) > self._remembered:
            self._seen.popitem(last=False)


def as_wire(batch: Batch) -> WireBatch | ArrowBatch:
    """The ingest view of a batch; IngestError when it breaks the wire limits."""
    if isinstance(batch, WireBatch | ArrowBatch):
        return batch
    try:
        return from_model(batch)
    except WireError as exc:
        raise IngestError(f"invalid telemetry batch: {exc}") from exc

"""Coalesce telemetry batches from many sidecars into few inserts: flush at ``max_rows``
exchange rows or after ``max_delay_seconds``, whichever comes first. ClickHouse wants few,
large inserts (every insert is a part to merge); callers get their result after the flush,
so an acknowledgement always means "stored"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from telemetry.ingest import Batch, Ingestor, IngestResult, as_wire, check_org

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Pending:
    org: str
    batch: Batch
    done: asyncio.Future[IngestResult]


class CoalescingIngestor:
    def __init__(
        self, ingestor: Ingestor, *, max_rows: int = 10_000, max_delay_seconds: float = 1.0
    ) -> None:
        self._ingestor = ingestor
        self._max_rows = max_rows
        self._max_delay = max_delay_seconds
        self._pending: list[_Pending] = []
        self._rows = 0
        self._timer: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()
        self.flushes = 0

    async def submit(self, org: str, batch: Batch) -> IngestResult:
        # refused here, so one bad sender cannot fail a shared flush
        check_org(org)
        batch = as_wire(batch)
        done: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(org, batch, done))
        self._rows += batch.exchange_count
        if self._rows >= self._max_rows:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())
        return await done

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._max_delay)
        self._timer = None
        # shielded: cancelling the timer must never strand senders mid-flush
        await asyncio.shield(self.flush())

    async def flush(self) -> None:
        async with self._flushing:
            pending, self._pending, self._rows = self._pending, [], 0
            if not pending:
                return
            items = [(p.org, p.batch) for p in pending]
            try:
                results = await asyncio.to_thread(self._ingestor.ingest_many, items)
            except Exception as exc:  # every waiting sender gets the failure, none is left hanging
                log.warning("telemetry flush of %d batches failed: %s", len(items), exc)
                for p in pending:
                    p.done.set_exception(exc)
                return
            self.flushes += 1
            for p, result in zip(pending, results, strict=True):
                p.done.set_result(result)

    async def close(self) -> None:
        """Flush what is waiting and stop the timer (the owner calls this on shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self.flush()

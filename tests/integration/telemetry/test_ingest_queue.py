"""Coalescing many sidecar batches into few inserts, with results only after the write."""

from __future__ import annotations

import asyncio

import pytest

from telemetry.ingest import IngestError, Ingestor
from telemetry.ingest_queue import CoalescingIngestor
from telemetry.store import StoreError, TelemetryStore
from tests.integration.telemetry.records import BASE_MS, batch, exchange


def queue(store: TelemetryStore, max_rows: int, max_delay_seconds: float) -> CoalescingIngestor:
    ingestor = Ingestor(store, clock_ms=lambda: BASE_MS)
    return CoalescingIngestor(ingestor, max_rows=max_rows, max_delay_seconds=max_delay_seconds)


async def test_batches_share_one_flush_when_rows_reach_the_threshold(
    telemetry_store: TelemetryStore,
) -> None:
    coalescing = queue(telemetry_store, max_rows=10, max_delay_seconds=60)
    batches = [batch(f"b{i}", [exchange(i * 4 + n) for n in range(4)]) for i in range(3)]
    results = await asyncio.gather(*(coalescing.submit("acme", b) for b in batches))
    assert [r.accepted for r in results] == [4, 4, 4]
    assert coalescing.flushes == 1
    assert telemetry_store.count_exchanges("acme", "orders") == 12
    await coalescing.close()


async def test_a_lone_small_batch_is_flushed_by_the_timer(telemetry_store: TelemetryStore) -> None:
    coalescing = queue(telemetry_store, max_rows=1000, max_delay_seconds=0.05)
    result = await asyncio.wait_for(coalescing.submit("acme", batch("b1", [exchange(1)])), 10)
    assert result.accepted == 1
    assert coalescing.flushes == 1
    await coalescing.close()


async def test_duplicates_across_batches_of_one_flush_are_written_once(
    telemetry_store: TelemetryStore,
) -> None:
    coalescing = queue(telemetry_store, max_rows=2, max_delay_seconds=60)
    first, second = await asyncio.gather(
        coalescing.submit("acme", batch("b1", [exchange(1)])),
        coalescing.submit("acme", batch("b2", [exchange(1)])),
    )
    assert (first.accepted, second.accepted, second.duplicates) == (1, 0, 1)
    assert telemetry_store.count_exchanges("acme", "orders") == 1
    await coalescing.close()


async def test_a_failed_flush_fails_every_waiting_sender(telemetry_store: TelemetryStore) -> None:
    coalescing = queue(telemetry_store, max_rows=2, max_delay_seconds=60)
    telemetry_store.drop()
    outcomes = await asyncio.gather(
        coalescing.submit("acme", batch("b1", [exchange(1)])),
        coalescing.submit("acme", batch("b2", [exchange(2)])),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, StoreError) for outcome in outcomes)
    telemetry_store.migrate()


async def test_close_flushes_what_is_waiting(telemetry_store: TelemetryStore) -> None:
    coalescing = queue(telemetry_store, max_rows=1000, max_delay_seconds=60)
    waiting = asyncio.create_task(coalescing.submit("acme", batch("b1", [exchange(1)])))
    while coalescing._rows == 0:
        await asyncio.sleep(0)
    await coalescing.close()
    assert (await waiting).accepted == 1


@pytest.mark.parametrize("org", ["", "Bad Org"])
async def test_an_invalid_org_is_refused_before_it_joins_a_flush(
    telemetry_store: TelemetryStore, org: str
) -> None:
    coalescing = queue(telemetry_store, max_rows=2, max_delay_seconds=60)
    good = asyncio.create_task(coalescing.submit("acme", batch("b1", [exchange(1)])))
    while coalescing._rows == 0:
        await asyncio.sleep(0)
    with pytest.raises(IngestError, match="invalid org"):
        await coalescing.submit(org, batch("b2", [exchange(2)]))
    await coalescing.close()
    assert (await good).accepted == 1


async def test_a_batch_past_the_store_limits_fails_only_its_sender(
    telemetry_store: TelemetryStore,
) -> None:
    """pydantic takes any elapsed_ms >= 0; the column is UInt32, so the wire check refuses it
    at submit, before it can fail the insert it would share with other senders."""
    coalescing = queue(telemetry_store, max_rows=2, max_delay_seconds=0.05)
    huge = exchange(2).model_copy(update={"elapsed_ms": 2**32})
    good, bad = await asyncio.gather(
        coalescing.submit("acme", batch("b1", [exchange(1)])),
        coalescing.submit("acme", batch("b2", [huge])),
        return_exceptions=True,
    )
    assert not isinstance(good, BaseException)
    assert good.accepted == 1
    assert isinstance(bad, IngestError)
    assert "elapsed_ms" in str(bad)
    assert telemetry_store.count_exchanges("acme", "orders") == 1
    await coalescing.close()

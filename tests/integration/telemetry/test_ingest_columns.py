"""Batch format 2 (exchanges as columns): stored exactly as the row format stores the same
exchanges, de-duplicated the same way (also across a restart), refused whole when broken."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from contract.telemetry import ExchangeRecord
from telemetry.ingest import IngestError, Ingestor, IngestResult
from telemetry.ingest_queue import CoalescingIngestor
from telemetry.ingest_wire import WireError, from_object
from telemetry.store import TelemetryStore
from tests.integration.telemetry.records import BASE_MS, batch, exchange


def ingestor(store: TelemetryStore) -> Ingestor:
    return Ingestor(store, clock_ms=lambda: BASE_MS)


def columnar(batch_id: str, exchanges: list[ExchangeRecord]) -> dict[str, Any]:
    # as the relay forwards it (runner.forwarder)
    return batch(batch_id, exchanges).as_columns().model_dump(mode="json")


def send(ingest: Ingestor, document: dict[str, Any], org: str = "acme") -> IngestResult:
    return ingest.ingest_json(org, json.dumps(document).encode())


def test_columns_store_what_rows_store(telemetry_store: TelemetryStore) -> None:
    exchanges = [exchange(1), exchange(2, failed=True, nodes=4), exchange(3, nodes=0)]
    ingest = ingestor(telemetry_store)
    ingest.ingest("rows", batch("b1", exchanges))
    result = send(ingest, columnar("b1", exchanges), org="cols")
    assert (result.accepted, result.duplicates) == (3, 0)
    for record in exchanges:
        as_rows = telemetry_store.detail("rows", record.exchange_id)
        as_columns = telemetry_store.detail("cols", record.exchange_id)
        assert as_columns is not None
        assert as_columns == as_rows
        assert len(as_columns.nodes) == len(record.nodes)
    assert telemetry_store.latest_route_stats("cols", "orders") == (
        telemetry_store.latest_route_stats("rows", "orders")
    )


def test_columns_are_deduplicated_like_rows(telemetry_store: TelemetryStore) -> None:
    ingest = ingestor(telemetry_store)
    # an id twice in one batch is stored once, with its nodes once
    first = send(ingest, columnar("b1", [exchange(1), exchange(2), exchange(2)]))
    assert (first.accepted, first.duplicates) == (2, 1)
    assert send(ingest, columnar("b1", [exchange(1)])).duplicate_batch
    # a re-send under a new batch id, mixed with a new exchange: only the new one lands
    retry = send(ingest, columnar("b2", [exchange(2), exchange(3, nodes=2)]))
    assert (retry.accepted, retry.duplicates) == (1, 1)
    detail = telemetry_store.detail("acme", exchange(3).exchange_id)
    assert detail is not None
    assert [node.node_id for node in detail.nodes] == ["n0", "n1"]
    assert telemetry_store.count_exchanges("acme", "orders") == 3


def test_columns_are_deduplicated_after_a_restart(telemetry_store: TelemetryStore) -> None:
    send(ingestor(telemetry_store), columnar("b1", [exchange(1), exchange(2)]))
    restarted = ingestor(telemetry_store)
    again = send(restarted, columnar("b9", [exchange(1), exchange(2), exchange(4)]))
    assert (again.accepted, again.duplicates) == (1, 2)
    assert telemetry_store.count_exchanges("acme", "orders") == 3


def test_one_flush_takes_rows_and_columns(telemetry_store: TelemetryStore) -> None:
    ingest = ingestor(telemetry_store)
    document = columnar("b2", [exchange(1), exchange(2)])
    results = ingest.ingest_many(
        [("acme", batch("b1", [exchange(1)])), ("acme", from_object(document))]
    )
    assert [(r.accepted, r.duplicates) for r in results] == [(1, 0), (1, 1)]
    assert telemetry_store.count_exchanges("acme", "orders") == 2


def broken(**change: Any) -> dict[str, Any]:
    document = columnar("b", [exchange(1), exchange(2, failed=True)])
    columns = document["columns"]
    for name, value in change.items():
        if name.startswith("nodes_"):
            columns["nodes"][name.removeprefix("nodes_")] = value
        elif name == "document":
            document.update(value)
        else:
            columns[name] = value
    return document


@pytest.mark.parametrize(
    ("document", "place"),
    [
        (broken(status=["completed"]), "$.columns.status: 1 values for 2 rows"),
        (broken(status=["completed", "evil"]), "$.columns.status[1]"),
        (broken(elapsed_ms=[1, 2**32]), "$.columns.elapsed_ms[1]"),
        (broken(body=["evil", 7]), "$.columns.body[1]"),
        (broken(org=["evil", "evil"]), "unknown field `org`"),
        (broken(node_count=[3, 2]), "$.columns.nodes.seq: 6 values for 5 rows"),
        (broken(nodes_seq=[0, 1, 2, 0, 1, 70_000]), "$.columns.nodes.seq[5]"),
        (broken(nodes_node_id=["evil"]), "$.columns.nodes.node_id: 1 values for 6 rows"),
        (broken(node_count=None), "$.columns.node_count missing"),
        (broken(nodes=None), "$.columns.nodes missing"),
        (broken(document={"exchanges": [json.loads(exchange(3).model_dump_json())]}), "not both"),
    ],
)
def test_broken_columns_are_refused_whole(
    telemetry_store: TelemetryStore, document: dict[str, Any], place: str
) -> None:
    document = {k: v for k, v in document.items() if v is not None}
    document["columns"] = {k: v for k, v in document["columns"].items() if v is not None}
    with pytest.raises(IngestError, match="invalid telemetry batch") as caught:
        send(ingestor(telemetry_store), document)
    assert place in str(caught.value)
    assert "evil" not in str(caught.value).replace("`org`", "")
    assert telemetry_store.count_exchanges("acme", "orders") == 0
    # the intake's path (a batch inside a tunnel envelope) refuses it the same way
    with pytest.raises(WireError):
        from_object(document)


async def test_the_queue_counts_columnar_rows_towards_its_flush(
    telemetry_store: TelemetryStore,
) -> None:
    coalescing = CoalescingIngestor(ingestor(telemetry_store), max_rows=8, max_delay_seconds=60)
    batches = [batch(f"b{i}", [exchange(i * 4 + n) for n in range(4)]) for i in range(2)]
    submits = (
        coalescing.submit("acme", from_object(columnar(b.batch_id, list(b.exchanges))))
        for b in batches
    )
    # 8 rows reach the threshold: one flush, long before the timer's 60 s
    results = await asyncio.wait_for(asyncio.gather(*submits), 10)
    assert [r.accepted for r in results] == [4, 4]
    assert coalescing.flushes == 1
    assert telemetry_store.count_exchanges("acme", "orders") == 8
    await coalescing.close()

"""Batch format 3 (an Arrow IPC stream): stored exactly as the row format stores the same
exchanges, de-duplicated the same way (also across a restart), refused whole when hostile."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from contract.envelopes import Channel, Envelope
from contract.message_types import TELEMETRY_BATCH
from contract.telemetry import CamelHealthReport, TelemetryBatch
from runner.forwarder import payload_of
from telemetry.ingest import MAX_BATCH_BYTES, IngestError, Ingestor
from telemetry.ingest_arrow import EXCHANGE_SCHEMA, METADATA_KEY, decode, encode
from telemetry.ingest_queue import CoalescingIngestor
from telemetry.intake import CamelVerdict, TelemetryIntake
from telemetry.store import TelemetryStore
from tests.integration.telemetry.records import BASE_MS, batch, exchange
from tunnel.pki.identity import RunnerIdentity


def ingestor(store: TelemetryStore) -> Ingestor:
    return Ingestor(store, clock_ms=lambda: BASE_MS)


def test_arrow_stores_what_rows_store(telemetry_store: TelemetryStore) -> None:
    exchanges = [exchange(1), exchange(2, failed=True, nodes=4), exchange(3, nodes=0)]
    ingest = ingestor(telemetry_store)
    ingest.ingest("rows", batch("b1", exchanges))
    result = ingest.ingest_arrow("arrow", encode(batch("b1", exchanges)))
    assert (result.accepted, result.duplicates) == (3, 0)
    for record in exchanges:
        as_rows = telemetry_store.detail("rows", record.exchange_id)
        as_arrow = telemetry_store.detail("arrow", record.exchange_id)
        assert as_arrow is not None
        assert as_arrow == as_rows
        assert len(as_arrow.nodes) == len(record.nodes)
    assert telemetry_store.node_stats("arrow", "orders") == telemetry_store.node_stats(
        "rows", "orders"
    )
    assert telemetry_store.latest_route_stats("arrow", "orders") == (
        telemetry_store.latest_route_stats("rows", "orders")
    )


def test_arrow_is_deduplicated_like_rows(telemetry_store: TelemetryStore) -> None:
    ingest = ingestor(telemetry_store)
    # an id twice in one batch is stored once, with its nodes once
    first = ingest.ingest_arrow(
        "acme", encode(batch("b1", [exchange(1), exchange(2), exchange(2)]))
    )
    assert (first.accepted, first.duplicates) == (2, 1)
    assert ingest.ingest_arrow("acme", encode(batch("b1", [exchange(1)]))).duplicate_batch
    # a re-send under a new batch id, mixed with a new exchange: only the new one lands
    retry = ingest.ingest_arrow("acme", encode(batch("b2", [exchange(2), exchange(3, nodes=2)])))
    assert (retry.accepted, retry.duplicates) == (1, 1)
    detail = telemetry_store.detail("acme", exchange(3).exchange_id)
    assert detail is not None
    assert [node.node_id for node in detail.nodes] == ["n0", "n1"]
    twice = telemetry_store.detail("acme", exchange(2).exchange_id)
    assert twice is not None
    assert len(twice.nodes) == 3
    assert telemetry_store.count_exchanges("acme", "orders") == 3


def test_arrow_is_deduplicated_after_a_restart(telemetry_store: TelemetryStore) -> None:
    ingestor(telemetry_store).ingest_arrow("acme", encode(batch("b1", [exchange(1), exchange(2)])))
    restarted = ingestor(telemetry_store)
    again = restarted.ingest_arrow(
        "acme", encode(batch("b9", [exchange(1), exchange(2), exchange(4)]))
    )
    assert (again.accepted, again.duplicates) == (1, 2)
    assert telemetry_store.count_exchanges("acme", "orders") == 3


def test_one_flush_takes_rows_and_arrow(telemetry_store: TelemetryStore) -> None:
    ingest = ingestor(telemetry_store)
    arrow = decode(encode(batch("b2", [exchange(1), exchange(2)])))
    results = ingest.ingest_many([("acme", batch("b1", [exchange(1)])), ("acme", arrow)])
    assert [(r.accepted, r.duplicates) for r in results] == [(1, 0), (1, 1)]
    assert telemetry_store.count_exchanges("acme", "orders") == 2


def test_a_batch_of_route_stats_only_is_stored(telemetry_store: TelemetryStore) -> None:
    # what a sidecar sends when no exchange was sampled: no rows, its route stats
    result = ingestor(telemetry_store).ingest_arrow("acme", encode(batch("b1", [])))
    assert (result.accepted, result.duplicates) == (0, 0)
    assert telemetry_store.count_exchanges("acme", "orders") == 0
    stats = telemetry_store.latest_route_stats("acme", "orders")
    assert [s["exchanges_total"] for s in stats] == [7]


def _table() -> pa.Table:
    raw = encode(batch("b", [exchange(1), exchange(2, failed=True)]))
    return pa.ipc.open_stream(raw).read_all()


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _column(name: str, values: pa.Array) -> bytes:
    table = _table()
    index = table.schema.get_field_index(name)
    field = table.schema.field(index).with_type(values.type)
    return _stream(table.set_column(index, field, values))


def _metadata(value: bytes | None) -> bytes:
    table = _table()
    return _stream(table.replace_schema_metadata({} if value is None else {METADATA_KEY: value}))


def _valid() -> bytes:
    return encode(batch("b", [exchange(1), exchange(2, failed=True)]))


def _nodes_with(name: str, value: object) -> bytes:
    table = _table()
    rows = table.to_pylist()
    rows[1]["nodes"][0][name] = value
    return _stream(pa.Table.from_pylist(rows, schema=table.schema))


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "garbage": (lambda: b"evil" * 100, "not an Arrow IPC stream"),
    "truncated": (lambda: _valid()[: len(_valid()) // 2], "not an Arrow IPC stream"),
    "oversize": (lambda: b"\0" * (MAX_BATCH_BYTES + 1), "exceeds"),
    "missing column": (lambda: _stream(_table().drop_columns(["body"])), "schema differs"),
    "extra column": (
        lambda: _stream(_table().append_column("org", pa.array(["evil", "evil"]))),
        "schema differs",
    ),
    "wrong type": (lambda: _column("elapsed_ms", pa.array([1, 2], pa.int64())), "schema differs"),
    "nulls": (lambda: _column("body", pa.array(["evil", None])), "$.body: null values"),
    "status": (lambda: _column("status", pa.array(["completed", "evil"])), "$.status"),
    "long id": (lambda: _column("exchange_id", pa.array(["a", "e" * 201])), "$.exchange_id"),
    "empty id": (lambda: _column("exchange_id", pa.array(["a", ""])), "$.exchange_id: empty"),
    "long body": (lambda: _column("body", pa.array(["", "e" * 70_000])), "$.body: length"),
    "negative start": (lambda: _column("started_at_ms", pa.array([1, -5])), "$.started_at_ms"),
    "long node uri": (lambda: _nodes_with("endpoint_uri", "e" * 4_001), "$.nodes.endpoint_uri"),
    "node level": (lambda: _nodes_with("level", 5_000), "$.nodes.level"),
    "no metadata": (lambda: _metadata(None), "camelops.batch missing"),
    "metadata not JSON": (lambda: _metadata(b"{evil"), "not JSON"),
    "metadata with rows": (lambda: _metadata(b'{"exchanges": []}'), "fields only"),
    "metadata invalid": (lambda: _metadata(b'{"batch_id": "b"}'), "invalid telemetry batch"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_arrow_is_refused_whole(telemetry_store: TelemetryStore, case: str) -> None:
    build, place = HOSTILE[case]
    with pytest.raises(IngestError, match="batch") as caught:
        ingestor(telemetry_store).ingest_arrow("acme", build())
    assert place in str(caught.value)
    assert "evil" not in str(caught.value)
    assert telemetry_store.count_exchanges("acme", "orders") == 0


def test_the_schema_is_what_encode_writes() -> None:
    # a sender built against EXCHANGE_SCHEMA is accepted as is (the schema is the contract)
    table = _table()
    assert table.schema.remove_metadata().equals(EXCHANGE_SCHEMA)
    assert decode(_valid()).exchange_count == 2


async def test_the_queue_counts_arrow_rows_towards_its_flush(
    telemetry_store: TelemetryStore,
) -> None:
    coalescing = CoalescingIngestor(ingestor(telemetry_store), max_rows=8, max_delay_seconds=60)
    batches = [batch(f"b{i}", [exchange(i * 4 + n) for n in range(4)]) for i in range(2)]
    submits = (coalescing.submit("acme", decode(encode(b))) for b in batches)
    # 8 rows reach the threshold: one flush (both batches in one Arrow insert), not the timer
    results = await asyncio.wait_for(asyncio.gather(*submits), 10)
    assert [r.accepted for r in results] == [4, 4]
    assert coalescing.flushes == 1
    assert telemetry_store.count_exchanges("acme", "orders") == 8
    await coalescing.close()


RUNNER = RunnerIdentity("acme", "edge")


def _arrow_envelope(sent: TelemetryBatch, n: int) -> Envelope:
    # as the runner's forwarder wraps it
    return Envelope(id=f"m{n}", seq=n, channel=Channel.TELEMETRY, type=TELEMETRY_BATCH,
                    payload=payload_of(sent))  # fmt: skip


async def test_the_intake_takes_what_the_forwarder_sends(telemetry_store: TelemetryStore) -> None:
    verdicts: list[CamelVerdict] = []

    async def sink(_runner: RunnerIdentity, verdict: CamelVerdict) -> None:
        verdicts.append(verdict)

    intake = TelemetryIntake(
        ingestor(telemetry_store).ingest_async,
        lambda _runner: frozenset({"prod"}),
        projects_of=lambda _runner, _env: frozenset({"shop"}),
        on_camel=sink,
    )
    stopped = CamelHealthReport(checked_at_ms=5, problems=("route stock is Stopped",))
    sent = batch("b1", [exchange(1, failed=True), exchange(2)]).model_copy(
        update={"camel": stopped}
    )
    assert set(payload_of(sent)) == {"arrow"}
    assert await intake.handle(RUNNER, _arrow_envelope(sent, 1))
    assert verdicts == [CamelVerdict("prod", "orders", "orders-0", stopped.problems, 5)]
    rows = telemetry_store._query("SELECT exchange_id, project FROM $db.exchanges", {})
    assert sorted((str(i), str(p)) for i, p in rows) == [
        ("EX-00000001", "shop"),
        ("EX-00000002", "shop"),
    ]
    assert intake.refused == intake.lost == 0


async def test_the_intake_refuses_hostile_arrow_payloads(telemetry_store: TelemetryStore) -> None:
    intake = TelemetryIntake(ingestor(telemetry_store).ingest_async, lambda _r: frozenset({"prod"}))
    good = payload_of(batch("ok", [exchange(1)]))
    staging = batch("st", [exchange(2)]).model_copy(update={"environment": "staging"})
    hostile: list[dict[str, Any]] = [
        {"arrow": 5},
        {"arrow": "not base64 at all!"},
        {"arrow": base64.b64encode(b"evil" * 50).decode()},
        {"arrow": "A" * (MAX_BATCH_BYTES // 3 * 4 + 8)},  # beyond the batch size limit
        good | {"batch": {"batch_id": "x"}},  # both formats at once
        payload_of(staging),  # an environment this runner does not serve
    ]
    for n, payload in enumerate(hostile, start=1):
        envelope = Envelope(id=f"m{n}", seq=n, channel=Channel.TELEMETRY, type=TELEMETRY_BATCH,
                            payload=payload)  # fmt: skip
        assert await intake.handle(RUNNER, envelope)
    assert intake.refused == len(hostile)
    assert telemetry_store.count_exchanges("acme", "orders") == 0

"""Batch format 3 on the wire: an Arrow IPC stream of one table, one row per exchange, in
exactly ``EXCHANGE_SCHEMA``; each exchange's nodes are a list column of structs. The batch's
own fields (ids, route stats, counters, Camel health) travel as JSON in the schema's metadata
under ``METADATA_KEY``. The runner's forwarder builds it (``encode``); the control plane reads
and checks it column by column (telemetry.ingest_arrow), no Python object per row.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pyarrow as pa

from contract.telemetry import TelemetryBatch

METADATA_KEY = b"camelops.batch"
_S = pa.string()

NODE_TYPE = pa.struct(
    [
        pa.field("seq", pa.uint16(), nullable=False),
        pa.field("started_at_ms", pa.int64(), nullable=False),
        pa.field("elapsed_ms", pa.uint32(), nullable=False),
        pa.field("route_id", _S, nullable=False),
        pa.field("node_id", _S, nullable=False),
        pa.field("node_name", _S, nullable=False),
        pa.field("level", pa.uint16(), nullable=False),
        pa.field("parent_id", _S, nullable=False),
        pa.field("endpoint_uri", _S, nullable=False),
        pa.field("failed", pa.bool_(), nullable=False),
    ]
)
EXCHANGE_SCHEMA = pa.schema(
    [
        pa.field("exchange_id", _S, nullable=False),
        pa.field("status", _S, nullable=False),
        pa.field("started_at_ms", pa.int64(), nullable=False),
        pa.field("elapsed_ms", pa.uint32(), nullable=False),
        pa.field("route_id", _S, nullable=False),
        pa.field("failed_node", _S, nullable=False),
        pa.field("exception_type", _S, nullable=False),
        pa.field("exception_message", _S, nullable=False),
        pa.field("stack_trace", _S, nullable=False),
        pa.field("headers", pa.map_(_S, _S), nullable=False),
        pa.field("body", _S, nullable=False),
        pa.field("body_truncated", pa.bool_(), nullable=False),
        pa.field("replayable", pa.bool_(), nullable=False),
        pa.field("nodes", pa.list_(pa.field("item", NODE_TYPE, nullable=False)), nullable=False),
    ]
)


def encode(batch: TelemetryBatch) -> bytes:
    """A batch of exchange rows (format 1) as format 3."""
    rows = batch.exchanges
    if batch.columns is not None:
        raise ValueError("encode a batch of exchange rows")
    columns: dict[str, Any] = {
        name: [getattr(e, name) for e in rows]
        for name in EXCHANGE_SCHEMA.names
        if name not in ("status", "headers", "nodes")
    }
    columns["status"] = [e.status.value for e in rows]
    columns["headers"] = [list(e.headers.items()) for e in rows]
    columns["nodes"] = [[node.model_dump() for node in e.nodes] for e in rows]
    meta = batch.model_dump(mode="json", exclude={"exchanges", "columns"})
    schema = EXCHANGE_SCHEMA.with_metadata({METADATA_KEY: msgspec.json.encode(meta)})
    table = pa.table(columns, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())

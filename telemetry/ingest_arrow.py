"""Batch format 3 (contract.telemetry_arrow): an Arrow IPC stream, decoded and checked without
a Python object per row.

Types are fixed by ``EXCHANGE_SCHEMA`` (so ranges a type cannot hold need no check). The
batch's own fields, JSON in the schema metadata, get the checks of the JSON formats
(telemetry.ingest_wire). Every per-row rule of the contract (lengths, enum, lower bounds,
count limits, no null, valid UTF-8) is a vectorised compute expression over a whole column.

The same columns then become the insert's Arrow tables (telemetry.store.insert_arrow): the
node rows are the list column flattened, `node_path` and `timeline` are list arrays over the
same offsets, constants are repeated in C++.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from contract.telemetry import (
    MAX_BODY_CHARS,
    MAX_EXCHANGES_PER_BATCH,
    MAX_NODES_PER_EXCHANGE,
)
from contract.telemetry_arrow import EXCHANGE_SCHEMA, METADATA_KEY, NODE_TYPE, encode
from telemetry.ingest_wire import WireBatch, WireError, from_object
from telemetry.schema_sql import TIMELINE_FIELDS

_S = pa.string()
_TIME = pa.timestamp("ms", tz="UTC")

# the contract's string limits (contract.telemetry, mirrored by telemetry.ingest_wire)
_ID, _NAME = 200, 1_000
_EXCHANGE_LIMITS = {
    "exchange_id": _ID,
    "route_id": _NAME,
    "failed_node": _NAME,
    "exception_type": _NAME,
    "exception_message": 8_000,
    "stack_trace": 32_000,
    "body": MAX_BODY_CHARS,
}
_NODE_LIMITS = {
    "route_id": _NAME,
    "node_id": _NAME,
    "node_name": _NAME,
    "parent_id": _NAME,
    "endpoint_uri": 4_000,
}
_STATUSES = pa.array(["completed", "failed", "incomplete"])
_MAX_HEADERS = 500
_MAX_LEVEL = 1_000


@dataclass(frozen=True, slots=True)
class ArrowBatch:
    """A checked format-3 batch: its fields (``meta``, no exchanges) and its exchange rows."""

    meta: WireBatch
    exchanges: pa.Table

    @property
    def batch_id(self) -> str:
        return self.meta.batch_id

    @property
    def exchange_count(self) -> int:
        return int(self.exchanges.num_rows)


def decode(raw: bytes) -> ArrowBatch:
    """The checked batch; WireError (naming the column and rule, never a value) otherwise."""
    try:
        reader = pa.ipc.open_stream(pa.py_buffer(raw))
        table = reader.read_all()
        # offsets in bounds, UTF-8 valid: what the C++ readers take on trust
        table.validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OSError) as exc:
        raise WireError("not an Arrow IPC stream of one table") from exc
    metadata = table.schema.metadata or {}
    if not table.schema.remove_metadata().equals(EXCHANGE_SCHEMA, check_metadata=False):
        raise WireError("Arrow schema differs from the telemetry exchange schema")
    meta = _meta(metadata.get(METADATA_KEY))
    _check_rows(table)
    return ArrowBatch(meta, table.replace_schema_metadata(None))


def _meta(raw: bytes | None) -> WireBatch:
    if raw is None:
        raise WireError("Arrow schema metadata camelops.batch missing")
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise WireError("Arrow schema metadata camelops.batch is not JSON") from exc
    if not isinstance(document, dict) or {"exchanges", "columns"} & document.keys():
        raise WireError("camelops.batch holds the batch's fields only, no exchanges")
    return from_object(document)


def _check_rows(table: pa.Table) -> None:
    if table.num_rows > MAX_EXCHANGES_PER_BATCH:
        raise WireError(f"{table.num_rows} exchanges exceed {MAX_EXCHANGES_PER_BATCH}")
    # a field declared non-null may still carry nulls on the wire
    for name in table.column_names:
        if table[name].null_count:
            raise WireError(f"$.{name}: null values")
    nodes = table["nodes"].combine_chunks()
    flat = nodes.flatten()
    node = dict(zip(NODE_TYPE.names, flat.flatten(), strict=True))
    if flat.null_count or any(child.null_count for child in node.values()):
        raise WireError("$.nodes: null values")
    headers = table["headers"].combine_chunks()
    if headers.items.null_count or headers.keys.null_count:
        raise WireError("$.headers: null values")
    for name, limit in _EXCHANGE_LIMITS.items():
        _within(table[name], limit, f"$.{name}")
    _at_least_one(table["exchange_id"], "$.exchange_id")
    for name, limit in _NODE_LIMITS.items():
        _within(node[name], limit, f"$.nodes.{name}")
    # all() of no rows is null (a batch of route stats only), not a refusal
    if pc.all(pc.is_in(table["status"], value_set=_STATUSES)).as_py() is False:
        raise WireError("$.status: not one of completed, failed, incomplete")
    _not_negative(table["started_at_ms"], "$.started_at_ms")
    _not_negative(node["started_at_ms"], "$.nodes.started_at_ms")
    # a map has no list_value_length kernel: its entries per row from its offsets
    offsets = headers.offsets
    entries = pc.subtract(offsets[1:], offsets[:-1])
    _at_most(entries, _MAX_HEADERS, "$.headers: entries")
    _at_most(pc.list_value_length(nodes), MAX_NODES_PER_EXCHANGE, "$.nodes: entries")
    _at_most(node["level"], _MAX_LEVEL, "$.nodes.level")


def _at_most(values: pa.Array | pa.ChunkedArray, limit: int, where: str) -> None:
    top = pc.max(values).as_py()
    if top is not None and top > limit:
        raise WireError(f"{where} above {limit}")


def _within(values: pa.Array | pa.ChunkedArray, limit: int, where: str) -> None:
    _at_most(pc.utf8_length(values), limit, f"{where}: length")


def _at_least_one(values: pa.Array | pa.ChunkedArray, where: str) -> None:
    low = pc.min(pc.utf8_length(values)).as_py()
    if low is not None and low < 1:
        raise WireError(f"{where}: empty")


def _not_negative(values: pa.Array | pa.ChunkedArray, where: str) -> None:
    low = pc.min(values).as_py()
    if low is not None and low < 0:
        raise WireError(f"{where}: below 0")


@dataclass(frozen=True, slots=True)
class ArrowRows:
    """The insert's tables for the exchanges and node rows of some batches."""

    exchanges: pa.Table
    nodes: pa.Table


def insert_tables(org: str, batch: ArrowBatch, rows: pa.Table, ingested_ms: int) -> ArrowRows:
    """``rows`` (the batch's fresh exchanges) as the exchanges and exchange_nodes tables."""
    meta, n = batch.meta, rows.num_rows
    nodes = rows["nodes"].combine_chunks()
    counts = pc.list_value_length(nodes).cast(pa.int32())
    offsets = pa.concat_arrays(
        [pa.array([0], pa.int32()), pc.cumulative_sum(counts).cast(pa.int32())]
    )
    flat = nodes.flatten()
    # flatten() applies a slice's offset to each child (after a take, rows may be a slice)
    node = dict(zip(NODE_TYPE.names, flat.flatten(), strict=True))
    paths = pc.binary_join_element_wise(node["route_id"], node["node_id"], "/")
    typed = {**node, "failed": node["failed"].cast(pa.uint8())}
    timeline = pa.StructArray.from_arrays(
        [typed[name] for name in TIMELINE_FIELDS], names=list(TIMELINE_FIELDS)
    )
    starts = rows["started_at_ms"].combine_chunks()
    exchanges = pa.table(
        {
            "org": _repeat(org, n),
            "project": _repeat(meta.project, n),
            "integration": _repeat(meta.integration, n),
            "environment": _repeat(meta.environment, n),
            "pod": _repeat(meta.pod, n),
            "exchange_id": rows["exchange_id"],
            "route_id": rows["route_id"],
            "status": rows["status"],
            "started_at": starts.cast(_TIME),
            "elapsed_ms": rows["elapsed_ms"],
            "failed_node": rows["failed_node"],
            "exception_type": rows["exception_type"],
            "exception_message": rows["exception_message"],
            "stack_trace": rows["stack_trace"],
            "headers": rows["headers"],
            "body": rows["body"],
            "body_truncated": rows["body_truncated"].cast(pa.uint8()),
            "replayable": rows["replayable"].cast(pa.uint8()),
            "node_path": pa.ListArray.from_arrays(offsets, paths),
            "timeline": pa.ListArray.from_arrays(offsets, timeline),
            "batch_id": _repeat(meta.batch_id, n),
            "ingested_at": pa.array([ingested_ms] * n, pa.int64()).cast(_TIME),
        }
    )
    # each node row repeats its exchange's id and start (the table's sort key)
    owner = pc.list_parent_indices(nodes)
    m = len(flat)
    node_rows = pa.table(
        {
            "org": _repeat(org, m),
            "integration": _repeat(meta.integration, m),
            "exchange_id": pc.take(rows["exchange_id"].combine_chunks(), owner),
            "started_at": pc.take(starts, owner).cast(_TIME),
            "seq": node["seq"],
            "route_id": node["route_id"],
            "node_id": node["node_id"],
            "node_name": node["node_name"],
            "level": node["level"],
            "parent_id": node["parent_id"],
            "endpoint_uri": node["endpoint_uri"],
            "node_started_at": node["started_at_ms"].cast(_TIME),
            "elapsed_ms": node["elapsed_ms"],
            "failed": node["failed"].cast(pa.uint8()),
        }
    )
    return ArrowRows(exchanges, node_rows)


def _repeat(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, _S), n)


__all__ = ["EXCHANGE_SCHEMA", "METADATA_KEY", "ArrowBatch", "ArrowRows", "decode", "encode"]

"""The ingest hot path's view of a telemetry batch: compiled msgspec structs with the limits of
contract.telemetry, decoded straight from JSON bytes (no dict, no pydantic model per row).

The pydantic models stay the contract the sidecar and the relay build and check; these structs
mirror them field for field and are at least as strict (no type coercion, no unknown fields,
unsigned columns bounded so an insert can never fail half-way on a value). They hold only
strings, numbers and containers of them, never a cycle: gc=False keeps the cyclic collector
from tracking (and rescanning) the ~60,000 objects of a 10,000-exchange flush.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from contract.telemetry import (
    MAX_BODY_CHARS,
    MAX_CAMEL_PROBLEMS,
    MAX_EXCHANGES_PER_BATCH,
    MAX_NODES_PER_EXCHANGE,
    MAX_STATS_PER_BATCH,
    TelemetryBatch,
)

_U16 = 2**16 - 1
_U32 = 2**32 - 1
_U64 = 2**63 - 1  # JSON integers beyond int64 are refused by the decoder anyway

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Name = Annotated[str, msgspec.Meta(max_length=1_000)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=_U64)]
Elapsed = Annotated[int, msgspec.Meta(ge=0, le=_U32)]
Count = Annotated[int, msgspec.Meta(ge=0, le=_U64)]


class WireNode(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    seq: Annotated[int, msgspec.Meta(ge=0, le=_U16)]
    started_at_ms: Millis
    elapsed_ms: Elapsed
    route_id: Name = ""
    node_id: Name = ""
    node_name: Name = ""
    level: Annotated[int, msgspec.Meta(ge=0, le=1_000)] = 1
    parent_id: Name = ""
    endpoint_uri: Annotated[str, msgspec.Meta(max_length=4_000)] = ""
    failed: bool = False


class WireExchange(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    exchange_id: Id
    status: Literal["completed", "failed", "incomplete"]
    started_at_ms: Millis
    elapsed_ms: Elapsed
    route_id: Name = ""
    failed_node: Name = ""
    exception_type: Name = ""
    exception_message: Annotated[str, msgspec.Meta(max_length=8_000)] = ""
    stack_trace: Annotated[str, msgspec.Meta(max_length=32_000)] = ""
    headers: Annotated[dict[str, str], msgspec.Meta(max_length=500)] = {}
    body: Annotated[str, msgspec.Meta(max_length=MAX_BODY_CHARS)] = ""
    body_truncated: bool = False
    replayable: bool = False
    nodes: Annotated[tuple[WireNode, ...], msgspec.Meta(max_length=MAX_NODES_PER_EXCHANGE)] = ()


class WireRouteStat(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    sampled_at_ms: Millis
    route_id: Name = ""
    node_id: Name = ""
    exchanges_total: Count = 0
    exchanges_failed: Count = 0
    exchanges_inflight: Count = 0
    mean_ms: Count = 0
    min_ms: Count = 0
    max_ms: Count = 0
    last_ms: Count = 0


class WireCounters(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    events_seen: Count = 0
    events_lost: Count = 0
    exchanges_sampled_out: Count = 0
    exchanges_dropped: Count = 0
    exchanges_incomplete: Count = 0
    jolokia_failures: Count = 0


class WireRouteState(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    route_id: Annotated[str, msgspec.Meta(min_length=1, max_length=1_000)]
    state: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    exchanges_total: Count = 0
    exchanges_failed: Count = 0


class WireCamelHealth(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    checked_at_ms: Millis
    context_state: Annotated[str, msgspec.Meta(max_length=40)] = ""
    routes: Annotated[tuple[WireRouteState, ...], msgspec.Meta(max_length=MAX_STATS_PER_BATCH)] = ()
    problems: Annotated[
        tuple[Annotated[str, msgspec.Meta(max_length=500)], ...],
        msgspec.Meta(max_length=MAX_CAMEL_PROBLEMS),
    ] = ()


# Columnar exchanges (batch format 2, beside the row format): one JSON array per column, so the
# decode yields the insert's columns directly, every value checked in C on the way. A column
# left out holds its default in every row; a column given holds one value per row.
_MAX_NODES = MAX_EXCHANGES_PER_BATCH * MAX_NODES_PER_EXCHANGE


_ROWS = msgspec.Meta(max_length=MAX_EXCHANGES_PER_BATCH)
_NODE_ROWS = msgspec.Meta(max_length=_MAX_NODES)
Seq = Annotated[int, msgspec.Meta(ge=0, le=_U16)]
Level = Annotated[int, msgspec.Meta(ge=0, le=1_000)]
Uri = Annotated[str, msgspec.Meta(max_length=4_000)]
Status = Literal["completed", "failed", "incomplete"]
Message = Annotated[str, msgspec.Meta(max_length=8_000)]
Trace = Annotated[str, msgspec.Meta(max_length=32_000)]
Headers = Annotated[dict[str, str], msgspec.Meta(max_length=500)]
Body = Annotated[str, msgspec.Meta(max_length=MAX_BODY_CHARS)]
NodeCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_NODES_PER_EXCHANGE)]


class WireNodeColumns(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """The nodes of every exchange, exchange after exchange, in ``node_count`` runs."""

    seq: Annotated[list[Seq], _NODE_ROWS]
    started_at_ms: Annotated[list[Millis], _NODE_ROWS]
    elapsed_ms: Annotated[list[Elapsed], _NODE_ROWS]
    route_id: Annotated[list[Name], _NODE_ROWS] | None = None
    node_id: Annotated[list[Name], _NODE_ROWS] | None = None
    node_name: Annotated[list[Name], _NODE_ROWS] | None = None
    level: Annotated[list[Level], _NODE_ROWS] | None = None
    parent_id: Annotated[list[Name], _NODE_ROWS] | None = None
    endpoint_uri: Annotated[list[Uri], _NODE_ROWS] | None = None
    failed: Annotated[list[bool], _NODE_ROWS] | None = None


class WireExchangeColumns(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    exchange_id: Annotated[list[Id], _ROWS]
    status: Annotated[list[Status], _ROWS]
    started_at_ms: Annotated[list[Millis], _ROWS]
    elapsed_ms: Annotated[list[Elapsed], _ROWS]
    route_id: Annotated[list[Name], _ROWS] | None = None
    failed_node: Annotated[list[Name], _ROWS] | None = None
    exception_type: Annotated[list[Name], _ROWS] | None = None
    exception_message: Annotated[list[Message], _ROWS] | None = None
    stack_trace: Annotated[list[Trace], _ROWS] | None = None
    headers: Annotated[list[Headers], _ROWS] | None = None
    body: Annotated[list[Body], _ROWS] | None = None
    body_truncated: Annotated[list[bool], _ROWS] | None = None
    replayable: Annotated[list[bool], _ROWS] | None = None
    node_count: Annotated[list[NodeCount], _ROWS] | None = None
    nodes: WireNodeColumns | None = None

    def __len__(self) -> int:
        return len(self.exchange_id)


class WireBatch(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    batch_id: Id
    integration: Id
    sent_at_ms: Millis
    project: Annotated[str, msgspec.Meta(max_length=63)] = ""
    environment: Annotated[str, msgspec.Meta(max_length=200)] = ""
    pod: Annotated[str, msgspec.Meta(max_length=253)] = ""
    exchanges: Annotated[
        tuple[WireExchange, ...], msgspec.Meta(max_length=MAX_EXCHANGES_PER_BATCH)
    ] = ()
    route_stats: Annotated[
        tuple[WireRouteStat, ...], msgspec.Meta(max_length=MAX_STATS_PER_BATCH)
    ] = ()
    counters: WireCounters = WireCounters()
    camel: WireCamelHealth | None = None
    columns: WireExchangeColumns | None = None
    """Format 2: the exchanges as columns (then ``exchanges`` stays empty)."""

    @property
    def exchange_count(self) -> int:
        return len(self.columns) if self.columns is not None else len(self.exchanges)


class WireError(ValueError):
    """The batch does not match the contract; the message names the place, never a value."""


_decoder = msgspec.json.Decoder(WireBatch)
# msgspec quotes a refused enum value ('...'); values may be message content: never echo them
_QUOTED = re.compile(r"'[^']*'")


def _safe(exc: Exception) -> str:
    return _QUOTED.sub("a value", str(exc))[:300]


def _checked(batch: WireBatch) -> WireBatch:
    """What a per-value check cannot see: the columns of one table have one length."""
    columns = batch.columns
    if columns is None:
        return batch
    if batch.exchanges:
        raise WireError("a batch holds exchanges as rows or as columns, not both")
    _same_length(columns, len(columns), "$.columns", skip=("nodes",))
    counts = columns.node_count
    nodes = columns.nodes
    total = sum(counts) if counts is not None else 0
    if nodes is None:
        if total:
            raise WireError("$.columns.nodes missing for a node_count above 0")
    else:
        if counts is None:
            raise WireError("$.columns.node_count missing beside $.columns.nodes")
        _same_length(nodes, total, "$.columns.nodes", skip=())
    return batch


def _same_length(columns: msgspec.Struct, rows: int, where: str, *, skip: tuple[str, ...]) -> None:
    for name in columns.__struct_fields__:
        value = getattr(columns, name)
        if value is not None and name not in skip and len(value) != rows:
            raise WireError(f"{where}.{name}: {len(value)} values for {rows} rows")


def decode_batch(raw: bytes) -> WireBatch:
    try:
        return _checked(_decoder.decode(raw))
    except msgspec.ValidationError as exc:
        # the rule and the path (`$.exchanges[3].seq`), not the offending value
        raise WireError(_safe(exc)) from exc
    except msgspec.DecodeError as exc:
        raise WireError(f"not JSON: {_safe(exc)}") from exc


def from_object(document: Any) -> WireBatch:
    """The same checks for a batch that arrived already decoded (inside a tunnel envelope)."""
    try:
        return _checked(msgspec.convert(document, WireBatch, strict=True))
    except msgspec.ValidationError as exc:
        raise WireError(_safe(exc)) from exc


def from_model(batch: TelemetryBatch) -> WireBatch:
    """A batch that pydantic already checked (in-process callers, tests)."""
    return from_object(batch.model_dump(mode="json"))

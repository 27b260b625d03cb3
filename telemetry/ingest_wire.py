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


class WireError(ValueError):
    """The batch does not match the contract; the message names the place, never a value."""


_decoder = msgspec.json.Decoder(WireBatch)
# msgspec quotes a refused enum value ('...'); values may be message content: never echo them
_QUOTED = re.compile(r"'[^']*'")


def _safe(exc: Exception) -> str:
    return _QUOTED.sub("a value", str(exc))[:300]


def decode_batch(raw: bytes) -> WireBatch:
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        # the rule and the path (`$.exchanges[3].seq`), not the offending value
        raise WireError(_safe(exc)) from exc
    except msgspec.DecodeError as exc:
        raise WireError(f"not JSON: {_safe(exc)}") from exc


def from_object(document: Any) -> WireBatch:
    """The same checks for a batch that arrived already decoded (inside a tunnel envelope)."""
    try:
        return msgspec.convert(document, WireBatch, strict=True)
    except msgspec.ValidationError as exc:
        raise WireError(_safe(exc)) from exc


def from_model(batch: TelemetryBatch) -> WireBatch:
    """A batch that pydantic already checked (in-process callers, tests)."""
    return from_object(batch.model_dump(mode="json"))

"""Telemetry batches: what a sidecar sends upstream (already sampled and redacted).

The runner relay and the control-plane ingestor both validate against these models, so a
hostile or broken sidecar cannot push unbounded or unexpected data into the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_EXCHANGES_PER_BATCH = 5_000
MAX_NODES_PER_EXCHANGE = 1_000
MAX_STATS_PER_BATCH = 5_000
MAX_BODY_CHARS = 64 * 1024
_ID = Field(min_length=1, max_length=200)
_NAME = Field(default="", max_length=1_000)
_COUNT = Field(default=0, ge=0)
# where a runner gives a sidecar its handover token (telemetry.sidecar.handover): the
# environment (read by camelops.settings), because a command line is readable by every local user
HANDOVER_TOKEN_ENV = "CAMELOPS_SIDECAR_HANDOVER_TOKEN"  # noqa: S105 - the variable's name, not a secret


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExchangeStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    # the tracer's backlog overflowed or the JVM went away before the exchange finished
    INCOMPLETE = "incomplete"


class NodeRecord(_Frozen):
    """One processor an exchange passed through, in the order it ran."""

    seq: int = Field(ge=0)
    route_id: str = _NAME
    node_id: str = _NAME
    node_name: str = _NAME
    level: int = Field(default=1, ge=0, le=1_000)
    parent_id: str = _NAME
    endpoint_uri: str = Field(default="", max_length=4_000)
    started_at_ms: int = Field(ge=0)
    elapsed_ms: int = Field(ge=0)
    failed: bool = False


class ExchangeRecord(_Frozen):
    """One exchange, redacted: nothing in here may carry PII that the rules know about."""

    exchange_id: str = _ID
    route_id: str = _NAME
    status: ExchangeStatus
    started_at_ms: int = Field(ge=0)
    elapsed_ms: int = Field(ge=0)
    failed_node: str = _NAME
    exception_type: str = _NAME
    exception_message: str = Field(default="", max_length=8_000)
    stack_trace: str = Field(default="", max_length=32_000)
    headers: dict[str, str] = Field(default_factory=dict, max_length=500)
    body: str = Field(default="", max_length=MAX_BODY_CHARS)
    body_truncated: bool = False
    replayable: bool = False
    nodes: tuple[NodeRecord, ...] = Field(default=(), max_length=MAX_NODES_PER_EXCHANGE)


class RouteStat(_Frozen):
    """JMX statistics of one route (node_id empty) or one processor, at one moment."""

    route_id: str = _NAME
    node_id: str = _NAME
    sampled_at_ms: int = Field(ge=0)
    exchanges_total: int = _COUNT
    exchanges_failed: int = _COUNT
    exchanges_inflight: int = _COUNT
    mean_ms: int = _COUNT
    min_ms: int = _COUNT
    max_ms: int = _COUNT
    last_ms: int = _COUNT


class CaptureCounters(_Frozen):
    """Cumulative since the sidecar started: the portal shows what was lost and why."""

    events_seen: int = _COUNT
    events_lost: int = Field(default=0, ge=0, description="uid gaps: the tracer dropped them")
    exchanges_sampled_out: int = _COUNT
    exchanges_dropped: int = Field(default=0, ge=0, description="ring buffer overflow")
    exchanges_incomplete: int = _COUNT
    jolokia_failures: int = _COUNT


MAX_CAMEL_PROBLEMS = 50


class RouteState(_Frozen):
    """One route's state as Camel reports it (ServiceStatus: Started, Stopped, Suspended...)."""

    route_id: str = Field(min_length=1, max_length=1_000)
    state: str = Field(min_length=1, max_length=40)
    exchanges_total: int = _COUNT
    exchanges_failed: int = _COUNT


class CamelHealthReport(_Frozen):
    """The sidecar's verdict on its Camel context at `checked_at_ms`: `problems` is empty when
    Camel is healthy, else one line per problem naming the route (a route not started, a
    failure rate above the integration's threshold within the window)."""

    checked_at_ms: int = Field(ge=0)
    context_state: str = Field(default="", max_length=40)
    routes: tuple[RouteState, ...] = Field(default=(), max_length=MAX_STATS_PER_BATCH)
    problems: tuple[Annotated[str, Field(max_length=500)], ...] = Field(
        default=(), max_length=MAX_CAMEL_PROBLEMS
    )


# Batch format 2: the same exchanges as columns, one array per field, so the control plane
# decodes the insert's columns directly (telemetry.ingest_wire mirrors these checks). A column
# left out (None) holds the field's default in every row. The node columns hold every
# exchange's nodes in order, ``node_count`` of them per exchange.
_NODE_ROWS = MAX_EXCHANGES_PER_BATCH * MAX_NODES_PER_EXCHANGE
_Name = Annotated[str, Field(max_length=1_000)]
_Unsigned = Annotated[int, Field(ge=0)]
_ALWAYS = frozenset({"exchange_id", "status", "started_at_ms", "elapsed_ms", "seq"})


class NodeColumns(_Frozen):
    seq: tuple[_Unsigned, ...] = Field(max_length=_NODE_ROWS)
    started_at_ms: tuple[_Unsigned, ...] = Field(max_length=_NODE_ROWS)
    elapsed_ms: tuple[_Unsigned, ...] = Field(max_length=_NODE_ROWS)
    route_id: tuple[_Name, ...] | None = Field(default=None, max_length=_NODE_ROWS)
    node_id: tuple[_Name, ...] | None = Field(default=None, max_length=_NODE_ROWS)
    node_name: tuple[_Name, ...] | None = Field(default=None, max_length=_NODE_ROWS)
    level: tuple[Annotated[int, Field(ge=0, le=1_000)], ...] | None = Field(
        default=None, max_length=_NODE_ROWS
    )
    parent_id: tuple[_Name, ...] | None = Field(default=None, max_length=_NODE_ROWS)
    endpoint_uri: tuple[Annotated[str, Field(max_length=4_000)], ...] | None = Field(
        default=None, max_length=_NODE_ROWS
    )
    failed: tuple[bool, ...] | None = Field(default=None, max_length=_NODE_ROWS)


class ExchangeColumns(_Frozen):
    exchange_id: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        max_length=MAX_EXCHANGES_PER_BATCH
    )
    status: tuple[ExchangeStatus, ...] = Field(max_length=MAX_EXCHANGES_PER_BATCH)
    started_at_ms: tuple[_Unsigned, ...] = Field(max_length=MAX_EXCHANGES_PER_BATCH)
    elapsed_ms: tuple[_Unsigned, ...] = Field(max_length=MAX_EXCHANGES_PER_BATCH)
    route_id: tuple[_Name, ...] | None = Field(default=None, max_length=MAX_EXCHANGES_PER_BATCH)
    failed_node: tuple[_Name, ...] | None = Field(default=None, max_length=MAX_EXCHANGES_PER_BATCH)
    exception_type: tuple[_Name, ...] | None = Field(
        default=None, max_length=MAX_EXCHANGES_PER_BATCH
    )
    exception_message: tuple[Annotated[str, Field(max_length=8_000)], ...] | None = Field(
        default=None, max_length=MAX_EXCHANGES_PER_BATCH
    )
    stack_trace: tuple[Annotated[str, Field(max_length=32_000)], ...] | None = Field(
        default=None, max_length=MAX_EXCHANGES_PER_BATCH
    )
    headers: tuple[Annotated[dict[str, str], Field(max_length=500)], ...] | None = Field(
        default=None, max_length=MAX_EXCHANGES_PER_BATCH
    )
    body: tuple[Annotated[str, Field(max_length=MAX_BODY_CHARS)], ...] | None = Field(
        default=None, max_length=MAX_EXCHANGES_PER_BATCH
    )
    body_truncated: tuple[bool, ...] | None = Field(
        default=None, max_length=MAX_EXCHANGES_PER_BATCH
    )
    replayable: tuple[bool, ...] | None = Field(default=None, max_length=MAX_EXCHANGES_PER_BATCH)
    node_count: tuple[Annotated[int, Field(ge=0, le=MAX_NODES_PER_EXCHANGE)], ...] | None = Field(
        default=None, max_length=MAX_EXCHANGES_PER_BATCH
    )
    nodes: NodeColumns | None = None

    @model_validator(mode="after")
    def _one_length(self) -> ExchangeColumns:
        rows = len(self.exchange_id)
        _same_length(self, rows, skip="nodes")
        total = sum(self.node_count) if self.node_count is not None else 0
        if self.nodes is None:
            if total:
                raise ValueError("nodes missing for a node_count above 0")
        elif self.node_count is None:
            raise ValueError("node_count missing beside nodes")
        else:
            _same_length(self.nodes, total, skip="")
        return self

    @classmethod
    def of(cls, records: Sequence[ExchangeRecord]) -> ExchangeColumns:
        """The columns of records already checked (no second validation)."""
        columns = _transposed(records, ExchangeRecord, skip="nodes")
        nodes = [node for record in records for node in record.nodes]
        if nodes:
            columns["node_count"] = tuple(len(record.nodes) for record in records)
            columns["nodes"] = NodeColumns.model_construct(
                **_transposed(nodes, NodeRecord, skip="")
            )
        return cls.model_construct(**columns)


def _same_length(columns: BaseModel, rows: int, *, skip: str) -> None:
    for name in type(columns).model_fields:
        value = getattr(columns, name)
        if name != skip and value is not None and len(value) != rows:
            raise ValueError(f"{name}: {len(value)} values for {rows} rows")


def _transposed(rows: Sequence[BaseModel], model: type[BaseModel], *, skip: str) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == skip:
            continue
        values = tuple(getattr(row, name) for row in rows)
        default = info.get_default(call_default_factory=True)
        # a column whose every value is the default stays off the wire
        if name in _ALWAYS or any(value != default for value in values):
            columns[name] = values
    return columns


class TelemetryBatch(_Frozen):
    """A sidecar's batch; ``batch_id`` makes redelivery idempotent (at-least-once upstream)."""

    batch_id: str = _ID
    integration: str = _ID
    project: str = Field(
        default="", max_length=63, description="empty: the control plane fills it in"
    )
    environment: str = Field(default="", max_length=200)
    pod: str = Field(default="", max_length=253)
    sent_at_ms: int = Field(ge=0)
    exchanges: tuple[ExchangeRecord, ...] = Field(default=(), max_length=MAX_EXCHANGES_PER_BATCH)
    route_stats: tuple[RouteStat, ...] = Field(default=(), max_length=MAX_STATS_PER_BATCH)
    counters: CaptureCounters = Field(default_factory=CaptureCounters)
    camel: CamelHealthReport | None = None
    """None: the sidecar has no verdict (not connected to Camel yet)."""
    columns: ExchangeColumns | None = None
    """Format 2: the exchanges as columns; ``exchanges`` is then empty."""

    @model_validator(mode="after")
    def _rows_or_columns(self) -> TelemetryBatch:
        if self.columns is not None and self.exchanges:
            raise ValueError("a batch holds exchanges as rows or as columns, not both")
        return self

    @property
    def exchange_count(self) -> int:
        return len(self.columns.exchange_id) if self.columns is not None else len(self.exchanges)

    def as_columns(self) -> TelemetryBatch:
        """The same batch in format 2 (what the relay forwards to the control plane)."""
        if self.columns is not None:
            return self
        return self.model_copy(
            update={"exchanges": (), "columns": ExchangeColumns.of(self.exchanges)}
        )

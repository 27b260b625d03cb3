"""Decoded batches -> one column list per table column (the order of telemetry.schema_sql), built
column by column rather than row by row: each column is one comprehension over the structs, and
constant columns (org, integration, batch id) are a repeated reference. Times stay epoch
milliseconds: DateTime64(3) takes them as they are, no datetime object per value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from telemetry.ingest_wire import WireBatch, WireExchange, WireNode
from telemetry.schema_sql import EXCHANGE_COLUMNS, NODE_COLUMNS, STAT_COLUMNS

Column = list[Any]


def _empty(names: Sequence[str]) -> dict[str, Column]:
    return {name: [] for name in names}


@dataclass(slots=True)
class Columns:
    exchanges: dict[str, Column] = field(default_factory=lambda: _empty(EXCHANGE_COLUMNS))
    nodes: dict[str, Column] = field(default_factory=lambda: _empty(NODE_COLUMNS))
    stats: dict[str, Column] = field(default_factory=lambda: _empty(STAT_COLUMNS))

    @property
    def exchange_count(self) -> int:
        return len(self.exchanges["exchange_id"])

    def add(
        self,
        org: str,
        batch: WireBatch,
        exchanges: Sequence[WireExchange],
        ingested_ms: int,
    ) -> None:
        _add_exchanges(self.exchanges, org, batch, exchanges, ingested_ms)
        _add_nodes(self.nodes, org, batch.integration, exchanges)
        _add_stats(self.stats, org, batch)


def _add_exchanges(
    out: dict[str, Column],
    org: str,
    batch: WireBatch,
    exchanges: Sequence[WireExchange],
    ingested_ms: int,
) -> None:
    n = len(exchanges)
    out["org"] += [org] * n
    out["project"] += [batch.project] * n
    out["integration"] += [batch.integration] * n
    out["environment"] += [batch.environment] * n
    out["pod"] += [batch.pod] * n
    out["exchange_id"] += [e.exchange_id for e in exchanges]
    out["route_id"] += [e.route_id for e in exchanges]
    out["status"] += [e.status for e in exchanges]
    out["started_at"] += [e.started_at_ms for e in exchanges]
    out["elapsed_ms"] += [e.elapsed_ms for e in exchanges]
    out["failed_node"] += [e.failed_node for e in exchanges]
    out["exception_type"] += [e.exception_type for e in exchanges]
    out["exception_message"] += [e.exception_message for e in exchanges]
    out["stack_trace"] += [e.stack_trace for e in exchanges]
    out["headers"] += [e.headers for e in exchanges]
    out["body"] += [e.body for e in exchanges]
    out["body_truncated"] += [int(e.body_truncated) for e in exchanges]
    out["replayable"] += [int(e.replayable) for e in exchanges]
    out["node_path"] += [[f"{x.route_id}/{x.node_id}" for x in e.nodes] for e in exchanges]
    out["batch_id"] += [batch.batch_id] * n
    out["ingested_at"] += [ingested_ms] * n


def _add_nodes(
    out: dict[str, Column], org: str, integration: str, exchanges: Sequence[WireExchange]
) -> None:
    # one comprehension per column beats building a tuple per node and transposing it
    owners = [e for e in exchanges for _ in e.nodes]
    nodes: list[WireNode] = [node for e in exchanges for node in e.nodes]
    n = len(nodes)
    out["org"] += [org] * n
    out["integration"] += [integration] * n
    # each node row repeats its exchange's id and start (the table's sort key)
    out["exchange_id"] += [e.exchange_id for e in owners]
    out["started_at"] += [e.started_at_ms for e in owners]
    out["seq"] += [x.seq for x in nodes]
    out["route_id"] += [x.route_id for x in nodes]
    out["node_id"] += [x.node_id for x in nodes]
    out["node_name"] += [x.node_name for x in nodes]
    out["level"] += [x.level for x in nodes]
    out["parent_id"] += [x.parent_id for x in nodes]
    out["endpoint_uri"] += [x.endpoint_uri for x in nodes]
    out["node_started_at"] += [x.started_at_ms for x in nodes]
    out["elapsed_ms"] += [x.elapsed_ms for x in nodes]
    out["failed"] += [int(x.failed) for x in nodes]


def _add_stats(out: dict[str, Column], org: str, batch: WireBatch) -> None:
    stats = batch.route_stats
    n = len(stats)
    out["org"] += [org] * n
    out["integration"] += [batch.integration] * n
    out["environment"] += [batch.environment] * n
    out["pod"] += [batch.pod] * n
    out["route_id"] += [s.route_id for s in stats]
    out["node_id"] += [s.node_id for s in stats]
    out["started_at"] += [s.sampled_at_ms for s in stats]
    out["exchanges_total"] += [s.exchanges_total for s in stats]
    out["exchanges_failed"] += [s.exchanges_failed for s in stats]
    out["exchanges_inflight"] += [s.exchanges_inflight for s in stats]
    out["mean_ms"] += [s.mean_ms for s in stats]
    out["min_ms"] += [s.min_ms for s in stats]
    out["max_ms"] += [s.max_ms for s in stats]
    out["last_ms"] += [s.last_ms for s in stats]

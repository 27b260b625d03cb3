"""Decoded batches -> one column list per table column (the order of telemetry.schema_sql), built
column by column rather than row by row: each column is one comprehension over the structs, and
constant columns (org, integration, batch id) are a repeated reference. A columnar batch
(format 2) arrives as columns already: its lists are appended as decoded, and only what the
tables derive (each node row's exchange id and start, the exchange's node_path) is built. Times
stay epoch milliseconds: DateTime64(3) takes them as they are, no datetime object per value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, islice, repeat
from typing import Any, TypeVar

import msgspec

from telemetry.ingest_wire import (
    WireBatch,
    WireExchange,
    WireExchangeColumns,
    WireNode,
    WireNodeColumns,
)
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

    def add_columns(
        self, org: str, batch: WireBatch, exchanges: WireExchangeColumns, ingested_ms: int
    ) -> None:
        """A format-2 batch: its decoded columns are appended as they are, no row is built."""
        _add_exchange_columns(self.exchanges, org, batch, exchanges, ingested_ms)
        _add_node_columns(self.nodes, org, batch.integration, exchanges)
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


T = TypeVar("T")


def _given(column: list[T] | None, default: T, n: int) -> list[T]:
    # a column the sender left out holds its default in every row (one shared value)
    return column if column is not None else [default] * n


def _add_exchange_columns(
    out: dict[str, Column],
    org: str,
    batch: WireBatch,
    columns: WireExchangeColumns,
    ingested_ms: int,
) -> None:
    n = len(columns)
    out["org"] += [org] * n
    out["project"] += [batch.project] * n
    out["integration"] += [batch.integration] * n
    out["environment"] += [batch.environment] * n
    out["pod"] += [batch.pod] * n
    out["exchange_id"] += columns.exchange_id
    out["route_id"] += _given(columns.route_id, "", n)
    out["status"] += columns.status
    out["started_at"] += columns.started_at_ms
    out["elapsed_ms"] += columns.elapsed_ms
    out["failed_node"] += _given(columns.failed_node, "", n)
    out["exception_type"] += _given(columns.exception_type, "", n)
    out["exception_message"] += _given(columns.exception_message, "", n)
    out["stack_trace"] += _given(columns.stack_trace, "", n)
    out["headers"] += _given(columns.headers, {}, n)
    out["body"] += _given(columns.body, "", n)
    # bool is an int: the UInt8 columns take the decoded values as they are
    out["body_truncated"] += _given(columns.body_truncated, False, n)
    out["replayable"] += _given(columns.replayable, False, n)
    out["node_path"] += _node_paths(columns)
    out["batch_id"] += [batch.batch_id] * n
    out["ingested_at"] += [ingested_ms] * n


def _node_paths(columns: WireExchangeColumns) -> list[list[str]]:
    n = len(columns)
    nodes = columns.nodes
    if nodes is None or columns.node_count is None:
        return [[] for _ in range(n)]
    total = len(nodes.seq)
    routes = _given(nodes.route_id, "", total)
    ids = _given(nodes.node_id, "", total)
    paths = iter([f"{route}/{node}" for route, node in zip(routes, ids, strict=True)])
    return [list(islice(paths, count)) for count in columns.node_count]


def _add_node_columns(
    out: dict[str, Column], org: str, integration: str, columns: WireExchangeColumns
) -> None:
    nodes = columns.nodes
    if nodes is None or columns.node_count is None:
        return
    counts = columns.node_count
    m = len(nodes.seq)
    out["org"] += [org] * m
    out["integration"] += [integration] * m
    # each node row repeats its exchange's id and start (the table's sort key)
    out["exchange_id"] += chain.from_iterable(map(repeat, columns.exchange_id, counts))
    out["started_at"] += chain.from_iterable(map(repeat, columns.started_at_ms, counts))
    out["seq"] += nodes.seq
    out["route_id"] += _given(nodes.route_id, "", m)
    out["node_id"] += _given(nodes.node_id, "", m)
    out["node_name"] += _given(nodes.node_name, "", m)
    out["level"] += _given(nodes.level, 1, m)
    out["parent_id"] += _given(nodes.parent_id, "", m)
    out["endpoint_uri"] += _given(nodes.endpoint_uri, "", m)
    out["node_started_at"] += nodes.started_at_ms
    out["elapsed_ms"] += nodes.elapsed_ms
    out["failed"] += _given(nodes.failed, False, m)


def take(columns: WireExchangeColumns, rows: Sequence[int]) -> WireExchangeColumns:
    """Only the exchanges at ``rows`` (and their nodes): the path for batches that hold ids
    already stored, so the common all-new batch never copies a column."""
    counts = columns.node_count
    nodes = columns.nodes
    node_rows: list[int] = []
    if counts is not None and nodes is not None:
        starts = list(accumulate(counts, initial=0))
        node_rows = [j for i in rows for j in range(starts[i], starts[i + 1])]
        nodes = _take_struct(nodes, node_rows, skip=())
    exchanges = _take_struct(columns, rows, skip=("nodes",))
    return msgspec.structs.replace(exchanges, nodes=nodes)


S = TypeVar("S", WireExchangeColumns, WireNodeColumns)


def _take_struct(columns: S, rows: Sequence[int], *, skip: tuple[str, ...]) -> S:
    changes: dict[str, Any] = {}
    for name in columns.__struct_fields__:
        value = getattr(columns, name)
        if value is not None and name not in skip:
            changes[name] = [value[i] for i in rows]
    return msgspec.structs.replace(columns, **changes)


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

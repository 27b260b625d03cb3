"""Batch records -> store rows (column order of telemetry.schema_sql). Pure, no client here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contract.telemetry import ExchangeRecord, RouteStat, TelemetryBatch

Row = list[Any]


@dataclass(frozen=True, slots=True)
class Rows:
    exchanges: list[Row]
    nodes: list[Row]
    stats: list[Row]


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def batch_rows(
    org: str, batch: TelemetryBatch, exchanges: Sequence[ExchangeRecord], ingested_ms: int
) -> Rows:
    ingested = ms_to_datetime(ingested_ms)
    exchange_rows: list[Row] = []
    node_rows: list[Row] = []
    for record in exchanges:
        started = ms_to_datetime(record.started_at_ms)
        exchange_rows.append(_exchange_row(org, batch, record, started, ingested))
        for node in record.nodes:
            node_rows.append(
                [
                    org, batch.integration, record.exchange_id, started, node.seq, node.route_id,
                    node.node_id, node.node_name, node.level, node.parent_id, node.endpoint_uri,
                    ms_to_datetime(node.started_at_ms), node.elapsed_ms, int(node.failed),
                ]
            )  # fmt: skip
    stats = [_stat_row(org, batch, stat) for stat in batch.route_stats]
    return Rows(exchange_rows, node_rows, stats)


def _exchange_row(
    org: str, batch: TelemetryBatch, record: ExchangeRecord, started: datetime, ingested: datetime
) -> Row:
    path = [f"{node.route_id}/{node.node_id}" for node in record.nodes]
    return [
        org, batch.integration, batch.environment, batch.pod, record.exchange_id, record.route_id,
        record.status.value, started, record.elapsed_ms, record.failed_node,
        record.exception_type, record.exception_message, record.stack_trace, dict(record.headers),
        record.body, int(record.body_truncated), int(record.replayable), path, batch.batch_id,
        ingested,
    ]  # fmt: skip


def _stat_row(org: str, batch: TelemetryBatch, stat: RouteStat) -> Row:
    return [
        org, batch.integration, batch.environment, batch.pod, stat.route_id, stat.node_id,
        ms_to_datetime(stat.sampled_at_ms), stat.exchanges_total, stat.exchanges_failed,
        stat.exchanges_inflight, stat.mean_ms, stat.min_ms, stat.max_ms, stat.last_ms,
    ]  # fmt: skip

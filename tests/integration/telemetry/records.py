"""Builders of telemetry batches for store, ingest and bench (no randomness: stable ids)."""

from __future__ import annotations

from contract.telemetry import ExchangeRecord, ExchangeStatus, NodeRecord, RouteStat, TelemetryBatch

BASE_MS = 1_790_000_000_000  # a fixed instant: no wall clock in expectations


def exchange(
    n: int,
    *,
    failed: bool = False,
    route: str = "orders-http",
    started_ms: int | None = None,
    nodes: int = 3,
) -> ExchangeRecord:
    start = BASE_MS + n * 1000 if started_ms is None else started_ms
    return ExchangeRecord(
        exchange_id=f"EX-{n:08d}",
        route_id=route,
        status=ExchangeStatus.FAILED if failed else ExchangeStatus.COMPLETED,
        started_at_ms=start,
        elapsed_ms=10 + n % 7,
        failed_node=f"n{nodes - 1}" if failed else "",
        exception_type="java.lang.IllegalStateException" if failed else "",
        exception_message="stock service down" if failed else "",
        headers={"Content-Type": "application/json"},
        body=f'{{"n":{n}}}',
        replayable=True,
        nodes=tuple(
            NodeRecord(
                seq=seq,
                route_id=route,
                node_id=f"n{seq}",
                node_name="to",
                started_at_ms=start,
                elapsed_ms=seq + 1,
                failed=failed and seq == nodes - 1,
            )
            for seq in range(nodes)
        ),
    )


def batch(
    batch_id: str, exchanges: list[ExchangeRecord], *, integration: str = "orders"
) -> TelemetryBatch:
    stats = (RouteStat(route_id="orders-http", sampled_at_ms=BASE_MS, exchanges_total=7),)
    return TelemetryBatch(
        batch_id=batch_id,
        integration=integration,
        environment="prod",
        pod="orders-0",
        sent_at_ms=BASE_MS,
        exchanges=tuple(exchanges),
        route_stats=stats,
    )

"""Telemetry tables (one schema for chDB and a ClickHouse server): MergeTree, partitioned by
month, ordered for the portal's queries (org, integration, then time), expiring by TTL.

`table_ddl` is also the migration: every statement is idempotent and runs at each start, so a
store created by an older camelops gains the columns and projections added since."""

from __future__ import annotations


def table_ddl(database: str, retention_days: int) -> list[str]:
    ttl = f"TTL toDateTime(started_at) + INTERVAL {int(retention_days)} DAY"
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}",
        f"""CREATE TABLE IF NOT EXISTS {database}.exchanges (
            org LowCardinality(String),
            project LowCardinality(String) DEFAULT '',
            integration LowCardinality(String),
            environment LowCardinality(String),
            pod String,
            exchange_id String,
            route_id LowCardinality(String),
            status LowCardinality(String),
            started_at DateTime64(3, 'UTC'),
            elapsed_ms UInt32,
            failed_node String,
            exception_type String,
            exception_message String,
            stack_trace String,
            headers Map(String, String),
            body String,
            body_truncated UInt8,
            replayable UInt8,
            node_path Array(String),
            batch_id String,
            ingested_at DateTime64(3, 'UTC'),
            INDEX exchange_id_idx exchange_id TYPE bloom_filter GRANULARITY 4
        )
        ENGINE = ReplacingMergeTree(ingested_at)
        PARTITION BY toYYYYMM(started_at)
        ORDER BY (org, integration, started_at, exchange_id)
        {ttl}
        SETTINGS deduplicate_merge_projection_mode = 'rebuild'""",
        *_exchange_migrations(database),
        f"""CREATE TABLE IF NOT EXISTS {database}.exchange_nodes (
            org LowCardinality(String),
            integration LowCardinality(String),
            exchange_id String,
            started_at DateTime64(3, 'UTC'),
            seq UInt16,
            route_id LowCardinality(String),
            node_id LowCardinality(String),
            node_name LowCardinality(String),
            level UInt16,
            parent_id String,
            endpoint_uri String,
            node_started_at DateTime64(3, 'UTC'),
            elapsed_ms UInt32,
            failed UInt8,
            INDEX exchange_id_idx exchange_id TYPE bloom_filter GRANULARITY 4
        )
        ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(started_at)
        ORDER BY (org, integration, route_id, node_id, started_at, exchange_id, seq)
        {ttl}""",
        f"""CREATE TABLE IF NOT EXISTS {database}.route_stats (
            org LowCardinality(String),
            integration LowCardinality(String),
            environment LowCardinality(String),
            pod String,
            route_id LowCardinality(String),
            node_id LowCardinality(String),
            started_at DateTime64(3, 'UTC'),
            exchanges_total UInt64,
            exchanges_failed UInt64,
            exchanges_inflight UInt64,
            mean_ms UInt64,
            min_ms UInt64,
            max_ms UInt64,
            last_ms UInt64
        )
        ENGINE = MergeTree
        PARTITION BY toYYYYMM(started_at)
        ORDER BY (org, integration, route_id, node_id, started_at)
        {ttl}""",
    ]


def _exchange_migrations(database: str) -> list[str]:
    """Added after the first release. The projections keep the summary columns in two more
    orders, so the pages that do not know an exchange's integration read a few granules:
    a traces search by exchange id, and an environment's exchanges (failed messages) newest
    first.
    ClickHouse picks a projection by itself when a query reads only its columns.

    `timeline` is the exchange's nodes kept on its own row (the store fills it at insert from
    the node rows of the same batch): the detail page then reads one table, not two, and each
    read of a MergeTree costs ~5 ms of engine CPU whatever its size. Rows stored before it was
    added keep `[]` and are read with their nodes from `exchange_nodes`, as before."""
    table = f"{database}.exchanges"
    summary = (
        "org, project, environment, status, exchange_id, integration, route_id, started_at,"
        " elapsed_ms, failed_node, exception_type, exception_message, ingested_at"
    )
    return [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS project LowCardinality(String)"
        " DEFAULT '' AFTER org",
        f"ALTER TABLE {table} MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'",
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS timeline {TIMELINE_TYPE} AFTER node_path",
        f"ALTER TABLE {table} ADD PROJECTION IF NOT EXISTS by_exchange_id"
        f" (SELECT {summary} ORDER BY org, exchange_id)",
        f"ALTER TABLE {table} ADD PROJECTION IF NOT EXISTS by_environment"
        f" (SELECT {summary} ORDER BY org, project, environment, status, started_at)",
    ]


# one tuple per node, in the order of StoredNode (contract.exchanges)
TIMELINE_TYPE = (
    "Array(Tuple(seq UInt16, route_id String, node_id String, node_name String, level UInt16,"
    " endpoint_uri String, elapsed_ms UInt32, failed UInt8))"
)
TIMELINE_FIELDS = (
    "seq", "route_id", "node_id", "node_name", "level", "endpoint_uri", "elapsed_ms", "failed",
)  # fmt: skip

# Projections added to a table that already holds rows cover only new parts until this runs
# (a mutation over the whole table: `TelemetryStore.materialize_projections`, run by hand).
MATERIALIZE = ("by_exchange_id", "by_environment")

EXCHANGE_COLUMNS = (
    "org", "project", "integration", "environment", "pod", "exchange_id", "route_id", "status",
    "started_at", "elapsed_ms", "failed_node", "exception_type", "exception_message",
    "stack_trace", "headers", "body", "body_truncated", "replayable", "node_path", "batch_id",
    "ingested_at",
)  # fmt: skip
NODE_COLUMNS = (
    "org", "integration", "exchange_id", "started_at", "seq", "route_id", "node_id",
    "node_name", "level", "parent_id", "endpoint_uri", "node_started_at", "elapsed_ms", "failed",
)  # fmt: skip
STAT_COLUMNS = (
    "org", "integration", "environment", "pod", "route_id", "node_id", "started_at",
    "exchanges_total", "exchanges_failed", "exchanges_inflight", "mean_ms", "min_ms", "max_ms",
    "last_ms",
)  # fmt: skip

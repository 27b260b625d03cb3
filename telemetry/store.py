"""The telemetry store: the only clickhouse-connect / chDB user. DSN ``chdb://<dir>`` runs the
ClickHouse engine in process; ``http(s)://...`` talks to a server. Same schema, same queries."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.exceptions import ClickHouseError

from contract.exchanges import (
    ExchangeDetail,
    ExchangeStoreError,
    ExchangeSummary,
    NodeCounter,
    NodeStat,
    RouteStat,
    StoredNode,
)
from telemetry.schema_sql import MATERIALIZE, TIMELINE_FIELDS, table_ddl

__all__ = [
    "ExchangeDetail",
    "ExchangeSummary",
    "NodeCounter",
    "NodeStat",
    "RouteStat",
    "StoreError",
    "StoredNode",
    "TelemetryStore",
]

MAX_RETENTION_DAYS = 3_650
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SUMMARY = (
    "exchange_id, integration, route_id, status, started_at, elapsed_ms, failed_node, "
    "exception_type, exception_message"
)

# chDB embeds one ClickHouse server per process and it can open exactly one data path:
# every store on the same path shares one client (it is thread-safe).
_chdb_lock = threading.Lock()
_chdb_clients: dict[str, Any] = {}


# Every insert block is already free of duplicates (the ingestor de-duplicates before it
# writes), so the engine's own in-block folding on insert is skipped; one thread per insert:
# a block of a few thousand rows gains nothing from a pool (measured: ~14% less CPU per insert).
_INSERT_SETTINGS = {"optimize_on_insert": 0, "max_threads": 1, "max_insert_threads": 1}


class StoreError(ExchangeStoreError):
    """The telemetry store refused or failed an operation."""


def _open_client(dsn: str) -> Any:
    try:
        if dsn.startswith("chdb://"):
            path = str(Path(dsn.removeprefix("chdb://")).resolve())
            with _chdb_lock:
                if path not in _chdb_clients:
                    if _chdb_clients:
                        (open_path,) = _chdb_clients
                        raise StoreError(
                            f"chDB is already open on {open_path}; one data path per process"
                        )
                    Path(path).mkdir(parents=True, exist_ok=True)
                    _chdb_clients[path] = clickhouse_connect.get_client(interface="chdb", path=path)
                return _chdb_clients[path]
        if dsn.startswith(("http://", "https://")):
            return clickhouse_connect.get_client(dsn=dsn)
    except ClickHouseError as exc:
        raise StoreError(f"cannot open the telemetry store: {str(exc)[:300]}") from exc
    raise StoreError("telemetry DSN must start with chdb://, http:// or https://")


class TelemetryStore:
    def __init__(self, dsn: str, *, database: str = "camelops_telemetry", retention_days: int = 30):
        if not _DATABASE_NAME.match(database):
            raise StoreError(f"invalid telemetry database name {database!r}")
        if not 1 <= retention_days <= MAX_RETENTION_DAYS:
            # DateTime arithmetic past 2106 wraps around and would expire everything at once
            raise StoreError(f"retention_days must be within 1..{MAX_RETENTION_DAYS}")
        self.database = database
        self.retention_days = retention_days
        self._client = _open_client(dsn)
        self._types: dict[str, dict[str, str]] = {}

    def migrate(self) -> None:
        for statement in table_ddl(self.database, self.retention_days):
            self._command(statement)

    def materialize_projections(self) -> None:
        """Build the projections for rows stored before they existed (one mutation per
        projection over the whole table; new rows get them as they are inserted)."""
        for name in MATERIALIZE:
            self._command(
                f"ALTER TABLE {self.database}.exchanges MATERIALIZE PROJECTION {name}"
                " SETTINGS mutations_sync = 1"
            )

    def drop(self) -> None:
        self._command(f"DROP DATABASE IF EXISTS {self.database}")
        self._types.clear()

    def insert_columns(
        self,
        *,
        exchanges: Mapping[str, list[Any]],
        nodes: Mapping[str, list[Any]],
        stats: Mapping[str, list[Any]],
    ) -> None:
        """Column-oriented inserts, one per table; the exchange rows go last so a reader that
        finds an exchange also finds its nodes. Times are epoch milliseconds. Each exchange
        row also gets its own nodes as `timeline` (see schema_sql), cut from `nodes`."""
        self._insert_columns("exchange_nodes", nodes)
        self._insert_columns("route_stats", stats)
        if exchanges.get("exchange_id") and "timeline" not in exchanges:
            exchanges = {**exchanges, "timeline": timelines(exchanges, nodes)}
        self._insert_columns("exchanges", exchanges)

    def insert_arrow(self, *, exchanges: pa.Table, nodes: pa.Table) -> None:
        """``insert_columns`` for Arrow tables (batch format 3): the engine reads the columns
        as they are, no Python value per row. ``exchanges`` carries its `timeline` already."""
        for table, rows in (("exchange_nodes", nodes), ("exchanges", exchanges)):
            if rows.num_rows:
                try:
                    self._client.insert_arrow(
                        f"{self.database}.{table}", rows, settings=_INSERT_SETTINGS
                    )
                except ClickHouseError as exc:
                    raise StoreError(f"insert into {table} failed: {str(exc)[:300]}") from exc

    def stored_ids(
        self,
        org: str,
        integration: str,
        since_ms: int,
        exchange_ids: Sequence[str] | None,
        limit: int,
    ) -> list[tuple[str, int]]:
        """(id, started_at ms) of stored exchanges that started at or after ``since_ms``, newest
        first, at most ``limit``; only those of ``exchange_ids`` unless it is None. The primary
        key (org, integration, started_at) prunes to the window."""
        only = "" if exchange_ids is None else "AND exchange_id IN {ids:Array(String)} "
        rows = self._query(
            "SELECT exchange_id, toUnixTimestamp64Milli(max(started_at)) AS started "
            "FROM $db.exchanges "
            "WHERE org = {org:String} AND integration = {integration:String} "
            "AND started_at >= fromUnixTimestamp64Milli({low:Int64}, 'UTC') "
            + only
            + "GROUP BY exchange_id ORDER BY started DESC LIMIT {limit:UInt64}",
            {
                "org": org,
                "integration": integration,
                "ids": list(exchange_ids or ()),
                "low": since_ms,
                "limit": max(0, limit),
            },
        )
        return [(str(row[0]), int(row[1])) for row in rows]

    def search(
        self,
        org: str,
        *,
        integration: str | None = None,
        route: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        exchange_id: str | None = None,
        limit: int = 100,
    ) -> list[ExchangeSummary]:
        filters, params = _exchange_filters(
            org,
            {"integration": integration, "route_id": route, "status": status,
             "exchange_id": exchange_id},
            since,
            until,
        )  # fmt: skip
        params["limit"] = max(1, min(limit, 10_000))
        # the filters are fixed column names with bound parameters; no input is spliced in
        rows = self._query(
            "SELECT "  # noqa: S608
            + _SUMMARY
            + " FROM $db.exchanges FINAL WHERE "
            + " AND ".join(filters)
            + " ORDER BY started_at DESC, exchange_id LIMIT {limit:UInt32}",
            params,
        )
        return [_summary(row) for row in rows]

    def search_page(
        self,
        org: str,
        *,
        project: str | None = None,
        environment: str | None = None,
        integration: str | None = None,
        route: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        exchange_id: str | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[ExchangeSummary]:
        """Newest first, one page: `before` is the (started_at, exchange_id) of the last row
        of the previous page (keyset pagination; never OFFSET over the table)."""
        page = max(1, min(limit, 1000))
        filters, params = _exchange_filters(
            org,
            {"project": project, "environment": environment, "integration": integration,
             "route_id": route, "status": status, "exchange_id": exchange_id},
            since,
            until,
        )  # fmt: skip
        params["limit"], params["inner"] = page, page * 3
        if before is not None:
            # the plain bound lets the primary key prune; the tuple breaks ties within one ms
            filters.append("started_at <= {b_at:DateTime64(3, 'UTC')}")
            filters.append(
                "(started_at, exchange_id) < ({b_at:DateTime64(3, 'UTC')}, {b_id:String})"
            )
            params["b_at"], params["b_id"] = before
        # No FINAL (it merges every matching part: 200 ms on a million rows). A redelivered
        # exchange has the same (started_at, exchange_id), so its copies sort next to each
        # other: take the top 3x rows, then one row per exchange id.
        order = " ORDER BY started_at DESC, exchange_id DESC"
        rows = self._query(
            "SELECT "  # noqa: S608 - fixed column names, every value bound
            + _SUMMARY
            + " FROM (SELECT "
            + _SUMMARY
            + " FROM $db.exchanges WHERE "
            + " AND ".join(filters)
            + order
            + " LIMIT {inner:UInt32})"
            + order
            + " LIMIT 1 BY exchange_id LIMIT {limit:UInt32}",
            params,
        )
        return [_summary(row) for row in rows]

    def count_exchanges(self, org: str, integration: str) -> int:
        rows = self._query(
            "SELECT count() FROM $db.exchanges FINAL "
            "WHERE org = {org:String} AND integration = {integration:String}",
            {"org": org, "integration": integration},
        )
        return int(rows[0][0])

    def failures(self, org: str, integration: str, *, limit: int = 100) -> list[ExchangeSummary]:
        return self.search(org, integration=integration, status="failed", limit=limit)

    def detail(
        self,
        org: str,
        exchange_id: str,
        *,
        place: tuple[str, datetime] | None = None,
        environment: str | None = None,
    ) -> ExchangeDetail | None:
        """One exchange of the org (and of `environment` when given); None when absent.
        `place` (integration, started_at), when the caller knows it (a link from a list),
        lets the primary key find the row's granule; a wrong one costs a second query, never
        a wrong answer. Either way one query reads the row and its timeline."""
        in_env = "" if environment is None else " AND environment = {env:String}"
        params: dict[str, Any] = {"org": org, "id": exchange_id, "env": environment or ""}
        rows: list[Sequence[Any]] = []
        if place is not None:
            params.update(integration=place[0], at=place[1])
            rows = self._query(_DETAIL + _AT + in_env + _NEWEST, params)
        if not rows:
            # Without the place, the exchange_id bloom filter skips all but a few granules:
            # one read, where finding the place first (by_exchange_id) and then the row is two.
            rows = self._query(
                _DETAIL + "org = {org:String} AND exchange_id = {id:String}" + in_env + _NEWEST,
                params,
            )
        if not rows:
            return None
        row = rows[0]
        nodes = sorted((StoredNode(*_node(n)) for n in row[14]), key=lambda n: n.seq)
        if not nodes and row[15]:
            nodes = self._stored_nodes(org, exchange_id, str(row[1]), row[4])
        return ExchangeDetail(
            summary=_summary(row[:9]),
            headers=dict(row[9]),
            body=str(row[10]),
            body_truncated=bool(row[11]),
            stack_trace=str(row[12]),
            replayable=bool(row[13]),
            nodes=tuple(nodes),
        )

    def _stored_nodes(
        self, org: str, exchange_id: str, integration: str, started_at: datetime
    ) -> list[StoredNode]:
        """The nodes of a row stored before `timeline` existed, from their own table."""
        rows = self._query(
            "SELECT DISTINCT seq, route_id, node_id, node_name, level, endpoint_uri, elapsed_ms, "  # noqa: S608 - fixed SQL
            "failed FROM $db.exchange_nodes WHERE " + _AT + " ORDER BY seq",
            {"org": org, "id": exchange_id, "integration": integration, "at": started_at},
        )
        return [StoredNode(*_node(n)) for n in rows]

    def node_stats(
        self,
        org: str,
        integration: str,
        *,
        since: datetime | None = None,
        environment: str | None = None,
    ) -> list[NodeStat]:
        """Per-node counts and latencies from the traced exchanges (what the diagram colours);
        `environment` keeps the nodes of that environment's exchanges only (the node rows do
        not carry it: the same integration runs in several environments)."""
        params: dict[str, Any] = {"org": org, "integration": integration}
        window = ""
        if since is not None:
            window = " AND started_at >= {since:DateTime64(3, 'UTC')}"
            params["since"] = since
        if environment is not None:
            window += (
                " AND exchange_id IN (SELECT exchange_id FROM $db.exchanges "
                "WHERE org = {org:String} AND integration = {integration:String} "
                "AND environment = {env:String})"
            )
            params["env"] = environment
        rows = self._query(
            "SELECT route_id, node_id, any(node_name), count(), countIf(failed = 1), "
            "avg(elapsed_ms), quantile(0.95)(elapsed_ms), max(elapsed_ms) "
            "FROM $db.exchange_nodes FINAL "
            "WHERE org = {org:String} AND integration = {integration:String}" + window + " "
            "GROUP BY route_id, node_id ORDER BY route_id, node_id",
            params,
        )
        return [
            NodeStat(r[0], r[1], r[2], int(r[3]), int(r[4]), float(r[5]), float(r[6]), int(r[7]))
            for r in rows
        ]

    def route_stats(
        self, org: str, integration: str, *, environment: str | None = None
    ) -> list[RouteStat]:
        """The latest JMX statistics per route and node (all exchanges, not only the traced)."""
        in_env = "" if environment is None else " AND environment = {env:String}"
        rows = self._query(
            "SELECT route_id, node_id, argMax(exchanges_total, started_at), "
            "argMax(exchanges_failed, started_at), argMax(mean_ms, started_at) "
            "FROM $db.route_stats "
            "WHERE org = {org:String} AND integration = {integration:String}" + in_env + " "
            "GROUP BY route_id, node_id ORDER BY route_id, node_id",
            {"org": org, "integration": integration, "env": environment or ""},
        )
        return [RouteStat(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def latest_route_stats(self, org: str, integration: str) -> list[dict[str, Any]]:
        return [
            {
                "route_id": s.route_id,
                "node_id": s.node_id,
                "exchanges_total": s.exchanges_total,
                "exchanges_failed": s.exchanges_failed,
                "mean_ms": s.mean_ms,
            }
            for s in self.route_stats(org, integration)
        ]

    def live_counters(
        self, org: str, integration: str, environment: str, *, since: datetime
    ) -> list[NodeCounter]:
        """The newest JMX sample of each route and processor per pod since `since`, summed over
        the pods (the mean weighted by each pod's count): what the live diagram shows."""
        rows = self._query(
            "SELECT route_id, node_id, sum(t), sum(f), sum(i), "
            "if(sum(t) > 0, sum(m * t) / sum(t), 0) FROM ("
            " SELECT pod, route_id, node_id, argMax(exchanges_total, started_at) AS t,"
            " argMax(exchanges_failed, started_at) AS f,"
            " argMax(exchanges_inflight, started_at) AS i, argMax(mean_ms, started_at) AS m"
            " FROM $db.route_stats WHERE org = {org:String} AND integration = {integration:String}"
            " AND environment = {environment:String}"
            " AND started_at >= {since:DateTime64(3, 'UTC')}"
            " GROUP BY pod, route_id, node_id"
            ") GROUP BY route_id, node_id ORDER BY route_id, node_id",
            {"org": org, "integration": integration, "environment": environment, "since": since},
        )
        return [
            NodeCounter(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), float(r[5]))
            for r in rows
        ]

    def count_text(self, needle: str) -> int:
        """How many stored rows contain ``needle`` anywhere in their text: the check that PII
        never reached the store, runnable by an operator too."""
        params = {"needle": needle}
        exchanges = self._query(
            "SELECT count() FROM $db.exchanges WHERE position(concat("
            "exchange_id, route_id, failed_node, exception_type, exception_message, stack_trace, "
            "toString(headers), body, arrayStringConcat(node_path, ' '), toString(timeline)),"
            " {needle:String}) > 0",
            params,
        )
        nodes = self._query(
            "SELECT count() FROM $db.exchange_nodes WHERE position(concat("
            "route_id, node_id, node_name, parent_id, endpoint_uri), {needle:String}) > 0",
            params,
        )
        return int(exchanges[0][0]) + int(nodes[0][0])

    def _command(self, statement: str) -> None:
        try:
            self._client.command(statement)
        except ClickHouseError as exc:
            raise StoreError(f"telemetry store command failed: {str(exc)[:300]}") from exc

    def _insert_columns(self, table: str, columns: Mapping[str, list[Any]]) -> None:
        names = list(columns)
        data = list(columns.values())
        if not data or not data[0]:
            return
        types = self._insert_types(table)
        try:
            self._client.insert(
                f"{self.database}.{table}",
                data,
                column_names=names,
                column_type_names=[types[name] for name in names],
                column_oriented=True,
                settings=_INSERT_SETTINGS,
            )
        except ClickHouseError as exc:
            raise StoreError(f"insert into {table} failed: {str(exc)[:300]}") from exc

    def _insert_types(self, table: str) -> dict[str, str]:
        """Column types as sent: read once per table, LowCardinality(String) sent as String so
        the client does not build a dictionary per insert in Python (the engine does it)."""
        if table not in self._types:
            rows = self._query(
                "SELECT name, type FROM system.columns "
                "WHERE database = {db:String} AND table = {table:String}",
                {"db": self.database, "table": table},
            )
            self._types[table] = {
                str(name): str(kind).replace("LowCardinality(String)", "String")
                for name, kind in rows
            }
        return self._types[table]

    def _query(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        try:
            # values are bound server-side; only the validated database name is spliced in
            result = self._client.query(sql.replace("$db", self.database), parameters=params)
        except ClickHouseError as exc:
            raise StoreError(f"telemetry query failed: {str(exc)[:300]}") from exc
        return list(result.result_rows)


# one exchange's rows (and its nodes'), found through the tables' order
_AT = (
    "org = {org:String} AND integration = {integration:String} "
    "AND started_at = {at:DateTime64(3, 'UTC')} AND exchange_id = {id:String}"
)
# the detail page's row: summary, then headers .. replayable (9-13), timeline, node_path
_DETAIL = (
    "SELECT "  # noqa: S608 - fixed column names
    + _SUMMARY
    + ", headers, body, body_truncated, stack_trace, replayable, "
    "timeline, length(node_path) FROM $db.exchanges WHERE "
)
# the newest delivery wins (what FINAL would keep), without merging every part
_NEWEST = " ORDER BY ingested_at DESC LIMIT 1"


def timelines(
    exchanges: Mapping[str, Sequence[Any]], nodes: Mapping[str, Sequence[Any]]
) -> list[list[tuple[Any, ...]]]:
    """Each exchange row's nodes as `timeline` tuples. The ingest lays the node rows out
    exchange after exchange, as many as its `node_path` has; columns laid out otherwise are
    matched by (exchange id, start) instead."""
    ids, starts = exchanges["exchange_id"], exchanges["started_at"]
    counts = [len(path) for path in exchanges.get("node_path", [()] * len(ids))]
    node_ids = nodes.get("exchange_id", [])
    tuples = list(zip(*(nodes[name] for name in TIMELINE_FIELDS), strict=True)) if node_ids else []
    out: list[list[tuple[Any, ...]]] = []
    at = 0
    for exchange_id, count in zip(ids, counts, strict=True):
        if node_ids[at : at + count].count(exchange_id) != count:
            break
        out.append(tuples[at : at + count])
        at += count
    if len(out) == len(ids) and at == len(tuples):
        return out
    owned: dict[tuple[Any, Any], list[tuple[Any, ...]]] = {}
    for node_id, node_start, node in zip(
        node_ids, nodes.get("started_at", []), tuples, strict=True
    ):
        owned.setdefault((node_id, node_start), []).append(node)
    return [owned.get((i, at), []) for i, at in zip(ids, starts, strict=True)]


def _node(
    node: Sequence[Any] | Mapping[str, Any],
) -> tuple[int, str, str, str, int, str, int, bool]:
    # a timeline element reads back as a dict (a named tuple), a node row as a tuple
    row = list(node.values()) if isinstance(node, Mapping) else node
    return (int(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), str(row[5]),
            int(row[6]), bool(row[7]))  # fmt: skip


def _summary(row: Sequence[Any]) -> ExchangeSummary:
    return ExchangeSummary(
        exchange_id=str(row[0]),
        integration=str(row[1]),
        route_id=str(row[2]),
        status=str(row[3]),
        started_at=row[4],
        elapsed_ms=int(row[5]),
        failed_node=str(row[6]),
        exception_type=str(row[7]),
        exception_message=str(row[8]),
    )


def _exchange_filters(
    org: str, equal: dict[str, str | None], since: datetime | None, until: datetime | None
) -> tuple[list[str], dict[str, Any]]:
    """WHERE terms over fixed column names, every value bound: `equal` maps a column to the
    value it must have (None: no filter), `since`/`until` bound started_at."""
    filters: list[str] = ["org = {org:String}"]
    params: dict[str, Any] = {"org": org}
    for column, value in equal.items():
        if value is not None:
            filters.append(f"{column} = {{{column}:String}}")
            params[column] = value
    if since is not None:
        filters.append("started_at >= {since:DateTime64(3, 'UTC')}")
        params["since"] = since
    if until is not None:
        filters.append("started_at < {until:DateTime64(3, 'UTC')}")
        params["until"] = until
    return filters, params

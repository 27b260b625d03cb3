"""Captured Camel exchanges as readers see them: the rows the telemetry store answers with and
the portal and the API show. One home, so the reconciler's API can name them without importing
the telemetry package (they are already redacted when stored)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from contract.errors import ContractError

_CURSOR_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
# what the store's DateTime64(3) columns hold without wrapping; nothing is captured outside
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


class ExchangeStoreError(ContractError):
    """The store holding the exchanges refused or failed a read (the telemetry store's errors
    derive from it, so readers need not import the store). Under the contract's base like
    every error declared here; nothing between a store call and its caller catches ValueError."""


@dataclass(frozen=True, slots=True)
class ExchangeSummary:
    exchange_id: str
    integration: str
    route_id: str
    status: str
    started_at: datetime
    elapsed_ms: int
    failed_node: str
    exception_type: str
    exception_message: str


@dataclass(frozen=True, slots=True)
class StoredNode:
    seq: int
    route_id: str
    node_id: str
    node_name: str
    level: int
    endpoint_uri: str
    elapsed_ms: int
    failed: bool


@dataclass(frozen=True, slots=True)
class ExchangeDetail:
    summary: ExchangeSummary
    headers: dict[str, str]
    body: str
    body_truncated: bool
    stack_trace: str
    replayable: bool
    nodes: tuple[StoredNode, ...]


@dataclass(frozen=True, slots=True)
class NodeCounter:
    """Camel's own counters of a route (node_id empty) or a processor, summed over pods."""

    route_id: str
    node_id: str
    total: int
    failed: int
    inflight: int
    mean_ms: float


@dataclass(frozen=True, slots=True)
class NodeStat:
    """Per-node counts and latencies over the traced (sampled) exchanges."""

    route_id: str
    node_id: str
    node_name: str
    count: int
    failed: int
    mean_ms: float
    p95_ms: float
    max_ms: int


@dataclass(frozen=True, slots=True)
class RouteStat:
    """The latest JMX statistics of a route or node: every exchange, not only the traced."""

    route_id: str
    node_id: str
    exchanges_total: int
    exchanges_failed: int
    mean_ms: int


def cursor_of(row: ExchangeSummary) -> str:
    """The keyset cursor after `row`: ``<started_at epoch ms>:<exchange id>``."""
    return f"{round(row.started_at.timestamp() * 1000)}:{row.exchange_id}"


def parse_cursor(value: str) -> tuple[datetime, str] | None:
    """(started_at, exchange id) of a cursor made by `cursor_of`; None when it is not one."""
    ms, sep, exchange = value.partition(":")
    # 13 digits reach the year 2286: beyond the store's DateTime64 anyway
    if not sep or not ms.isdigit() or len(ms) > 13 or not _CURSOR_ID.match(exchange):
        return None
    return datetime.fromtimestamp(int(ms) / 1000, UTC), exchange


def parse_moment(value: str) -> datetime | None:
    """An ISO 8601 time as a UTC datetime (no zone: UTC); None when it is not one or lies
    outside 1970..2200 (an offset near year 1 or 9999 would overflow the conversion)."""
    try:
        parsed = datetime.fromisoformat(value)
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if EARLIEST <= parsed <= LATEST else None

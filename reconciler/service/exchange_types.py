"""What the exchanges API and the portal's trace and diagram pages read captured Camel
exchanges through: the one `ExchangeReader` protocol. Neither imports telemetry code; the
composition root hands both the telemetry store."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from contract.exchanges import (
    ExchangeDetail,
    ExchangeSummary,
    NodeCounter,
    NodeStat,
    RouteStat,
)


class ExchangeReader(Protocol):
    """Every call is scoped to one org (the caller's); reads raise
    `contract.exchanges.ExchangeStoreError` when the store does not answer."""

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
        """One page, newest first; `before` is the (started_at, id) of the previous page's
        last row (keyset pagination)."""
        ...

    def detail(
        self,
        org: str,
        exchange_id: str,
        *,
        place: tuple[str, datetime] | None = None,
        environment: str | None = None,
    ) -> ExchangeDetail | None:
        """One exchange with headers, body and its node timeline (already redacted); `place`
        (integration, started_at) from a list's link saves the lookup by id."""
        ...

    def node_stats(
        self,
        org: str,
        integration: str,
        *,
        since: datetime | None = None,
        environment: str | None = None,
    ) -> list[NodeStat]:
        """Per-node counts and latencies over the traced exchanges."""
        ...

    def route_stats(
        self, org: str, integration: str, *, environment: str | None = None
    ) -> list[RouteStat]:
        """The latest JMX statistics per route and node."""
        ...

    def live_counters(
        self, org: str, integration: str, environment: str, *, since: datetime
    ) -> list[NodeCounter]:
        """Camel's counters per route and processor of one integration in one environment."""
        ...

"""The narrow telemetry reader the portal is given (the telemetry store satisfies it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from telemetry.store import ExchangeDetail, ExchangeSummary, NodeCounter


class TraceReader(Protocol):
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
        """One page of exchange summaries, newest first, keyset on (started_at, id)."""
        ...

    def detail(
        self, org: str, exchange_id: str, *, place: tuple[str, datetime] | None = None
    ) -> ExchangeDetail | None:
        """One exchange with headers, body and its node timeline (already redacted)."""
        ...

    def live_counters(
        self, org: str, integration: str, environment: str, *, since: datetime
    ) -> list[NodeCounter]:
        """Camel's counters per route and processor of one integration in one environment."""
        ...

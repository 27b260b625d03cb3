"""Camel-aware health: route states and failure rates from the JMX MBeans and the results of
Camel's own health checks (one Jolokia bulk request), judged against the integration's rules.
Shipped with every telemetry batch; the control plane turns a non-empty `problems` into a
Degraded environment naming the route or the check."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract.telemetry import MAX_CAMEL_PROBLEMS, CamelHealthReport, RouteState
from telemetry.jolokia import JolokiaClient, raise_for_item
from telemetry.sidecar.camel_checks import details_request, down_problems, parse_details

STARTED = "Started"
SUSPENDED = ("Suspending", "Suspended")
"""Context states that are a problem: suspended on purpose, not on the way up or down."""


@dataclass(frozen=True, slots=True)
class HealthRules:
    failure_rate_threshold: float = 0.5
    """A route whose failed share of the exchanges within the window is above this is a
    problem (0..1; 1 turns the check off)."""
    min_exchanges: int = 10
    """Fewer exchanges than this within the window are not judged (one failure of two is
    not a failing integration)."""
    window_seconds: float = 300.0


@dataclass(slots=True)
class _Sample:
    at: float
    total: int
    failed: int


@dataclass(slots=True)
class CamelHealthWatch:
    """Keeps each route's counters over the window; `check` reads Camel and judges."""

    rules: HealthRules
    redact: Callable[[str], str] = str
    """Applied to Camel's health-check messages (the sidecar's redaction rules)."""
    _samples: dict[str, deque[_Sample]] = field(default_factory=dict)

    async def check(
        self, client: JolokiaClient, context_mbean: str, context: str, now: float, now_ms: int
    ) -> CamelHealthReport:
        """`now` (monotonic seconds) ages the window; `now_ms` stamps the report."""
        context_item, routes_item, checks_item = await client.bulk(
            [
                {"type": "read", "mbean": context_mbean, "attribute": ["State"]},
                {
                    "type": "read",
                    "mbean": f"org.apache.camel:context={context},type=routes,*",
                    "attribute": ["RouteId", "State", "ExchangesTotal", "ExchangesFailed"],
                },
                details_request(context),
            ]
        )
        context_state = _text(raise_for_item(context_item), "State")
        routes = sorted(
            (_route(values) for values in _values(raise_for_item(routes_item))),
            key=lambda route: route.route_id,
        )
        problems: list[str] = []
        if context_state in ("", STARTED):
            for route in routes:
                problems += self._judge(route, now)
            not_started = {r.route_id for r in routes if r.state != STARTED}
            problems += down_problems(parse_details(checks_item), not_started, self.redact)
        elif context_state in SUSPENDED:
            problems.append(f"Camel context is {context_state}")
        # else starting or stopping (a rollout): not judged, the workload's health covers it
        self._forget_except({route.route_id for route in routes})
        return CamelHealthReport(
            checked_at_ms=now_ms,
            context_state=context_state,
            routes=tuple(routes),
            problems=tuple(p[:500] for p in problems[:MAX_CAMEL_PROBLEMS]),
        )

    def _judge(self, route: RouteState, now: float) -> list[str]:
        if route.state != STARTED:
            return [f"route {route.route_id} is {route.state}"]
        samples = self._samples.setdefault(route.route_id, deque())
        if samples and route.exchanges_total < samples[-1].total:
            samples.clear()  # the counters restarted (JVM restart, route reset)
        samples.append(_Sample(now, route.exchanges_total, route.exchanges_failed))
        while len(samples) > 1 and samples[1].at <= now - self.rules.window_seconds:
            samples.popleft()  # keep one sample at or before the window's start
        oldest = samples[0]
        total = route.exchanges_total - oldest.total
        failed = route.exchanges_failed - oldest.failed
        if total < max(1, self.rules.min_exchanges):
            return []
        if failed / total <= self.rules.failure_rate_threshold:
            return []
        window = round(min(now - oldest.at, self.rules.window_seconds))
        return [
            f"route {route.route_id} failed {failed} of {total} exchanges in the last {window} s "
            f"({failed / total:.0%}, threshold {self.rules.failure_rate_threshold:.0%})"
        ]

    def _forget_except(self, route_ids: set[str]) -> None:
        for gone in set(self._samples) - route_ids:
            del self._samples[gone]


def _values(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    return [item for item in value.values() if isinstance(item, dict)]


def _text(values: Any, key: str) -> str:
    value = values.get(key) if isinstance(values, dict) else None
    return str(value)[:40] if value else ""


def _count(values: dict[str, Any], key: str) -> int:
    value = values.get(key)
    return max(0, value) if isinstance(value, int) and not isinstance(value, bool) else 0


def _route(values: dict[str, Any]) -> RouteState:
    return RouteState(
        route_id=str(values.get("RouteId") or "?")[:1000],
        state=_text(values, "State") or "Unknown",
        exchanges_total=_count(values, "ExchangesTotal"),
        exchanges_failed=_count(values, "ExchangesFailed"),
    )

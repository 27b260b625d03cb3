"""Route and processor statistics from the JMX MBeans, in two pattern reads (the route diagram)."""

from __future__ import annotations

from typing import Any

from contract.telemetry import RouteStat
from telemetry.jolokia import JolokiaClient, raise_for_item

_TIMES = ["MeanProcessingTime", "MinProcessingTime", "MaxProcessingTime", "LastProcessingTime"]
_COUNTS = ["ExchangesTotal", "ExchangesFailed", "ExchangesInflight"]


async def read_route_stats(client: JolokiaClient, context: str, now_ms: int) -> list[RouteStat]:
    """``context`` is the management name; one bulk request reads every route and processor."""
    routes, processors = await client.bulk(
        [
            {
                "type": "read",
                "mbean": f"org.apache.camel:context={context},type=routes,*",
                "attribute": ["RouteId", *_COUNTS, *_TIMES],
            },
            {
                "type": "read",
                "mbean": f"org.apache.camel:context={context},type=processors,*",
                "attribute": ["RouteId", "ProcessorId", *_COUNTS, *_TIMES],
            },
        ]
    )
    stats = [_stat(values, now_ms) for values in _values(raise_for_item(routes))]
    stats += [_stat(values, now_ms) for values in _values(raise_for_item(processors))]
    return sorted(stats, key=lambda stat: (stat.route_id, stat.node_id))


def context_name(context_mbean: str) -> str:
    """``org.apache.camel:context=orders-app,name="orders-app",type=context`` -> ``orders-app``."""
    for part in context_mbean.partition(":")[2].split(","):
        key, _, value = part.partition("=")
        if key == "context":
            return value
    return "*"


def _values(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    return [item for item in value.values() if isinstance(item, dict)]


def _count(values: dict[str, Any], key: str) -> int:
    value = values.get(key)
    return max(0, value) if isinstance(value, int) and not isinstance(value, bool) else 0


def _stat(values: dict[str, Any], now_ms: int) -> RouteStat:
    return RouteStat(
        route_id=str(values.get("RouteId") or "")[:1000],
        node_id=str(values.get("ProcessorId") or "")[:1000],
        sampled_at_ms=now_ms,
        exchanges_total=_count(values, "ExchangesTotal"),
        exchanges_failed=_count(values, "ExchangesFailed"),
        exchanges_inflight=_count(values, "ExchangesInflight"),
        mean_ms=_count(values, "MeanProcessingTime"),
        min_ms=_count(values, "MinProcessingTime"),
        max_ms=_count(values, "MaxProcessingTime"),
        last_ms=_count(values, "LastProcessingTime"),
    )

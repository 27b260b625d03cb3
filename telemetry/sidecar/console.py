"""`GET /v1/console/{name}`: the live console of this sidecar's Camel, read over the pod-local
Jolokia agent the sidecar already uses (routes with processors, inflight exchanges, health).

Camel's HTTP dev consoles would need a listener in the JVM: on a pod that is the business or
management port, reachable from the pod network. Jolokia stays on 127.0.0.1, and the runner
reaches this API with its token (in a cluster) or on loopback (local driver), so the console
adds no inbound port. The answers are the `contract.console` models: bounded lists, no message
bodies or headers, health messages through the sidecar's redaction."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from contract.console import (
    MAX_CHECKS,
    MAX_INFLIGHT,
    MAX_PROCESSORS,
    MAX_ROUTES,
    ConsoleCheck,
    ConsoleHealth,
    ConsoleInflight,
    ConsoleProcessor,
    ConsoleRoute,
    ConsoleRoutes,
    InflightExchange,
)
from telemetry.jolokia import JolokiaClient, JolokiaError
from telemetry.sidecar.camel_checks import details_request, parse_details
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.stats import context_name

NAMES = ("routes", "inflight", "health")
# `scheme://user:secret@host` in a consumer check's message: never shown, whatever the rules
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_STATS_OPERATION = "dumpRouteStatsAsJSon(boolean,boolean)"
_INFLIGHT_OPERATION = "browse(int,boolean)"


def add_console_routes(app: web.Application, sidecar: Sidecar) -> None:
    """Registered by `telemetry.sidecar.api.sidecar_api` (behind its token check)."""

    async def console(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in NAMES:
            return web.json_response({"error": f"no console {name[:40]!r}"}, status=404)
        try:
            if sidecar.capture.target is None:
                await sidecar.capture.connect()
            assert sidecar.capture.target is not None
            answer = await read_console(sidecar, name, sidecar.capture.target.context_mbean)
        except JolokiaError as exc:
            error = f"Camel is not reachable: {exc}"[:300]
            return web.json_response({"error": error}, status=503)
        return web.Response(body=answer, content_type="application/json")

    app.router.add_get("/v1/console/{name}", console)


async def read_console(sidecar: Sidecar, name: str, context_mbean: str) -> bytes:
    client = sidecar.capture.client
    context = context_name(context_mbean)
    model: ConsoleRoutes | ConsoleInflight | ConsoleHealth
    if name == "routes":
        dumped = await client.execute(context_mbean, _STATS_OPERATION, True, True)
        model = routes_of(_json(dumped))
    elif name == "inflight":
        model = await _inflight(client, context)
    else:
        model = await _health(client, context, sidecar.capture.redactor.text)
    return model.model_dump_json().encode()


def _json(text: Any) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(text) if isinstance(text, str | bytes) else text
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _str(value: Any, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def routes_of(dump: dict[str, Any]) -> ConsoleRoutes:
    """Camel's `dumpRouteStatsAsJSon(true, true)` (context -> routes -> processors)."""
    raw = [r for r in dump.get("routes") or [] if isinstance(r, dict)]
    return ConsoleRoutes(
        context=_str(dump.get("id")),
        state=_str(dump.get("state"), 40),
        routes=tuple(_route(r) for r in raw[:MAX_ROUTES]),
        routes_total=len(raw),
    )


def _route(raw: dict[str, Any]) -> ConsoleRoute:
    processors = [p for p in raw.get("processors") or [] if isinstance(p, dict)]
    return ConsoleRoute(
        id=_str(raw.get("id")),
        state=_str(raw.get("state"), 40),
        uptime_ms=_int(raw.get("uptime")),
        source=_source(raw.get("sourceLocation")),
        exchanges_total=_int(raw.get("exchangesTotal")),
        exchanges_failed=_int(raw.get("exchangesFailed")),
        exchanges_inflight=_int(raw.get("exchangesInflight")),
        mean_ms=_int(raw.get("meanProcessingTime"), -1),
        max_ms=_int(raw.get("maxProcessingTime")),
        last_failure_ms=_int(raw.get("lastExchangeFailureTimestamp"), -1),
        processors=tuple(_processor(p) for p in processors[:MAX_PROCESSORS]),
        processors_total=len(processors),
    )


def _source(location: Any) -> str:
    """`file:/where/the/runner/keeps/it/orders.camel.yaml:4` -> `orders.camel.yaml:4`: the
    file and line say which route it is; the host's directories are nobody's business."""
    return _str(location, 2_000).rsplit("/", 1)[-1][:500]


def _processor(raw: dict[str, Any]) -> ConsoleProcessor:
    return ConsoleProcessor(
        id=_str(raw.get("id")),
        index=_int(raw.get("index")),
        line=_int(raw.get("sourceLineNumber")),
        exchanges_total=_int(raw.get("exchangesTotal")),
        exchanges_failed=_int(raw.get("exchangesFailed")),
        exchanges_inflight=_int(raw.get("exchangesInflight")),
        mean_ms=_int(raw.get("meanProcessingTime"), -1),
        max_ms=_int(raw.get("maxProcessingTime")),
    )


async def _inflight(client: JolokiaClient, context: str) -> ConsoleInflight:
    mbean = f"org.apache.camel:context={context},type=services,name=DefaultInflightRepository"
    size, browsed = await client.bulk(
        [
            {"type": "read", "mbean": mbean, "attribute": "Size"},
            {
                "type": "exec",
                "mbean": mbean,
                "operation": _INFLIGHT_OPERATION,
                "arguments": [MAX_INFLIGHT, True],
            },
        ]
    )
    return inflight_of(size.get("value"), browsed.get("value"))


def inflight_of(size: Any, browsed: Any) -> ConsoleInflight:
    """Camel's `browse(limit, sortByLongestDuration)`: exchange id -> its row (strings)."""
    rows = (
        [row for row in (browsed or {}).values() if isinstance(row, dict)]
        if isinstance(browsed, dict)
        else []
    )
    exchanges = [
        InflightExchange(
            exchange_id=_str(row.get("exchangeId")),
            route_id=_str(row.get("routeId")),
            from_route_id=_str(row.get("fromRouteId")),
            node_id=_str(row.get("nodeId")),
            duration_ms=_int(row.get("duration")),
        )
        for row in rows
    ]
    exchanges.sort(key=lambda e: e.duration_ms, reverse=True)
    return ConsoleInflight(
        total=max(_int(size), len(exchanges)), exchanges=tuple(exchanges[:MAX_INFLIGHT])
    )


async def _health(
    client: JolokiaClient, context: str, redact: Callable[[str], str]
) -> ConsoleHealth:
    summary = {
        "type": "read",
        "mbean": f"org.apache.camel:context={context},type=health,name=DefaultHealthCheck",
        "attribute": ["Healthy", "HealthyReadiness", "HealthyLiveness"],
    }
    read, details = await client.bulk([summary, details_request(context)])
    return health_of(read.get("value"), details, redact)


def health_of(summary: Any, details: Any, redact: Callable[[str], str]) -> ConsoleHealth:
    flags = summary if isinstance(summary, dict) else {}
    raw = details.get("value") if isinstance(details, dict) else None
    entries = raw if isinstance(raw, dict) else {}
    by_id = {r.check_id: r for r in parse_details(details)}
    checks = []
    for check_id, result in sorted(by_id.items())[:MAX_CHECKS]:
        entry = entries.get(check_id)
        entry = entry if isinstance(entry, dict) else {}
        checks.append(
            ConsoleCheck(
                id=check_id,
                state=result.state,
                readiness=entry.get("readiness") is not False,
                liveness=entry.get("liveness") is not False,
                message=redact(_USERINFO.sub(r"\g<scheme>[REDACTED]@", result.message))[:300],
            )
        )
    return ConsoleHealth(
        healthy=flags.get("Healthy") is True,
        ready=flags.get("HealthyReadiness") is True,
        live=flags.get("HealthyLiveness") is True,
        checks=tuple(checks),
    )

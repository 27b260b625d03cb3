"""The live console of one running integration: what the sidecar reads from Camel over its
pod-local Jolokia agent, carried on the tunnel's proxy channel.

A console request is a `contract.proxy.ProxyRequest` whose target is one of `TARGETS` and
whose path names the integration as `<environment>/<integration>`; the runner answers with a
`ProxyResponse` whose body is the JSON of the target's model below. Every list is bounded by
the sidecar, so an answer stays far below `MAX_ANSWER_BYTES` whatever the integration holds.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from contract.names import NAME

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_CHECKS",
    "MAX_INFLIGHT",
    "MAX_PROCESSORS",
    "MAX_ROUTES",
    "TARGETS",
    "ConsoleCheck",
    "ConsoleHealth",
    "ConsoleInflight",
    "ConsoleProcessor",
    "ConsoleRoute",
    "ConsoleRoutes",
    "InflightExchange",
    "console_path",
    "parse_console_path",
]

MAX_ROUTES = 200
MAX_PROCESSORS = 100
"""Per route: processors beyond this are counted, not listed."""
MAX_INFLIGHT = 50
"""The longest-running ones (Camel sorts them by duration)."""
MAX_CHECKS = 200
MAX_ANSWER_BYTES = 512 * 1024
"""The runner refuses a sidecar answer larger than this (well under `contract.proxy.MAX_BODY`)."""

_NAME = re.compile(NAME)
_ID = Field(default="", max_length=200)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsoleProcessor(_Frozen):
    id: str = _ID
    index: int = 0
    line: int = Field(default=0, description="line in the route's source file; 0 if unknown")
    exchanges_total: int = 0
    exchanges_failed: int = 0
    exchanges_inflight: int = 0
    mean_ms: int = -1
    max_ms: int = 0


class ConsoleRoute(_Frozen):
    id: str = _ID
    state: str = Field(default="", max_length=40)
    uptime_ms: int = 0
    source: str = Field(default="", max_length=500)
    exchanges_total: int = 0
    exchanges_failed: int = 0
    exchanges_inflight: int = 0
    mean_ms: int = -1
    max_ms: int = 0
    last_failure_ms: int = Field(default=-1, description="epoch ms of the last failure, -1: none")
    processors: tuple[ConsoleProcessor, ...] = Field(default=(), max_length=MAX_PROCESSORS)
    processors_total: int = 0


class ConsoleRoutes(_Frozen):
    """Target `console-routes`: every route with its processors and their counters."""

    context: str = Field(default="", max_length=200)
    state: str = Field(default="", max_length=40)
    routes: tuple[ConsoleRoute, ...] = Field(default=(), max_length=MAX_ROUTES)
    routes_total: int = 0


class InflightExchange(_Frozen):
    exchange_id: str = _ID
    route_id: str = _ID
    from_route_id: str = _ID
    node_id: str = _ID
    duration_ms: int = 0


class ConsoleInflight(_Frozen):
    """Target `console-inflight`: exchanges under way now, longest first."""

    total: int = 0
    exchanges: tuple[InflightExchange, ...] = Field(default=(), max_length=MAX_INFLIGHT)


class ConsoleCheck(_Frozen):
    id: str = _ID
    state: str = Field(default="", max_length=20)
    readiness: bool = True
    liveness: bool = True
    message: str = Field(default="", max_length=300, description="redacted by the sidecar")


class ConsoleHealth(_Frozen):
    """Target `console-health`: Camel's own health checks, run once."""

    healthy: bool = False
    ready: bool = False
    live: bool = False
    checks: tuple[ConsoleCheck, ...] = Field(default=(), max_length=MAX_CHECKS)


TARGETS: dict[str, type[ConsoleRoutes | ConsoleInflight | ConsoleHealth]] = {
    "console-routes": ConsoleRoutes,
    "console-inflight": ConsoleInflight,
    "console-health": ConsoleHealth,
}
"""The allow-list: proxy target -> the model of its answer. Nothing else is served."""


def console_path(environment: str, integration: str) -> str:
    return f"{environment}/{integration}"


def parse_console_path(path: str) -> tuple[str, str] | None:
    """`<environment>/<integration>`, both DNS labels; None for anything else."""
    environment, sep, integration = path.partition("/")
    if not sep or len(environment) > 63 or len(integration) > 63:
        return None
    if not _NAME.fullmatch(environment) or not _NAME.fullmatch(integration):
        return None
    return environment, integration

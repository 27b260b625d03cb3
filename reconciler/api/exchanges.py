"""Captured Camel exchanges of one environment: search (keyset pages on (time, id)), one
exchange with its node timeline, the failures, and route/node statistics.

Any role may read; the project and environment are looked up in the caller's org first, so
another org's environment (and its exchanges) answers 404. The store is an `ExchangeReader`
installed by the composition root (`install_exchanges`); without one the routes answer 503.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web

from contract.exchanges import (
    ExchangeDetail,
    ExchangeStoreError,
    ExchangeSummary,
    cursor_of,
    parse_cursor,
    parse_moment,
)
from reconciler.api.auth import problem
from reconciler.api.environments import ENV_PATH, environment_of
from reconciler.api.keys import PRINCIPAL, SERVICES
from reconciler.api.projects import not_found
from reconciler.errors import ReconcilerError
from reconciler.service.exchange_types import ExchangeReader

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
EXCHANGE_READER = web.AppKey("exchange_reader", ExchangeReader)
STATUSES = ("completed", "failed", "incomplete")
DEFAULT_PAGE, MAX_PAGE = 50, 500
_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9._]{0,199}$")
_EXCHANGE = re.compile(r"^[\x21-\x7e]{1,200}$")
T = TypeVar("T")


def install_exchanges(app: web.Application, reader: ExchangeReader) -> None:
    """Called by the composition root before the app starts."""
    app[EXCHANGE_READER] = reader


class Refused(ReconcilerError):
    """An answer other than 200, turned into the API's error body by `_answering`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class QueryError(Refused):
    """A query parameter the API cannot use; the message names it and what it takes."""

    def __init__(self, message: str) -> None:
        super().__init__(400, f"invalid query parameter {message}")


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _answering(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except Refused as exc:
            return problem(exc.status, exc.message)

    return answer


def _text(query: Mapping[str, str], name: str, pattern: re.Pattern[str] = _NAME) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if not pattern.match(value):
        raise QueryError(f"{name}: letters, digits, '-', '.', '_' (at most 200)")
    return value


def _moment(query: Mapping[str, str], name: str) -> datetime | None:
    value = query.get(name)
    if not value:
        return None
    parsed = parse_moment(value)
    if parsed is None:
        raise QueryError(f"{name}: an ISO 8601 time between 1970 and 2200, e.g. 2026-11-30T10:00Z")
    return parsed


def _limit(query: Mapping[str, str]) -> int:
    value = query.get("limit", "")
    if not value:
        return DEFAULT_PAGE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise QueryError(f"limit: a whole number within 1..{MAX_PAGE}")
    return int(value)


def _cursor(query: Mapping[str, str]) -> tuple[datetime, str] | None:
    value = query.get("cursor", "")
    if not value:
        return None
    parsed = parse_cursor(value)
    if parsed is None:
        raise QueryError("cursor: pass back the `next` value of the previous page")
    return parsed


def _status(query: Mapping[str, str]) -> str | None:
    value = query.get("status", "")
    if value and value not in STATUSES:
        raise QueryError(f"status: one of {', '.join(STATUSES)}")
    return value or None


def summary_view(row: ExchangeSummary) -> dict[str, Any]:
    return {
        "exchangeId": row.exchange_id,
        "integration": row.integration,
        "routeId": row.route_id,
        "status": row.status,
        "startedAt": row.started_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "elapsedMs": row.elapsed_ms,
        "failedNode": row.failed_node,
        "exceptionType": row.exception_type,
        "exceptionMessage": row.exception_message,
    }


def detail_view(detail: ExchangeDetail) -> dict[str, Any]:
    return summary_view(detail.summary) | {
        "headers": detail.headers,
        "body": detail.body,
        "bodyTruncated": detail.body_truncated,
        "stackTrace": detail.stack_trace,
        "replayable": detail.replayable,
        "nodes": [
            {
                "seq": n.seq,
                "routeId": n.route_id,
                "nodeId": n.node_id,
                "nodeName": n.node_name,
                "level": n.level,
                "endpointUri": n.endpoint_uri,
                "elapsedMs": n.elapsed_ms,
                "failed": n.failed,
            }
            for n in detail.nodes
        ],
    }


async def _scope(request: web.Request) -> tuple[ExchangeReader, str, str]:
    """(reader, org name, environment name) after the environment was found in the caller's
    org; raises 404 for another org's (or no) environment, 503 without a store."""
    _project, env = await environment_of(request)
    reader = request.config_dict.get(EXCHANGE_READER)  # installed on the root app
    if reader is None:
        raise Refused(503, "telemetry is not configured on this server")
    store = request.app[SERVICES].store
    org = await asyncio.to_thread(store.replays.org_name, request[PRINCIPAL].org_id)
    return reader, org, env.name


async def _read(work: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(work)
    except ExchangeStoreError as exc:
        # the store's message may name hosts or SQL: it goes to the server log only
        log.warning("exchange read failed: %s", exc)
        raise Refused(503, "the telemetry store did not answer; retry later") from None


async def _page(request: web.Request, *, failed_only: bool) -> web.Response:
    query = request.query
    filters: dict[str, Any] = {
        "integration": _text(query, "integration"),
        "route": _text(query, "route"),
        "status": "failed" if failed_only else _status(query),
        "exchange_id": _text(query, "exchangeId", _EXCHANGE),
        "since": _moment(query, "since"),
        "until": _moment(query, "until"),
        "before": _cursor(query),
    }
    limit = _limit(query)
    reader, org, env = await _scope(request)
    rows = await _read(lambda: reader.search_page(org, environment=env, limit=limit + 1, **filters))
    more = len(rows) > limit
    rows = rows[:limit]
    return web.json_response(
        {
            "exchanges": [summary_view(r) for r in rows],
            "next": cursor_of(rows[-1]) if more else None,
        }
    )


@routes.get(ENV_PATH + "/exchanges")
@_answering
async def search_exchanges(request: web.Request) -> web.Response:
    return await _page(request, failed_only=False)


@routes.get(ENV_PATH + "/failures")
@_answering
async def failed_exchanges(request: web.Request) -> web.Response:
    return await _page(request, failed_only=True)


@routes.get(ENV_PATH + "/exchanges/{exchange}")
@_answering
async def show_exchange(request: web.Request) -> web.Response:
    exchange_id = request.match_info["exchange"]
    reader, org, env = await _scope(request)
    if not _EXCHANGE.match(exchange_id):
        raise not_found("exchange")
    detail = await _read(lambda: reader.detail(org, exchange_id, environment=env))
    if detail is None:
        raise not_found("exchange")
    return web.json_response(detail_view(detail))


@routes.get(ENV_PATH + "/integrations/{integration}/stats")
@_answering
async def integration_stats(request: web.Request) -> web.Response:
    """The latest JMX statistics per route and node (every exchange) and the per-node
    latencies of the traced exchanges (p95 included), of one integration."""
    integration = request.match_info["integration"]
    since = _moment(request.query, "since")
    reader, org, env = await _scope(request)
    if not _NAME.match(integration):
        raise not_found("integration")
    routes_ = await _read(lambda: reader.route_stats(org, integration, environment=env))
    nodes = await _read(lambda: reader.node_stats(org, integration, since=since, environment=env))
    return web.json_response(
        {
            "integration": integration,
            "routes": [
                {
                    "routeId": s.route_id,
                    "nodeId": s.node_id,
                    "exchangesTotal": s.exchanges_total,
                    "exchangesFailed": s.exchanges_failed,
                    "meanMs": s.mean_ms,
                }
                for s in routes_
            ],
            "nodes": [
                {
                    "routeId": s.route_id,
                    "nodeId": s.node_id,
                    "nodeName": s.node_name,
                    "count": s.count,
                    "failed": s.failed,
                    "meanMs": round(s.mean_ms, 3),
                    "p95Ms": round(s.p95_ms, 3),
                    "maxMs": s.max_ms,
                }
                for s in nodes
            ],
        }
    )

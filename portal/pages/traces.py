"""Traces search (keyset pages on (time, id)), exchange detail, an environment's failed
messages and their audited replay (operator role, confirmation, idempotency key)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

from aiohttp import web

from contract.exchanges import ExchangeSummary, cursor_of, parse_cursor, parse_moment
from portal.keys import PORTAL, SESSION
from portal.render import error_page, render
from portal.routing import needs
from reconciler.service.exchange_types import ExchangeReader
from reconciler.service.portal_actions import ConflictError, NotAllowedError, NotFoundError
from reconciler.service.portal_types import Role
from telemetry.store import StoreError

routes = web.RouteTableDef()
PAGE_SIZE = 50
ENV = "/projects/{project}/environments/{env}"
_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9._]{0,199}$")
_EXCHANGE = re.compile(r"^[\x21-\x7e]{1,200}$")
_KEY = re.compile(r"^[0-9a-f]{32}$")
STATUSES = ("completed", "failed")


def _reader(request: web.Request) -> ExchangeReader:
    traces = request.app[PORTAL].traces
    if traces is None:
        raise web.HTTPServiceUnavailable(text="telemetry is not configured on this server")
    return traces


def _cursor(value: str) -> tuple[datetime, str] | None:
    return parse_cursor(value)  # the API's too: one format, bounded (a huge one is ignored)


def _place(request: web.Request) -> tuple[str, datetime] | None:
    """Where a list's link says the exchange is (integration, start): saves a lookup."""
    integration, at = _text(request, "integration"), request.query.get("at", "")
    if integration is None or not at.isdigit() or len(at) > 15:
        return None
    try:
        return integration, datetime.fromtimestamp(int(at) / 1000, UTC)
    except (ValueError, OverflowError, OSError):  # beyond the calendar: only a hint, ignored
        return None


def place_of(row: ExchangeSummary) -> dict[str, str]:
    """The query a list's link to an exchange carries (see `_place`)."""
    return {"integration": row.integration, "at": str(round(row.started_at.timestamp() * 1000))}


def _moment(value: str) -> datetime | None:
    return parse_moment(value) if value else None


def _text(request: web.Request, name: str, pattern: re.Pattern[str] = _NAME) -> str | None:
    value = request.query.get(name, "").strip()
    return value if value and pattern.match(value) else None


@routes.get("/traces")
@needs(Role.VIEWER)
async def search(request: web.Request) -> web.Response:
    session = request[SESSION]
    status = request.query.get("status", "")
    filters = {
        "integration": _text(request, "integration"),
        "route": _text(request, "route"),
        "status": status if status in STATUSES else None,
        "exchange_id": _text(request, "exchange", _EXCHANGE),
        "since": _moment(request.query.get("since", "")),
        "until": _moment(request.query.get("until", "")),
    }
    before = _cursor(request.query.get("before", ""))
    reader = _reader(request)
    try:
        rows = await asyncio.to_thread(
            lambda: reader.search_page(
                session.org,
                before=before,
                limit=PAGE_SIZE + 1,
                **filters,  # type: ignore[arg-type]
            )
        )
    except StoreError as exc:
        return error_page(request, 503, f"The trace store did not answer: {exc}")
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = {k: v for k, v in request.query.items() if k != "before" and v}
    context = {
        "rows": rows,
        "query": query,
        "next": cursor_of(rows[-1]) if more else None,
        "statuses": STATUSES,
        "place_of": place_of,
    }
    return render(request, "traces.html", context)


@routes.get("/traces/{exchange}")
@needs(Role.VIEWER)
async def exchange(request: web.Request) -> web.Response:
    exchange_id = request.match_info["exchange"]
    if not _EXCHANGE.match(exchange_id):
        return error_page(request, 404, "There is no such exchange.")
    reader, org = _reader(request), request[SESSION].org
    detail = await asyncio.to_thread(lambda: reader.detail(org, exchange_id, place=_place(request)))
    if detail is None:
        return error_page(request, 404, "There is no such exchange.")
    project, env = request.query.get("project", ""), request.query.get("env", "")
    context = {"x": detail, "project": project if _NAME.match(project) else "",
               "env": env if _NAME.match(env) else ""}  # fmt: skip
    return render(request, "exchange.html", context)


async def _environment_or_404(request: web.Request) -> web.Response | None:
    found = await request.app[PORTAL].views.has_environment(
        request[SESSION].principal, request.match_info["project"], request.match_info["env"]
    )
    return None if found else error_page(request, 404, "There is no such environment.")


@routes.get(ENV + "/failures")
@needs(Role.VIEWER)
async def failures(request: web.Request) -> web.Response:
    missing = await _environment_or_404(request)
    if missing is not None:
        return missing
    reader, org = _reader(request), request[SESSION].org
    env = request.match_info["env"]
    before = _cursor(request.query.get("before", ""))
    rows = await asyncio.to_thread(
        lambda: reader.search_page(
            org,
            project=request.match_info["project"],
            environment=env,
            status="failed",
            before=before,
            limit=PAGE_SIZE + 1,
        )
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    context = {
        "project": request.match_info["project"],
        "env": env,
        "rows": rows,
        "next": cursor_of(rows[-1]) if more else None,
        "place_of": place_of,
    }
    return render(request, "failures.html", context)


@routes.get(ENV + "/replay")
@needs(Role.OPERATOR)
async def confirm_replay(request: web.Request) -> web.Response:
    missing = await _environment_or_404(request)
    if missing is not None:
        return missing
    integration, exchange_id = _text(request, "integration"), _text(request, "exchange", _EXCHANGE)
    if integration is None or exchange_id is None:
        return error_page(request, 400, "Open the replay from a failed message.")
    context = {
        "project": request.match_info["project"],
        "env": request.match_info["env"],
        "integration": integration,
        "exchange": exchange_id,
        "key": uuid.uuid4().hex,  # one per confirmation page: a double submit replays once
    }
    return render(request, "confirm_replay.html", context)


@routes.post(ENV + "/replay")
@needs(Role.OPERATOR)
async def replay(request: web.Request) -> web.Response:
    form = await request.post()
    integration, exchange_id, key = (
        str(form.get(k, "")) for k in ("integration", "exchange", "key")
    )
    if not (_NAME.match(integration) and _EXCHANGE.match(exchange_id) and _KEY.match(key)):
        return error_page(request, 400, "Open the replay from a failed message.")
    try:
        result = await request.app[PORTAL].actions.replay(
            request[SESSION].principal,
            request.match_info["project"],
            request.match_info["env"],
            integration=integration,
            exchange_id=exchange_id,
            idempotency_key=key,
        )
    except NotFoundError as exc:
        return error_page(request, 404, str(exc))
    except NotAllowedError as exc:
        return error_page(request, 403, str(exc))
    except ConflictError as exc:
        return error_page(request, 409, str(exc))
    return render(request, "replay_done.html", {"result": result})

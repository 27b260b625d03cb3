"""Replay a captured exchange: POST .../environments/{env}/replays (operator role or above).

The `Idempotency-Key` header is required: a repeated key returns the first request's record
(and never sends a second command). The request and its audit record are written before the
command leaves; the runner's answer completes both. The transport is a `ReplaySender`
installed by the composition root (`install_replays`); without one the endpoint answers 503.
"""

from __future__ import annotations

import re
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from contract.replay import ReplayOutcome
from reconciler.api.auth import require
from reconciler.api.bodies import Body, read_body
from reconciler.api.environments import ENV_PATH, environment_of
from reconciler.api.keys import SERVICES
from reconciler.api.problems import problem
from reconciler.service.read_models import ReplayView
from reconciler.service.replay_types import ReplaySender
from reconciler.service.replays import (
    KeyReusedError,
    NoRunnerError,
    ReplayAsk,
    ReplayTransport,
)
from reconciler.store.records import Role
from reconciler.store.replays import SENT, ReplayRecord

routes = web.RouteTableDef()
IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,200}$")
_STATUS = {
    SENT: 202,  # no answer yet: the command stays queued for the runner
    ReplayOutcome.SUCCEEDED.value: 200,
    ReplayOutcome.FAILED.value: 200,  # the replay ran and the route threw again: a result
    ReplayOutcome.EXPIRED.value: 410,
    ReplayOutcome.UNAVAILABLE.value: 503,
    ReplayOutcome.REJECTED.value: 422,
}


REPLAY_TRANSPORT = web.AppKey("replay_transport", ReplayTransport)


def install_replays(app: web.Application, sender: ReplaySender, timeout: float = 30.0) -> None:
    """Called by the composition root before the app starts."""
    app[REPLAY_TRANSPORT] = ReplayTransport(sender, timeout)


class ReplayBody(Body):
    exchange_id: Annotated[
        str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = Field(alias="exchangeId")
    integration: Annotated[
        str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    ]


def _answer(record: ReplayRecord) -> web.Response:
    status = _STATUS.get(record.state, 200)
    view = ReplayView.of(record).wire()
    if status >= 400:  # expired, unavailable, rejected: a problem that carries the record too
        return problem(status, record.reason or f"the replay was {record.state}", **view)
    return web.json_response(view, status=status)


@routes.post(ENV_PATH + "/replays")
async def replay_exchange(request: web.Request) -> web.Response:
    principal = require(request, Role.OPERATOR)
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if not _KEY.match(key):
        return problem(
            400, f"the {IDEMPOTENCY_HEADER} header is required: 8..200 of [A-Za-z0-9._:-]"
        )
    body = await read_body(request, ReplayBody)
    project, env = await environment_of(request)
    transport = request.config_dict.get(REPLAY_TRANSPORT)  # installed on the root app
    if transport is None:
        return problem(503, "replay is not available: no runner transport is configured")
    ask = ReplayAsk(key=key, integration=body.integration, exchange_id=body.exchange_id)
    service = request.app[SERVICES].replay_requests
    try:
        record = await service.request(principal, project, env, ask, transport)
    except KeyReusedError:
        return problem(422, f"this {IDEMPOTENCY_HEADER} was used for another replay request")
    except NoRunnerError as exc:
        return problem(409, str(exc))
    return _answer(record)

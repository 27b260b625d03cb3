"""The proxy channel: the control plane asks, the runner fetches from allow-listed local targets.

Only targets the runner itself lists (name -> base URL, e.g. the Camel health endpoint on
loopback) can be reached; the control plane names a target and a relative path, never a URL.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from contract.envelopes import Channel, Envelope
from contract.proxy import MAX_BODY, RESPONSE, ProxyRequest, ProxyResponse
from tunnel.errors import TunnelError
from tunnel.pki.identity import RunnerIdentity

log = logging.getLogger(__name__)
Send = Callable[[Channel, str, dict[str, Any]], Awaitable[str]]


class ProxyRefused(TunnelError, ValueError):
    """The request names no allowed target or escapes it."""


def resolve(targets: Mapping[str, str], request: ProxyRequest) -> str:
    base = targets.get(request.target)
    if base is None:
        raise ProxyRefused(f"target {request.target!r} is not allowed on this runner")
    path = request.path
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith("/") or "\\" in path:
        raise ProxyRefused("the path must be relative to the target")
    if any(segment in ("..", ".") for segment in parts.path.split("/")) or "%2e" in path.lower():
        raise ProxyRefused("the path may not leave the target")
    return base.rstrip("/") + "/" + path if path else base


class RunnerProxy:
    """Install on a TunnelClient: `client.on(Channel.PROXY, REQUEST, RunnerProxy(...).handle)`."""

    def __init__(self, targets: Mapping[str, str], send: Send, timeout: float = 10.0) -> None:
        self._targets = dict(targets)
        self._send = send
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def handle(self, envelope: Envelope) -> None:
        request = ProxyRequest.model_validate(envelope.payload)
        try:
            answer = await self._fetch(request, resolve(self._targets, request))
        except ProxyRefused as exc:
            log.warning("proxy request refused: %s", exc)
            answer = ProxyResponse(request_id=request.request_id, status=0, error=str(exc))
        except (aiohttp.ClientError, TimeoutError) as exc:
            answer = ProxyResponse(
                request_id=request.request_id, status=0, error=f"{type(exc).__name__}: {exc}"[:300]
            )
        await self._send(Channel.PROXY, RESPONSE, answer.model_dump())

    async def _fetch(self, request: ProxyRequest, url: str) -> ProxyResponse:
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.request(request.method, url, data=request.body, allow_redirects=False) as reply,
        ):
            data = await reply.content.read(MAX_BODY + 1)
        return ProxyResponse(
            request_id=request.request_id,
            status=reply.status,
            body=data[:MAX_BODY].decode(errors="replace"),
            truncated=len(data) > MAX_BODY,
        )


class ProxyCalls:
    """Server side: correlate proxy responses with the requests waiting for them."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[RunnerIdentity, str], asyncio.Future[ProxyResponse]] = {}

    def new_request(self, runner: RunnerIdentity, target: str, path: str) -> ProxyRequest:
        request = ProxyRequest(request_id=uuid.uuid4().hex, target=target, path=path)
        self._waiting[(runner, request.request_id)] = asyncio.get_running_loop().create_future()
        return request

    async def wait(
        self, runner: RunnerIdentity, request: ProxyRequest, timeout: float
    ) -> ProxyResponse:
        key = (runner, request.request_id)
        try:
            return await asyncio.wait_for(self._waiting[key], timeout)
        finally:
            self._waiting.pop(key, None)

    def resolve(self, runner: RunnerIdentity, envelope: Envelope) -> None:
        response = ProxyResponse.model_validate(envelope.payload)
        # Keyed by runner too: one runner can never answer another runner's request.
        future = self._waiting.get((runner, response.request_id))
        if future is not None and not future.done():
            future.set_result(response)

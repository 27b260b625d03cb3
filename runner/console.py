"""The runner's side of the live console: proxy-channel requests for one of the allow-listed
console targets (`contract.console.TARGETS`) of an integration this runner runs, answered from
that integration's sidecar (`GET /v1/console/<name>`, which reads Camel over the pod-local
Jolokia agent).

Nothing else is reachable through it: an unknown target, a write, a path that is not
`<environment>/<integration>` or an integration this runner has no sidecar for is refused with
its reason. The sidecar's answer is bounded in time and size and must parse as the target's
model before it goes back, so the control plane only ever receives a console, never an
arbitrary page."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from pydantic import ValidationError

from contract.console import MAX_ANSWER_BYTES, TARGETS, parse_console_path
from contract.envelopes import Channel, Envelope
from contract.proxy import REQUEST, RESPONSE, ProxyRequest, ProxyResponse
from runner.errors import RunnerError
from runner.replay import SidecarUrl, SidecarUrls
from runner.sidecar_ref import Integration
from tunnel.client import TunnelClient

log = logging.getLogger(__name__)
PREFIX = "console-"


class ConsoleRefused(RunnerError, ValueError):
    """The request is not one this runner serves (the reason goes back to the caller)."""


class RunnerConsole:
    def __init__(
        self,
        sidecar_url: SidecarUrl,
        session: aiohttp.ClientSession,
        *,
        discovered: SidecarUrls | None = None,
        token: str = "",
        timeout: float = 5.0,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.sidecar_url, self.session = sidecar_url, session
        self.discovered = discovered
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout, self.max_bytes = timeout, max_bytes

    def install(self, client: TunnelClient) -> None:
        async def on_request(envelope: Envelope) -> None:
            try:
                request = ProxyRequest.model_validate(envelope.payload)
            except ValidationError as exc:
                # no valid request id to answer to: the caller times out
                log.warning("refused a malformed proxy request: %d errors", exc.error_count())
                return
            answer = await self.answer(request)
            await client.send(Channel.PROXY, RESPONSE, answer.model_dump())

        client.on(Channel.PROXY, REQUEST, on_request)

    async def answer(self, request: ProxyRequest) -> ProxyResponse:
        try:
            body = await self._serve(request)
        except ConsoleRefused as exc:
            log.warning("console request refused: %s", exc)
            return ProxyResponse(request_id=request.request_id, status=0, error=str(exc)[:300])
        return ProxyResponse(request_id=request.request_id, status=200, body=body)

    async def _serve(self, request: ProxyRequest) -> str:
        model = TARGETS.get(request.target)
        if model is None:
            allowed = ", ".join(sorted(TARGETS))
            raise ConsoleRefused(f"target {request.target!r} is not allowed (only {allowed})")
        if request.method != "GET" or request.body is not None:
            raise ConsoleRefused("console targets are read-only (GET without a body)")
        names = parse_console_path(request.path)
        if names is None:
            raise ConsoleRefused("the path must name <environment>/<integration>")
        ref = Integration(*names)
        # off the loop: the local driver's lookup may wait for a rollout holding its lock
        configured = await asyncio.to_thread(self.sidecar_url, ref)
        bases = [configured] if configured else []
        if not bases and self.discovered is not None:
            bases = self.discovered(ref)[:1]  # the newest pod
        if not bases:
            raise ConsoleRefused(
                f"this runner runs no integration {ref.integration} in {ref.environment}"
            )
        raw = await self._fetch(bases[0], request.target.removeprefix(PREFIX), ref)
        try:
            return model.model_validate_json(raw).model_dump_json()
        except ValidationError:
            raise ConsoleRefused(
                f"the sidecar of {ref.integration} answered something that is not a "
                f"{request.target} console"
            ) from None

    async def _fetch(self, base: str, name: str, ref: Integration) -> bytes:
        url = f"{base.rstrip('/')}/v1/console/{name}"
        try:
            async with self.session.get(
                url,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as reply:
                data = await reply.content.read(self.max_bytes + 1)
                status = reply.status
        except TimeoutError:
            raise ConsoleRefused(
                f"the sidecar of {ref.integration} did not answer within {self.timeout:g} s"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConsoleRefused(
                f"the sidecar of {ref.integration} is unreachable ({type(exc).__name__})"
            ) from None
        if len(data) > self.max_bytes:
            raise ConsoleRefused(f"the console answer exceeds {self.max_bytes} bytes")
        if status == 401:
            raise ConsoleRefused("the sidecar refused the runner's token")
        if status != 200:
            detail = data[:200].decode(errors="replace")
            raise ConsoleRefused(f"the sidecar answered HTTP {status}: {detail}")
        return data

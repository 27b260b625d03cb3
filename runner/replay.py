"""The runner's side of replay: a `replay` control command (`contract.replay.ReplayCommand`)
goes to the integration's sidecar (`POST /v1/replay`), and the `ReplayResult` goes back on the
status channel. The control plane's side is `reconciler.replay_waiter`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError

from contract.envelopes import Channel, Envelope
from contract.message_types import REPLAY, REPLAY_RESULT
from contract.replay import ReplayCommand, ReplayOutcome, ReplayResult
from runner.sidecar_ref import IntegrationRef
from tunnel.client import TunnelClient

log = logging.getLogger(__name__)


SidecarUrl = Callable[[IntegrationRef], str | None]
SidecarUrls = Callable[[IntegrationRef], list[str]]
"""Several candidates (the pods of an integration): asked in turn until one holds the original."""


def sidecars_by_integration(urls: Mapping[str, str]) -> SidecarUrl:
    """Runner config: ``{"orders": "http://127.0.0.1:8791"}``, or per environment with
    ``"prod/orders"`` (looked up first)."""

    def lookup(command: IntegrationRef) -> str | None:
        return urls.get(f"{command.environment}/{command.integration}") or urls.get(
            command.integration
        )

    return lookup


_TRY_NEXT = (ReplayOutcome.EXPIRED, ReplayOutcome.UNAVAILABLE)


class RunnerReplay:
    """Handles `replay` commands: one sidecar call per request id, even when the tunnel
    re-delivers the command (the answer is cached and sent again instead)."""

    def __init__(
        self,
        client: TunnelClient,
        sidecar_url: SidecarUrl,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 30.0,
        remembered: int = 1_000,
        token: str = "",
        discovered: SidecarUrls | None = None,
    ) -> None:
        self.client, self.sidecar_url, self.session = client, sidecar_url, session
        self.discovered = discovered
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self._answers: OrderedDict[str, ReplayResult] = OrderedDict()
        self._remembered = remembered
        self.sidecar_calls = 0

    def install(self) -> None:
        self.client.on(Channel.CONTROL, REPLAY, self.on_command)

    async def on_command(self, envelope: Envelope) -> None:
        try:
            command = ReplayCommand.model_validate(envelope.payload)
        except ValidationError as exc:
            log.warning("refused a malformed replay command: %d errors", exc.error_count())
            return
        result = self._answers.get(command.request_id)
        if result is None:
            started = time.monotonic()
            result = await self._replay(command)
            # when and how long: a replay answered after the portal's wait is found by this
            log.info(
                "replay %s of %s/%s: %s in %.1fs", command.request_id, command.environment,
                command.integration, result.outcome.value, time.monotonic() - started,
            )  # fmt: skip
            self._answers[command.request_id] = result
            while len(self._answers) > self._remembered:
                self._answers.popitem(last=False)
        await self.client.send(Channel.STATUS, REPLAY_RESULT, result.model_dump(mode="json"))

    async def _replay(self, command: ReplayCommand) -> ReplayResult:
        # off the loop: a driver's lookup may wait for a rollout, and the rollout for a retiring
        # sidecar that flushes to the relay served on this very loop
        configured = await asyncio.to_thread(self.sidecar_url, command)
        bases = [configured] if configured else []
        if not bases and self.discovered is not None:
            bases = self.discovered(command)
        if not bases:
            reason = f"this runner knows no sidecar for integration {command.integration}"
            return _result(command, ReplayOutcome.REJECTED, reason)
        answers: list[ReplayResult] = []
        for base in bases:
            answers.append(await self._call(command, base))
            if answers[-1].outcome not in _TRY_NEXT:
                return answers[-1]  # this pod held the original (or refused): its answer
            # the buffer is per pod: another replica may hold it (a gone pod is unreachable)
        unreachable = [a for a in answers if a.outcome is ReplayOutcome.UNAVAILABLE]
        return unreachable[0] if unreachable else answers[-1]

    async def _call(self, command: ReplayCommand, base: str) -> ReplayResult:
        self.sidecar_calls += 1
        try:
            async with self.session.post(
                base.rstrip("/") + "/v1/replay",
                json={"exchange_id": command.exchange_id},
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                return await _sidecar_answer(command, response)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"the sidecar of {command.integration} is unreachable ({type(exc).__name__})"
            return _result(command, ReplayOutcome.UNAVAILABLE, reason)


async def _sidecar_answer(command: ReplayCommand, response: aiohttp.ClientResponse) -> ReplayResult:
    if response.status == 401:
        reason = "the sidecar refused the runner's token (check $CAMELOPS_SIDECAR_TOKEN)"
        return _result(command, ReplayOutcome.REJECTED, reason)
    body = await response.content.read(64 * 1024)
    try:
        answer = _SidecarAnswer.model_validate_json(body)
    except ValidationError:
        reason = f"the sidecar answered HTTP {response.status} without a replay result"
        return _result(command, ReplayOutcome.UNAVAILABLE, reason)
    if response.status == 400:
        return _result(command, ReplayOutcome.REJECTED, "the sidecar refused the request")
    return _result(command, answer.outcome, answer.reason, answer.endpoint)


class _SidecarAnswer(BaseModel):
    """`telemetry.sidecar.api` answers; extra keys (exchange_id, ...) are ignored here."""

    model_config = ConfigDict(frozen=True)

    outcome: ReplayOutcome = ReplayOutcome.REJECTED
    reason: str = ""
    endpoint: str = ""


def _result(
    command: ReplayCommand, outcome: ReplayOutcome, reason: str, endpoint: str = ""
) -> ReplayResult:
    return ReplayResult(
        request_id=command.request_id, environment=command.environment, outcome=outcome,
        reason=reason[:2_000], endpoint=endpoint[:1_000],
    )  # fmt: skip

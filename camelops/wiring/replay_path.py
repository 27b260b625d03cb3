"""Replay across the tunnel: the API's `ReplaySender` sends a `replay` control command to the
environment's runner; the runner asks the integration's sidecar (`POST /v1/replay`) and
answers `replay_result` on the status channel; the control plane matches the answer to the
waiting request, or records it late when nobody waits any more."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.api.replay_types import ReplayAnswer, ReplayCommand, ReplayOutcome
from reconciler.store import StateStore
from tunnel.client import TunnelClient
from tunnel.contract.envelopes import Channel, Envelope
from tunnel.pki.identity import IdentityError, RunnerIdentity
from tunnel.server import TunnelServer

log = logging.getLogger(__name__)
COMMAND_TYPE = "replay"  # Channel.CONTROL, control plane -> runner
RESULT_TYPE = "replay_result"  # Channel.STATUS, runner -> control plane
_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplayCommandMessage(_Message):
    request_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    project: str = Field(max_length=63, pattern=_NAME)
    environment: str = Field(max_length=63, pattern=_NAME)
    integration: str = Field(max_length=63, pattern=_NAME)
    exchange_id: str = Field(min_length=1, max_length=200)


class ReplayResultMessage(_Message):
    request_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    environment: str = Field(max_length=63, pattern=_NAME)  # checked by the tunnel server
    outcome: ReplayOutcome
    reason: str = Field(default="", max_length=2_000)
    endpoint: str = Field(default="", max_length=1_000)

    def answer(self) -> ReplayAnswer:
        return ReplayAnswer(self.request_id, self.outcome, self.reason, self.endpoint)


# ---- control plane ------------------------------------------------------------------------
class TunnelReplaySender:
    """`reconciler.api.replay_types.ReplaySender` over the tunnel server."""

    def __init__(self, server: TunnelServer, store: StateStore) -> None:
        self.server, self.store = server, store
        self._waiting: dict[tuple[RunnerIdentity, str], asyncio.Future[ReplayAnswer]] = {}

    async def send_replay(self, command: ReplayCommand, timeout: float) -> ReplayAnswer | None:
        try:
            runner = RunnerIdentity(command.org, command.runner)
        except IdentityError as exc:
            return ReplayAnswer(command.request_id, ReplayOutcome.REJECTED, str(exc), "")
        message = ReplayCommandMessage(
            request_id=command.request_id, project=command.project,
            environment=command.environment, integration=command.integration,
            exchange_id=command.exchange_id,
        )  # fmt: skip
        key = (runner, command.request_id)
        waiter = self._waiting[key] = asyncio.get_running_loop().create_future()
        try:
            await self.server.send(runner, Channel.CONTROL, COMMAND_TYPE, message.model_dump())
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(key, None)

    async def handle(self, runner: RunnerIdentity, envelope: Envelope) -> bool:
        """True when the envelope was a replay result (matched, recorded late, or refused)."""
        if envelope.channel != Channel.STATUS or envelope.type != RESULT_TYPE:
            return False
        try:
            result = ReplayResultMessage.model_validate(envelope.payload)
        except ValidationError as exc:
            log.warning("malformed replay result from %s: %d errors", runner, exc.error_count())
            return True
        waiter = self._waiting.get((runner, result.request_id))
        if waiter is not None and not waiter.done():
            waiter.set_result(result.answer())
            return True
        recorded = await asyncio.to_thread(
            lambda: self.store.replays.complete(
                runner.org,
                runner.name,
                result.request_id,
                outcome=result.outcome.value,
                reason=result.reason,
                endpoint=result.endpoint,
            )
        )
        log.info(
            "late replay result %s from %s: %s",
            result.request_id, runner, "recorded" if recorded else "ignored (unknown or done)",
        )  # fmt: skip
        return True


# ---- runner -------------------------------------------------------------------------------
SidecarUrl = Callable[[ReplayCommandMessage], str | None]


def sidecars_by_integration(urls: Mapping[str, str]) -> SidecarUrl:
    """Runner config: ``{"orders": "http://127.0.0.1:8791"}``, or per environment with
    ``"prod/orders"`` (looked up first)."""

    def lookup(command: ReplayCommandMessage) -> str | None:
        return urls.get(f"{command.environment}/{command.integration}") or urls.get(
            command.integration
        )

    return lookup


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
    ) -> None:
        self.client, self.sidecar_url, self.session = client, sidecar_url, session
        self.timeout = timeout
        self._answers: OrderedDict[str, ReplayResultMessage] = OrderedDict()
        self._remembered = remembered
        self.sidecar_calls = 0

    def install(self) -> None:
        self.client.on(Channel.CONTROL, COMMAND_TYPE, self.on_command)

    async def on_command(self, envelope: Envelope) -> None:
        try:
            command = ReplayCommandMessage.model_validate(envelope.payload)
        except ValidationError as exc:
            log.warning("refused a malformed replay command: %d errors", exc.error_count())
            return
        result = self._answers.get(command.request_id)
        if result is None:
            result = await self._replay(command)
            self._answers[command.request_id] = result
            while len(self._answers) > self._remembered:
                self._answers.popitem(last=False)
        await self.client.send(Channel.STATUS, RESULT_TYPE, result.model_dump(mode="json"))

    async def _replay(self, command: ReplayCommandMessage) -> ReplayResultMessage:
        base = self.sidecar_url(command)
        if base is None:
            reason = f"this runner knows no sidecar for integration {command.integration}"
            return _result(command, ReplayOutcome.REJECTED, reason)
        self.sidecar_calls += 1
        try:
            async with self.session.post(
                base.rstrip("/") + "/v1/replay",
                json={"exchange_id": command.exchange_id},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                return await _sidecar_answer(command, response)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"the sidecar of {command.integration} is unreachable ({type(exc).__name__})"
            return _result(command, ReplayOutcome.UNAVAILABLE, reason)


async def _sidecar_answer(
    command: ReplayCommandMessage, response: aiohttp.ClientResponse
) -> ReplayResultMessage:
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
    command: ReplayCommandMessage, outcome: ReplayOutcome, reason: str, endpoint: str = ""
) -> ReplayResultMessage:
    return ReplayResultMessage(
        request_id=command.request_id, environment=command.environment, outcome=outcome,
        reason=reason[:2_000], endpoint=endpoint[:1_000],
    )  # fmt: skip

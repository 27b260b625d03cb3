"""The control plane's side of replay over the tunnel: `TunnelReplaySender` sends the
`replay` command to the environment's runner and waits for its `replay_result`, or records the
answer late (store method, one transaction with its audit record) when nobody waits any more."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError

from contract.envelopes import Channel, Envelope
from contract.message_types import REPLAY, REPLAY_RESULT
from contract.replay import ReplayCommand, ReplayOutcome, ReplayResult
from reconciler.store import StateStore
from tunnel.pki.identity import IdentityError, RunnerIdentity
from tunnel.server import TunnelServer

log = logging.getLogger(__name__)


class TunnelReplaySender:
    """`reconciler.service.replay_types.ReplaySender` over the tunnel server."""

    def __init__(self, server: TunnelServer, store: StateStore) -> None:
        self.server, self.store = server, store
        self._waiting: dict[tuple[RunnerIdentity, str], asyncio.Future[ReplayResult]] = {}

    async def send_replay(
        self, org: str, runner_name: str, command: ReplayCommand, timeout: float
    ) -> ReplayResult | None:
        try:
            runner = RunnerIdentity(org, runner_name)
        except IdentityError as exc:
            return _result(command, ReplayOutcome.REJECTED, str(exc))
        key = (runner, command.request_id)
        waiter = self._waiting[key] = asyncio.get_running_loop().create_future()
        try:
            await self.server.send(runner, Channel.CONTROL, REPLAY, command.model_dump())
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(key, None)

    async def handle(self, runner: RunnerIdentity, envelope: Envelope) -> bool:
        """True when the envelope was a replay result (matched, recorded late, or refused)."""
        if envelope.channel != Channel.STATUS or envelope.type != REPLAY_RESULT:
            return False
        try:
            result = ReplayResult.model_validate(envelope.payload)
        except ValidationError as exc:
            log.warning("malformed replay result from %s: %d errors", runner, exc.error_count())
            return True
        waiter = self._waiting.get((runner, result.request_id))
        if waiter is not None and not waiter.done():
            waiter.set_result(result)
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


def _result(command: ReplayCommand, outcome: ReplayOutcome, reason: str) -> ReplayResult:
    return ReplayResult(
        request_id=command.request_id,
        environment=command.environment,
        outcome=outcome,
        reason=reason[:2_000],
    )

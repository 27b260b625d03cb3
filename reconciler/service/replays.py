"""Replay use case: an idempotent replay request (its record and audit entry in one
transaction), the command to the environment's runner, and its answer recorded."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from contract.replay import ReplayCommand
from reconciler.errors import ReconcilerError
from reconciler.service.replay_types import ReplaySender
from reconciler.store import StateStore
from reconciler.store.records import EnvironmentRecord, Principal, ProjectRecord
from reconciler.store.replays import ReplayRecord, ReplayRequest


@dataclass(frozen=True, slots=True)
class ReplayTransport:
    sender: ReplaySender
    timeout_seconds: float
    """How long to wait for the runner's answer before answering "still sent"."""


class KeyReusedError(ReconcilerError, ValueError):
    """The idempotency key was used for another replay request."""


class NoRunnerError(ReconcilerError, LookupError):
    """The environment names no runner to send the replay to."""


@dataclass(frozen=True, slots=True)
class ReplayAsk:
    key: str
    """The caller's idempotency key: a repeat returns the first request's record."""
    integration: str
    exchange_id: str


class ReplayService:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    async def request(
        self,
        principal: Principal,
        project: ProjectRecord,
        env: EnvironmentRecord,
        ask: ReplayAsk,
        transport: ReplayTransport,
    ) -> ReplayRecord:
        store = self.store
        wanted = ReplayRequest(
            org_id=principal.org_id,
            idempotency_key=ask.key,
            actor=principal.name,
            project=project.name,
            environment=env.name,
            integration=ask.integration,
            exchange_id=ask.exchange_id,
        )
        existing = await asyncio.to_thread(store.replays.by_key, principal.org_id, ask.key)
        if existing is not None:
            return _repeat(existing, wanted)
        if not env.runner:
            raise NoRunnerError(f"environment {env.name} has no runner")
        revision = await asyncio.to_thread(store.replays.revision_of, env.deployed_bundle_id)
        record, created = await asyncio.to_thread(
            lambda: store.replays.open(
                wanted, request_id=uuid.uuid4().hex, runner=env.runner, revision=revision
            )
        )
        if not created:
            return _repeat(record, wanted)
        return await self._send(transport, record)

    async def _send(self, transport: ReplayTransport, record: ReplayRecord) -> ReplayRecord:
        command = ReplayCommand(
            request_id=record.request_id,
            project=record.project,
            environment=record.environment,
            integration=record.integration,
            exchange_id=record.exchange_id,
        )
        answer = await transport.sender.send_replay(
            record.org, record.runner, command, transport.timeout_seconds
        )
        if answer is not None:
            await asyncio.to_thread(
                lambda: self.store.replays.complete(
                    record.org,
                    record.runner,
                    record.request_id,
                    outcome=answer.outcome.value,
                    reason=answer.reason,
                    endpoint=answer.endpoint,
                )
            )
        # reread: a late answer may have completed it, and a repeat must see the same record
        final = await asyncio.to_thread(self.store.replays.by_request_id, record.request_id)
        assert final is not None
        return final


def _repeat(record: ReplayRecord, wanted: ReplayRequest) -> ReplayRecord:
    if not record.same_request(wanted):
        raise KeyReusedError("this idempotency key was used for another replay request")
    return record

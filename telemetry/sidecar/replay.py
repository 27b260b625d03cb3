"""Replay a captured exchange's ORIGINAL input into the integration's replay endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from telemetry.jolokia import JolokiaClient, JolokiaError, JolokiaRequestError
from telemetry.sidecar.buffers import ReplayBuffer
from telemetry.sidecar.redact import Redactor

REPLAY_HEADER = "CamelopsReplayOf"
SEND_OPERATION = "sendBodyAndHeaders(java.lang.String,java.lang.Object,java.util.Map)"

# Headers the consumer set for the original transport; re-sending them into direct: would
# only confuse producers downstream (e.g. camel-http reading CamelHttpUri).
_TRANSPORT_HEADER_PREFIXES = ("Camel",)


class ReplayOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the route ran and threw again
    EXPIRED = "expired"  # the original is no longer in the pod's buffer
    UNAVAILABLE = "unavailable"  # Jolokia / Camel not reachable


@dataclass(frozen=True, slots=True)
class ReplayResult:
    exchange_id: str
    outcome: ReplayOutcome
    endpoint: str
    reason: str


class ReplayExecutor:
    def __init__(
        self,
        client: JolokiaClient,
        buffer: ReplayBuffer,
        *,
        default_endpoint: str,
        redactor: Redactor | None = None,
    ) -> None:
        self._client = client
        self._buffer = buffer
        self._default_endpoint = default_endpoint
        self._redactor = redactor or Redactor.from_rules()

    async def replay(self, exchange_id: str, context_mbean: str, now: float) -> ReplayResult:
        original = self._buffer.get(exchange_id, now)
        endpoint = self._default_endpoint
        if original is None:
            return ReplayResult(
                exchange_id,
                ReplayOutcome.EXPIRED,
                endpoint,
                "the original message is no longer held by the sidecar (expired or evicted); "
                "only messages captured within the replay window can be replayed",
            )
        endpoint = endpoint or original.endpoint_uri
        headers = replay_headers(original.headers, exchange_id)
        self._buffer.mark_replayed(exchange_id)
        try:
            await self._client.execute(
                context_mbean,
                SEND_OPERATION,
                endpoint,
                original.body or "",
                headers,
                stack_trace=True,
            )
        except JolokiaRequestError as exc:
            # the reason leaves the pod: the root cause's message may quote the message
            reason = self._redactor.text(root_cause(exc))
            return ReplayResult(exchange_id, ReplayOutcome.FAILED, endpoint, reason)
        except JolokiaError as exc:
            return ReplayResult(exchange_id, ReplayOutcome.UNAVAILABLE, endpoint, str(exc))
        return ReplayResult(exchange_id, ReplayOutcome.SUCCEEDED, endpoint, "")


def replay_headers(headers: tuple[tuple[str, Any], ...], exchange_id: str) -> dict[str, Any]:
    """Headers as Jolokia can pass them in a java.util.Map: JSON scalars stay typed, the rest
    (already stringified by the tracer) stays a string."""
    kept: dict[str, Any] = {}
    for name, value in headers:
        if name.startswith(_TRANSPORT_HEADER_PREFIXES) or value is None:
            continue
        kept[name] = value if isinstance(value, str | int | float | bool) else json.dumps(value)
    kept[REPLAY_HEADER] = exchange_id
    return kept


def root_cause(error: JolokiaRequestError) -> str:
    """``<type>: <message>`` of the innermost exception: what the route threw, not Camel's
    CamelExecutionException around it. From the last ``Caused by:`` of the stack trace; the
    refusal itself when there is no chain."""
    cause = ""
    for line in error.stack_trace.splitlines():
        if line.startswith("Caused by: "):
            cause = line.removeprefix("Caused by: ").strip()
    if cause:
        return cause[:2_000]
    message = str(error)
    # Jolokia writes "<type> : <message>"; the exception's own "<type>: <message>" reads better
    if error.error_type and message.startswith(error.error_type + " : "):
        message = error.error_type + ": " + message.removeprefix(error.error_type + " : ")
    return message

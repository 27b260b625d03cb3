"""What the replay API hands to the transport and gets back: the `ReplaySender` protocol.

The reconciler knows nothing of tunnels, runners or sidecars; the composition root implements
`ReplaySender` over the tunnel (`camelops.wiring.replay_path.TunnelReplaySender`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ReplayOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the route ran and threw again
    EXPIRED = "expired"  # the sidecar no longer holds the original message
    UNAVAILABLE = "unavailable"  # sidecar, Jolokia or Camel not reachable
    REJECTED = "rejected"  # the runner refused the command (e.g. an integration it does not know)


@dataclass(frozen=True, slots=True)
class ReplayCommand:
    request_id: str
    """Unique per replay; the runner's answer is matched to it (and to the runner)."""
    org: str
    runner: str
    project: str
    environment: str
    integration: str
    exchange_id: str


@dataclass(frozen=True, slots=True)
class ReplayAnswer:
    request_id: str
    outcome: ReplayOutcome
    reason: str
    endpoint: str


class ReplaySender(Protocol):
    async def send_replay(self, command: ReplayCommand, timeout: float) -> ReplayAnswer | None:
        """Send the command to the runner; None when no answer came within ``timeout`` (the
        command stays queued for the runner, and a late answer is recorded when it comes)."""
        ...

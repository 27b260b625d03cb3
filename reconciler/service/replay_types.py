"""What the replay API hands to the transport and gets back: the `ReplaySender` protocol.

The reconciler knows nothing of tunnels, runners or sidecars; the composition root implements
`ReplaySender` over the tunnel (`reconciler.replay_waiter.TunnelReplaySender`).
"""

from __future__ import annotations

from typing import Protocol

from contract.replay import ReplayCommand, ReplayResult


class ReplaySender(Protocol):
    async def send_replay(
        self, org: str, runner: str, command: ReplayCommand, timeout: float
    ) -> ReplayResult | None:
        """Send the command to runner `org`/`runner`; None when no answer came within
        ``timeout`` (the command stays queued for the runner, and a late answer is recorded
        when it comes)."""
        ...

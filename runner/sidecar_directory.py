"""Where the sidecars of a cluster listen, learnt from their telemetry: every batch a sidecar
posts to the runner's relay names its environment, integration and pod, and comes from the
pod's address. A replay then goes to the sidecars of that integration, newest first, until
one holds the original (the replay buffer is per pod; the others answer `expired`).

No Kubernetes API permission is needed for this. A workload that posts batches under another
integration's name only receives replay calls it cannot answer: the original messages stay in
the sidecars, and the runner's token it sees opens no sidecar from a pod other than the
runner's (the NetworkPolicy admits only the runner to the sidecar port)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass

from contract.telemetry import TelemetryBatch
from runner.sidecar_ref import IntegrationRef

SIDECAR_PORT = 9464
"""The port the rendered sidecar's replay API listens on (renderers.context.SIDECAR_PORT)."""
MAX_PODS = 50  # per (environment, integration): a bound on what a sender can make us remember


@dataclass(frozen=True, slots=True)
class _Seen:
    url: str
    at: float


class SidecarDirectory:
    def __init__(
        self,
        *,
        port: int = SIDECAR_PORT,
        ttl_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._pods: dict[tuple[str, str], dict[str, _Seen]] = {}

    def seen(self, batch: TelemetryBatch, remote: str | None) -> None:
        """A batch the relay accepted from `remote` (the sender's address)."""
        try:
            address = ipaddress.ip_address(remote or "")
        except ValueError:
            return
        host = f"[{address}]" if address.version == 6 else str(address)
        pods = self._pods.setdefault((batch.environment, batch.integration), {})
        pods[batch.pod or host] = _Seen(f"http://{host}:{self.port}", self._clock())
        if len(pods) > MAX_PODS:
            oldest = min(pods, key=lambda pod: pods[pod].at)
            del pods[oldest]

    def urls(self, command: IntegrationRef) -> list[str]:
        """Sidecar URLs of the command's integration in its environment, newest first (pods
        not heard from within the TTL are gone: restarted, scaled down)."""
        pods = self._pods.get((command.environment, command.integration), {})
        fresh = self._clock() - self.ttl_seconds
        for gone in [pod for pod, seen in pods.items() if seen.at < fresh]:
            del pods[gone]
        ordered = sorted(pods.values(), key=lambda seen: seen.at, reverse=True)
        return list(dict.fromkeys(seen.url for seen in ordered))

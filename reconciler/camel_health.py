"""Camel-aware environment health: the sidecars' verdicts (route states, failure rates), kept
per environment and combined with the runner's (driver's) health into the state the control
plane records and shows. A GitOps tool sees objects; this sees that a route is stopped.

A verdict is kept until a newer one from the same sidecar (integration and pod) replaces it,
or for `ttl_seconds` after it was received (a sidecar that went away stops counting)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from contract.status import Health

DEGRADED = Health.DEGRADED.value
CAMEL_PREFIX = "Camel: "
"""How a combined detail starts: what a state recorded with Camel's problems looks like."""
_SEVERITY = {h.value: i for i, h in enumerate(Health)}


@dataclass(frozen=True, slots=True)
class SidecarVerdict:
    integration: str
    pod: str
    problems: tuple[str, ...]
    received_at: float


EnvKey = tuple[str, str, str]
"""(org, runner, environment): what a telemetry batch names (the runner serves the env)."""


class CamelHealthBoard:
    def __init__(
        self, *, ttl_seconds: float = 120.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()  # noted on the event loop, read in worker threads
        self._verdicts: dict[EnvKey, dict[tuple[str, str], SidecarVerdict]] = {}

    def note(self, key: EnvKey, integration: str, pod: str, problems: tuple[str, ...]) -> bool:
        """Keep one sidecar's verdict; True when the environment's problems changed. Only a
        change beyond numbers counts: Camel's messages carry counters ("failed polling 12
        times", a failure rate) that move every round, and each change re-records the
        environment's state: the history would grow by one row per sidecar poll."""
        with self._lock:
            before = _shape(self._problems(key))
            sidecars = self._verdicts.setdefault(key, {})
            sidecars[(integration, pod)] = SidecarVerdict(integration, pod, problems, self._clock())
            return _shape(self._problems(key)) != before

    def problems(self, key: EnvKey) -> tuple[str, ...]:
        """`<integration>: <problem>` lines of the environment's live verdicts, sorted; a
        problem several pods report is listed once."""
        with self._lock:
            return self._problems(key)

    def _problems(self, key: EnvKey) -> tuple[str, ...]:
        oldest = self._clock() - self.ttl_seconds
        sidecars = self._verdicts.get(key, {})
        for gone in [k for k, v in sidecars.items() if v.received_at < oldest]:
            del sidecars[gone]
        lines = {f"{v.integration}: {p}" for v in sidecars.values() for p in v.problems}
        return tuple(sorted(lines))


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _shape(problems: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_NUMBER.sub("#", p) for p in problems)


def combined(state: str, detail: str, problems: tuple[str, ...]) -> tuple[str, str]:
    """The runner's `<phase>/<health>` and detail with Camel's problems on top: any problem
    makes the health at least Degraded, and the detail names the routes first."""
    if not problems:
        return state, detail
    phase, _, health = state.partition("/")
    if _SEVERITY.get(health, 0) < _SEVERITY[DEGRADED]:
        health = DEGRADED
    camel = CAMEL_PREFIX + "; ".join(problems)
    return f"{phase}/{health}"[:40], "; ".join(p for p in (camel, detail) if p)[:2000]

"""Settings of one sidecar, passed explicitly (the CLI builds them from flags)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SidecarSettings:
    integration: str
    """Integration name the captured exchanges belong to."""
    jolokia_url: str = "http://127.0.0.1:8778/jolokia/"
    """The Camel JVM's Jolokia agent, on the pod's loopback."""
    environment: str = ""
    pod: str = ""
    sample_rate: float = 1.0
    """Share of successful exchanges kept (0..1); failed exchanges are always kept."""
    body_max_chars: int = 4096
    """Bodies are cut to this many characters after redaction (0 = no cut)."""
    redaction_patterns: tuple[str, ...] = ()
    """Extra regexes whose matches are masked in bodies, header values and exception messages."""
    redaction_headers: tuple[str, ...] = ()
    """Extra header names whose values are masked whole."""
    ring_capacity: int = 10_000
    """Exchanges held for upstream delivery; the oldest are dropped (and counted) beyond it."""
    replay_endpoint: str = ""
    """Endpoint replays are sent to (e.g. ``direct:orders``); empty = the route's own input."""
    replay_capacity: int = 1_000
    replay_ttl_seconds: float = 900.0
    """Originals older than this cannot be replayed any more."""
    tracer_body_max_chars: int = 65_536
    """The JVM cuts each traced body to this many characters before copying it (at every node,
    so this bounds the tracer's cost per exchange); a cut original cannot be replayed."""
    tracer_backlog_size: int = 1_000
    """BacklogTracer queue size (Camel caps it at 1000 in current 4.x)."""
    incomplete_after_seconds: float = 30.0
    poll_interval_seconds: float = 0.25
    stats_interval_seconds: float = 10.0
    batch_max_exchanges: int = 1_000
    failure_rate_threshold: float = 0.5
    """Camel-aware health: a route failing more than this share of its exchanges within
    `failure_window_seconds` (and at least `failure_min_exchanges` of them) is reported as a
    problem, and the environment shows Degraded."""
    failure_min_exchanges: int = 10
    failure_window_seconds: float = 300.0
    health_interval_seconds: float = 5.0

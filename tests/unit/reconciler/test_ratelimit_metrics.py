"""Token buckets, replay memory and the Prometheus text."""

from __future__ import annotations

from reconciler.api.ratelimit import RateLimiter, ReplayGuard
from reconciler.metrics import Metrics


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.exhausted("a")
    assert limiter.allow("b")  # keys are independent
    clock.now += 1.0
    assert not limiter.exhausted("a")
    assert limiter.allow("a")


def test_bucket_memory_is_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=FakeClock(), max_keys=10)
    for i in range(1000):
        limiter.allow(f"k{i}")
    assert len(limiter._buckets) == 10


def test_replay_guard_remembers_for_its_ttl() -> None:
    clock = FakeClock()
    guard = ReplayGuard(ttl_s=60, clock=clock)
    assert guard.first_time("d1")
    assert not guard.first_time("d1")
    clock.now += 61
    assert guard.first_time("d1")


def test_metrics_text_escapes_labels() -> None:
    metrics = Metrics()
    metrics.reconciled("failure", 'Fetch"Failed\n', 0.3)
    text = metrics.render()
    assert 'reason="Fetch\\"Failed\\n"' in text
    assert 'camelops_reconcile_duration_seconds_bucket{le="0.5"} 1' in text
    assert 'camelops_reconcile_duration_seconds_bucket{le="0.25"} 0' in text
    assert text.endswith("\n")

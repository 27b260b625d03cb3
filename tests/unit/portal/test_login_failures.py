"""The in-memory failed-login tracker stays bounded under a spray of names."""

from __future__ import annotations

from reconciler.service import accounts
from reconciler.service.accounts import _Failures


def test_failures_forget_stale_keys_and_stay_bounded() -> None:
    failures = _Failures()
    for n in range(accounts._MAX_TRACKED):
        failures.add(f"user:{n}", now=0.0, window=300.0)
    failures.add("user:late", now=1000.0, window=300.0)  # every earlier key is stale by now
    assert list(failures.times) == ["user:late"]
    for n in range(accounts._MAX_TRACKED + 50):
        failures.add(f"user:x{n}", now=1000.0, window=300.0)
    assert len(failures.times) == accounts._MAX_TRACKED
    assert failures.recent("user:x0", now=1000.0, window=300.0) == 0  # evicted, oldest first
    assert failures.recent(f"user:x{accounts._MAX_TRACKED + 49}", 1000.0, 300.0) == 1

"""The generic webhook's replay window: a delivery exactly `max_age` seconds old is still
accepted, one second older is refused. The clock is pinned so the boundary is hit exactly
(with the real float clock an age equal to `max_age` happens only by chance)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from reconciler.api import hooks

SECRET = b"s" * 32
BODY = b'{"ref":"refs/heads/main"}'
NOW = 1_800_000_000


def _signature(stamp: str) -> str:
    return "sha256=" + hmac.new(SECRET, stamp.encode() + b"." + BODY, hashlib.sha256).hexdigest()


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.api.hooks.time.time", lambda: float(NOW))


@pytest.mark.parametrize("age", [0, 299, 300, -300])
def test_a_delivery_within_the_window_is_accepted(age: int) -> None:
    stamp = str(NOW - age)
    key = hooks._check_generic(_signature(stamp), stamp, max_age=300, secret=SECRET, body=BODY)
    assert key == f"generic:{stamp}:{_signature(stamp)}"


@pytest.mark.parametrize("age", [301, -301, 10_000])
def test_a_delivery_outside_the_window_is_a_replay(age: int) -> None:
    stamp = str(NOW - age)
    with pytest.raises(hooks.HookRefused) as refused:
        hooks._check_generic(_signature(stamp), stamp, max_age=300, secret=SECRET, body=BODY)
    assert refused.value.status == 401
    assert "timestamp too old" in str(refused.value)

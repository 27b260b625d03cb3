"""Ring buffer drop counting, replay buffer expiry, deterministic sampling."""

from __future__ import annotations

import pytest

from telemetry.sidecar.buffers import ReplayBuffer, ReplayOriginal, RingBuffer, sampled_in


def original(exchange_id: str, at: float) -> ReplayOriginal:
    return ReplayOriginal(exchange_id, "r", "direct:r", "body", (("h", "v"),), at)


def test_ring_drops_oldest_and_counts() -> None:
    ring: RingBuffer[int] = RingBuffer(3)
    for item in range(5):
        ring.push(item)
    assert ring.peek(10) == [2, 3, 4]
    assert ring.dropped == 2


def test_ring_keeps_items_until_acknowledged() -> None:
    ring: RingBuffer[int] = RingBuffer(10)
    for item in range(4):
        ring.push(item)
    assert ring.peek(2) == [0, 1]
    assert len(ring) == 4
    ring.ack(2)
    assert ring.peek(10) == [2, 3]
    ring.ack(99)
    assert len(ring) == 0


def test_ring_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RingBuffer[int](0)


def test_replay_originals_expire_by_age() -> None:
    buffer = ReplayBuffer(capacity=10, ttl_seconds=60)
    buffer.put(original("a", at=0))
    buffer.put(original("b", at=30))
    assert buffer.get("a", now=59) is not None
    assert buffer.get("a", now=60) is None
    assert buffer.get("b", now=60) is not None
    assert buffer.evicted == 1


def test_an_older_original_behind_a_younger_one_still_expires_on_time() -> None:
    """Originals taken over from a predecessor arrive after the successor's own, younger ones:
    expiry cannot stop at the first young entry and hand out an old one."""
    buffer = ReplayBuffer(capacity=10, ttl_seconds=60)
    buffer.put(original("own", at=50))
    buffer.put(original("taken-over", at=0))
    assert buffer.get("taken-over", now=59) is not None
    assert buffer.get("taken-over", now=60) is None
    assert [o.exchange_id for o in buffer.held(now=60)] == ["own"]
    assert buffer.get("own", now=60) is not None


def test_replay_buffer_is_bounded_by_count() -> None:
    buffer = ReplayBuffer(capacity=2, ttl_seconds=60)
    for name in "abc":
        buffer.put(original(name, at=0))
    assert buffer.get("a", now=1) is None
    assert len(buffer) == 2
    assert buffer.evicted == 1


def test_sampling_is_deterministic_and_close_to_the_rate() -> None:
    ids = [f"ID-{n:016d}" for n in range(2000)]
    kept = [i for i in ids if sampled_in(i, 0.25)]
    assert kept == [i for i in ids if sampled_in(i, 0.25)]
    assert 400 < len(kept) < 600
    assert all(sampled_in(i, 1.0) for i in ids[:10])
    assert not any(sampled_in(i, 0.0) for i in ids[:10])

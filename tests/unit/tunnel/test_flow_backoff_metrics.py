"""Watermarks, mailboxes, reconnect backoff and the Prometheus text output."""

from __future__ import annotations

import asyncio
import random

import pytest

from tunnel.backoff import Backoff
from tunnel.flow import Mailbox, Watermark, Window
from tunnel.metrics import Metrics


def test_watermark_hysteresis() -> None:
    mark = Watermark(high=10, low=3)
    for level in (5, 9):
        mark.update(level)
        assert mark.is_open
    mark.update(10)
    assert not mark.is_open
    assert mark.pauses == 1
    mark.update(4)
    assert not mark.is_open
    mark.update(3)
    assert mark.is_open


def test_watermark_rejects_inverted_levels() -> None:
    with pytest.raises(ValueError, match="low < high"):
        Watermark(high=3, low=3)


async def test_window_blocks_until_released() -> None:
    window = Window(count=(2, 0), size=(1000, 10))
    window.add(2, 20)
    waiter = asyncio.create_task(window.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    window.release(2, 20)
    await asyncio.wait_for(waiter, 1)


async def test_mailbox_hands_over_batches_in_order() -> None:
    box: Mailbox[int] = Mailbox()
    taker = asyncio.create_task(box.take(3))
    await asyncio.sleep(0)
    for n in range(5):
        box.put(n)
    assert await asyncio.wait_for(taker, 1) == [0, 1, 2]
    assert await box.take(10) == [3, 4]


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(base=0.5, cap=8.0)
    rng = random.Random(7)
    delays = [[backoff.delay(attempt, rng) for _ in range(200)] for attempt in range(8)]
    assert all(0 <= d <= 0.5 for d in delays[0])
    assert all(0 <= d <= 8.0 for d in delays[7])
    assert max(delays[5]) > 4  # grew well past the base
    assert len({round(d, 6) for d in delays[3]}) > 150  # full jitter, not a fixed step
    assert backoff.delay(10_000, rng) <= 8.0  # no overflow on huge attempt counts


def test_metrics_render_prometheus_text() -> None:
    metrics = Metrics("camelops_tunnel_x")
    metrics.inc("bytes_in_total", 10)
    metrics.inc("refused_total", labels=(("reason", 'bad "quote"\n'),))
    metrics.gauge("connected", lambda: {(): 1.0}, "connected now")
    text = metrics.render()
    assert "# TYPE camelops_tunnel_x_bytes_in_total counter" in text
    assert "camelops_tunnel_x_bytes_in_total 10\n" in text
    assert 'camelops_tunnel_x_refused_total{reason="bad \\"quote\\"\\n"} 1' in text
    assert "# TYPE camelops_tunnel_x_connected gauge" in text
    assert metrics.value("bytes_in_total") == 10

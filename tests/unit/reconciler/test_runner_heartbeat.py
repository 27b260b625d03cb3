"""A connected runner's `last_seen_at` stays current: set when it connects and, while it stays
connected, on every heartbeat of the control plane (real state store, real callbacks)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path

from reconciler.store import StateStore
from reconciler.tunnel_callbacks import ReconcilerCallbacks
from tunnel.pki.identity import RunnerIdentity

RUNNER = RunnerIdentity("acme", "dev-cluster")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def seen(store: StateStore) -> object:
    org = store.accounts.ensure_org("acme")
    return next(r["last_seen_at"] for r in store.accounts.runners(org) if r["name"] == RUNNER.name)


async def test_last_seen_at_is_kept_current_while_connected(tmp_path: Path) -> None:
    clock = Clock()
    store = StateStore(tmp_path / "state.db", secrets.token_bytes(32), clock=clock)
    store.accounts.register_runner(store.accounts.ensure_org("acme"), RUNNER.name)
    callbacks = ReconcilerCallbacks()
    callbacks.bind(store)
    assert seen(store) is None  # registered, never connected

    connected: set[RunnerIdentity] = {RUNNER}
    beats = asyncio.create_task(callbacks.heartbeat(lambda: connected, every=0.02))
    try:
        for expected in (1_010.0, 1_020.0):
            clock.now = expected
            async with asyncio.timeout(5):
                while seen(store) != expected:
                    await asyncio.sleep(0.01)
        connected.clear()  # gone: the heartbeat leaves its last time alone
        clock.now = 1_030.0
        await asyncio.sleep(0.1)
        assert seen(store) == 1_020.0
    finally:
        beats.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beats
    store.close()

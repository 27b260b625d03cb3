"""The runner daemon's side of the tunnel against a real in-process mTLS tunnel server:
bundles and rollbacks reach the sync daemon, broken control messages are dropped, and
statuses come back as the control plane's `StatusReport`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contract import commands
from contract.envelopes import Channel
from contract.message_types import ROLLBACK, STATUS
from contract.status import StatusReport
from runner.daemon import RunnerDaemon
from tests.e2e.k8s.helpers import bundle, configmap
from tests.integration.tunnel.conftest import (
    FAST_BACKOFF,
    FAST_LINK,
    ORG,
    ControlPlane,
    eventually,
)
from tests.integration.wiring.recording import RecordingDriver
from tunnel.client import ClientSettings
from tunnel.pki.identity import RunnerIdentity

pytestmark = pytest.mark.timeout(120)
RUNNER = RunnerIdentity(ORG, "edge")


@pytest.fixture
async def daemon(tunnel_plane: ControlPlane, tmp_path: Path) -> AsyncIterator[RunnerDaemon]:
    tunnel_plane.recorder.environments[RUNNER.name] = frozenset({"dev"})
    data_dir = await tunnel_plane.register(RUNNER.name, tmp_path)
    settings = ClientSettings(link=FAST_LINK, backoff=FAST_BACKOFF, url=tunnel_plane.tunnel_url)
    running = RunnerDaemon(data_dir, RecordingDriver(), tunnel=settings)
    await running.start()
    yield running
    await running.stop()


def reports(plane: ControlPlane) -> list[StatusReport]:
    return [
        StatusReport.model_validate(e.payload)
        for _, e in plane.recorder.received
        if e.channel == Channel.STATUS and e.type == STATUS
    ]


async def test_bundles_and_rollback_reach_the_daemon_and_statuses_come_back(
    tunnel_plane: ControlPlane, daemon: RunnerDaemon
) -> None:
    driver = daemon.driver
    assert isinstance(driver, RecordingDriver)
    first = bundle([configmap("shop-dev", "a", {"k": "1"})], "rev1")
    second = bundle([configmap("shop-dev", "a", {"k": "2"})], "rev2")
    for sent in (first, second):
        await tunnel_plane.server.send_bundle(RUNNER, sent)
        await daemon.daemon.wait_for(lambda s, r=sent.revision: s.revision == r, "shop/dev", 30)  # type: ignore[misc]
    rollback = {"project": "shop", "environment": "dev", "revision": "rev1"}
    await tunnel_plane.server.send(RUNNER, Channel.CONTROL, ROLLBACK, rollback)
    await daemon.daemon.wait_for(lambda s: s.revision == "rev1", "shop/dev", 30)
    assert driver.revisions("shop/dev") == ["rev1", "rev2", "rev1"]
    assert daemon.applied_digests() == {"shop/dev": first.digest}
    await daemon.client.connected.wait()
    await wait_reports(tunnel_plane, ["rev1", "rev2", "rev1"])
    assert {r.state for r in reports(tunnel_plane)} == {"Synced/Healthy"}


async def wait_reports(plane: ControlPlane, revisions: list[str]) -> None:
    await eventually(lambda: [r.revision for r in reports(plane)] == revisions, timeout=30)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (commands.BUNDLE, {}),
        (commands.BUNDLE, {"project": "shop", "environment": "dev", "manifests": "nope"}),
        (ROLLBACK, {"project": "../etc", "environment": "dev", "revision": "rev1"}),
        (ROLLBACK, {"project": "shop", "environment": "dev", "revision": "rev1", "x": 1}),
        (ROLLBACK, {"project": "shop", "environment": "dev", "revision": "unknown"}),
        ("launch_missiles", {"environment": "dev"}),
    ],
)
async def test_broken_control_messages_are_dropped(
    tunnel_plane: ControlPlane, daemon: RunnerDaemon, kind: str, payload: dict[str, object]
) -> None:
    await tunnel_plane.server.send(RUNNER, Channel.CONTROL, kind, payload)
    good = bundle([configmap("shop-dev", "b", {"k": "v"})], "after")
    await tunnel_plane.server.send_bundle(RUNNER, good)
    # messages on a channel are handled in order: once `good` is applied the broken one was seen
    await daemon.daemon.wait_for(lambda s: s.revision == "after", "shop/dev", 30)
    driver = daemon.driver
    assert isinstance(driver, RecordingDriver)
    assert driver.revisions("shop/dev") == ["after"]
    assert daemon.client.connected.is_set()

"""Bundles queued for an offline runner coalesce per environment: only the newest desired
state waits (every manual sync used to queue another full copy); commands keep their order."""

from __future__ import annotations

from pathlib import Path

from contract.bundles import Bundle
from contract.commands import BUNDLE
from contract.envelopes import Channel, Envelope
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually
from tunnel.pki.identity import RunnerIdentity

ROLLBACK = "rollback"


def bundle(environment: str, revision: str) -> Bundle:
    manifests = ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": revision}},)
    return Bundle.of(
        project="shop", environment=environment, revision=revision, manifests=manifests
    )


async def received_by_runner(control_plane: ControlPlane, data_dir: Path) -> list[str]:
    """Start the runner and collect what its control channel receives, in order."""
    seen: list[str] = []

    async def record(envelope: Envelope) -> None:
        payload = envelope.payload
        label = payload.get("revision", "")
        seen.append(f"{envelope.type}:{payload.get('environment')}:{label}")

    client = control_plane.client(data_dir)
    client.on(Channel.CONTROL, BUNDLE, record)
    client.on(Channel.CONTROL, ROLLBACK, record)
    await client.start()
    await client.connected.wait()
    return seen


async def test_an_offline_runner_gets_the_newest_bundle_per_environment_and_every_command(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    control_plane.recorder.environments = {"edge-1": frozenset({"dev", "prod"})}
    data_dir = await control_plane.register("edge-1", tmp_path)
    runner, server = RunnerIdentity(ORG, "edge-1"), control_plane.server
    await server.send_bundle(runner, bundle("dev", "r1"))
    await server.send_bundle(runner, bundle("dev", "r2"))
    rollback = {"project": "shop", "environment": "prod", "revision": "p0"}
    await server.send(runner, Channel.CONTROL, ROLLBACK, rollback)
    await server.send_bundle(runner, bundle("dev", "r3"))
    await server.send_bundle(runner, bundle("prod", "p1"))
    for _ in range(3):  # manual syncs of the same revision while offline
        await server.send_bundle(runner, bundle("dev", "r3"))
    assert "bundles_superseded_total 5" in server.metrics.render()
    seen = await received_by_runner(control_plane, data_dir)
    expected = ["rollback:prod:p0", "bundle:prod:p1", "bundle:dev:r3"]
    await eventually(lambda: len(seen) >= len(expected))
    assert seen == expected


async def test_an_outbox_restored_after_a_restart_coalesces_too(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    control_plane.recorder.environments = {"edge-1": frozenset({"dev"})}
    data_dir = await control_plane.register("edge-1", tmp_path)
    runner = RunnerIdentity(ORG, "edge-1")
    await control_plane.server.send_bundle(runner, bundle("dev", "r1"))
    await control_plane.restart_server()  # the outbox goes to disk and comes back
    await control_plane.server.send_bundle(runner, bundle("dev", "r2"))
    seen = await received_by_runner(control_plane, data_dir)
    await eventually(lambda: len(seen) >= 1)
    assert seen == ["bundle:dev:r2"]

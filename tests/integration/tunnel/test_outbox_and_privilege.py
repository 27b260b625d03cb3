"""The runner's durable outbox (bounded, telemetry dropped first, status never, drops reported)
and least privilege (a runner only gets its own environments' bundles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.bundles import Bundle
from contract.commands import BUNDLE
from contract.envelopes import Channel, Envelope
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually, wait_for
from tunnel.client import TunnelClient
from tunnel.pki.identity import RunnerIdentity


async def test_offline_outbox_drops_oldest_telemetry_never_status(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    await control_plane.server.stop()
    client = control_plane.client(data_dir, max_outbox=20)
    await client.start()
    for n in range(30):
        await client.send(Channel.TELEMETRY, "spans", {"n": n})
        if n % 3 == 0:
            await client.send(Channel.STATUS, "health", {"n": n})
    await client.stop()  # a runner restart while offline: the outbox is on disk
    control_plane.runners.remove(client)

    await control_plane.restart_server()
    client = control_plane.client(data_dir, max_outbox=20)
    await client.start()
    await eventually(lambda: len(control_plane.recorder.received) == 20)
    by_channel: dict[Channel, list[int]] = {}
    for _, envelope in control_plane.recorder.received:
        by_channel.setdefault(envelope.channel, []).append(int(envelope.payload["n"]))
    assert by_channel[Channel.STATUS] == list(range(0, 30, 3))  # every status survived, in order
    assert by_channel[Channel.TELEMETRY] == list(range(20, 30))  # only the newest telemetry
    hello = control_plane.recorder.hellos[-1][1]
    assert hello.dropped == {Channel.TELEMETRY: 20}  # the drop count reaches the control plane
    metrics = control_plane.server.metrics.render()
    assert 'runner_dropped{runner="acme/edge-1",channel="telemetry"} 20' in metrics
    assert "camelops_tunnel_runner_dropped" in client.metrics.render()


async def test_outbox_never_drops_status_even_over_its_bound(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    await control_plane.server.stop()
    client = control_plane.client(data_dir, max_outbox=5)
    await client.start()
    for n in range(12):
        await client.send(Channel.STATUS, "health", {"n": n})
    assert len(client.state.pending) == 12
    assert not client.state.dropped


def _bundle(environment: str) -> Bundle:
    manifests = ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},)
    return Bundle.of(
        project="shop", environment=environment, revision="0" * 40, manifests=manifests
    )


async def test_runner_only_receives_its_own_environments(
    control_plane: ControlPlane, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    control_plane.recorder.environments = {"edge-1": frozenset({"dev"})}
    client = control_plane.client(await control_plane.register("edge-1", tmp_path))
    bundles: list[Envelope] = []

    async def on_bundle(envelope: Envelope) -> None:
        bundles.append(envelope)

    client.on(Channel.CONTROL, BUNDLE, on_bundle)
    await client.start()
    await wait_for(client.connected.wait())
    runner = RunnerIdentity(ORG, "edge-1")
    with pytest.raises(PermissionError):
        await control_plane.server.send_bundle(runner, _bundle("prod"))
    assert "refused to send environment prod" in caplog.text
    await control_plane.server.send_bundle(runner, _bundle("dev"))
    await eventually(lambda: len(bundles) == 1)
    assert Bundle.model_validate(bundles[0].payload).environment == "dev"


async def test_hello_carries_applied_digests_for_resync(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    client = TunnelClient(
        data_dir, control_plane.client(data_dir).settings, digests=lambda: {"dev": "sha256:abc"}
    )
    control_plane.runners.append(client)
    await client.start()
    await eventually(lambda: any(h.digests for _, h in control_plane.recorder.hellos))
    assert control_plane.recorder.hellos[-1][1].digests == {"dev": "sha256:abc"}

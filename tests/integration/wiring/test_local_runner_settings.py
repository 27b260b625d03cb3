"""`camelops runner --driver local` as a user runs it (a subprocess, registered over the real
mTLS tunnel) honours the runner's timing settings like the kubernetes driver: with
CAMELOPS_RUNNER_INTERVAL=1 a secret file deleted by hand is back within seconds (the settled
environment's drift check), not after the default 180 s. No JVM: the bundle holds a Secret."""

from __future__ import annotations

import asyncio
import base64
import shutil
import signal
import sys
from pathlib import Path

import pytest

from contract.bundles import Bundle
from contract.envelopes import Channel
from contract.message_types import STATUS
from contract.status import StatusReport
from runner.objects import Manifest
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually
from tests.integration.wiring.stack import clean_env
from tunnel.pki.identity import RunnerIdentity

pytestmark = pytest.mark.timeout(120)
RUNNER = RunnerIdentity(ORG, "edge-local")
NAMESPACE = "shop-dev"
SECRET: Manifest = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "orders-db", "namespace": NAMESPACE},
    "data": {"password": base64.b64encode(b"local-runner-test").decode()},
}


def secret_bundle() -> Bundle:
    manifests = [SECRET]
    return Bundle.of(
        project="shop", environment="dev", revision="rev1", manifests=manifests, target="local"
    )


def states(plane: ControlPlane) -> list[str]:
    return [
        StatusReport.model_validate(e.payload).state
        for _, e in plane.recorder.received
        if e.channel == Channel.STATUS and e.type == STATUS
    ]


async def test_the_local_runner_checks_a_settled_environment_at_the_configured_interval(
    tunnel_plane: ControlPlane, tmp_path: Path
) -> None:
    tunnel_plane.recorder.environments[RUNNER.name] = frozenset({"dev"})
    data_dir = await tunnel_plane.register(RUNNER.name, tmp_path)
    camel_home = tmp_path / "camel-home"
    (camel_home / "lib").mkdir(parents=True)  # a runtime is checked for; no JVM starts here
    env = clean_env(CAMELOPS_RUNNER_INTERVAL="1", CAMELOPS_RUNNER_RECHECK="0.5")
    runner = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camelops", "runner", "--driver", "local",
        "--data-dir", str(data_dir), "--camel-home", str(camel_home), "--relay", "off",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    written = data_dir / "local" / "envs" / NAMESPACE / "_secrets" / "orders-db" / "password"
    try:
        await tunnel_plane.server.send_bundle(RUNNER, secret_bundle())
        await eventually(lambda: "Synced/Healthy" in states(tunnel_plane), timeout=60)
        assert written.exists()
        shutil.rmtree(written.parent)
        # the default interval (180 s) would leave it missing for minutes
        await eventually(written.exists, timeout=15)
        assert written.read_bytes() == b"local-runner-test"
    finally:
        if runner.returncode is None:
            runner.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(runner.communicate(), 60)
    assert runner.returncode == 0, output.decode(errors="replace")[-3000:]

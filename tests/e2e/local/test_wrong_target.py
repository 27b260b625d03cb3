"""A runner refuses a bundle rendered for another target, before its driver does anything."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from contract.bundles import Bundle
from contract.status import Phase
from renderers import render_environment
from runner.drivers.local import LocalDriver, LocalSettings
from runner.store import RunnerStore
from runner.sync import SyncDaemon
from tests.e2e.local.conftest import INTEGRATION, camel_pids, route
from tests.unit.renderers.repos import load, write_repo


async def test_the_local_driver_refuses_a_kubernetes_bundle_with_what_to_change(
    tmp_path: Path, settings: LocalSettings, drivers: list[LocalDriver]
) -> None:
    root = write_repo(
        tmp_path / "repo",
        {
            "integrations/hello/integration.yaml": INTEGRATION,
            "integrations/hello/routes/hello.camel.yaml": route("hi"),
        },
    )
    manifests = render_environment(load(root), "dev")  # the kubernetes target
    bundle = Bundle.of(
        project="shop", environment="dev", revision="r1", manifests=manifests, target="kubernetes"
    )
    driver = LocalDriver(settings)
    drivers.append(driver)
    daemon = SyncDaemon(driver, RunnerStore(tmp_path / "runner" / "state.sqlite"))
    task = asyncio.create_task(daemon.run())
    try:
        daemon.submit(bundle)
        status = await daemon.wait_for(lambda s: s.revision == "r1", "shop/dev", timeout=30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert status.phase is Phase.FAILED
    assert "for the kubernetes target" in status.message
    assert "`target: local`" in status.message
    assert camel_pids(settings.state_dir) == set()  # nothing was started
    assert not any(settings.state_dir.glob("**/*.camel.yaml"))  # nor written

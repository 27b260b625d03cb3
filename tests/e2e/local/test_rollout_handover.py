"""A rollout holds the integration's lock while it hands the replaced sidecar's originals over,
and a replay's sidecar lookup waits for that lock. The replaced JVM's exit is not part of it:
the first JVM of a runtime writes the class-data archive as it exits, seconds on a loaded
machine, and a replay right after a fixing push used to wait for all of it."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from contract.status import Outcome
from runner.driver import ApplyOptions, ApplyResult
from runner.drivers.local import LocalDriver, LocalSettings
from runner.drivers.local.process import listening
from tests.e2e.camel.conftest import free_port
from tests.e2e.local.conftest import bundle_of, get, route, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_replay_lookup_during_a_rollout_does_not_wait_for_the_old_jvm_to_exit(
    tmp_path: Path, settings: LocalSettings, drivers: list[LocalDriver], stable_port: int
) -> None:
    # sidecars on (their relay is not listening: shipping fails, which this test ignores)
    relay = f"http://127.0.0.1:{free_port()}/v1/telemetry"
    driver = LocalDriver(dataclasses.replace(settings, relay_url=relay))
    drivers.append(driver)
    assert not (settings.state_dir / "cds").exists(), "the first JVM must record the archive"
    v1 = bundle_of(tmp_path, route("v1"), stable_port, "rev1")
    assert driver.apply(v1, ApplyOptions()).results[0].outcome is Outcome.CREATED
    running = driver.running("shop-dev", "hello")
    assert running is not None
    old = running.instances[0]

    results: list[ApplyResult] = []
    v2 = bundle_of(tmp_path, route("v2"), stable_port, "rev2")
    rollout = threading.Thread(target=lambda: results.append(driver.apply(v2, ApplyOptions())))
    rollout.start()
    try:
        # the new process serves and the old Camel context has stopped: the handover is next
        wait_until(lambda: not listening(old.ports.management), 180, "the old Camel to stop")
        looked_up = driver.sidecar_url("dev", "hello")
        old_jvm_still_exiting = old.camel.alive()
    finally:
        rollout.join(timeout=180)
    assert [r.outcome for r in results[0].results] == [Outcome.CONFIGURED], results
    assert looked_up is not None
    assert f":{old.ports.sidecar}" not in looked_up  # the new sidecar, holding the originals
    assert old_jvm_still_exiting, "the lookup waited for the replaced JVM's exit"
    assert get(stable_port) == "v2"
    # the archive the old JVM wrote on its way out was kept for the next starts
    assert list((settings.state_dir / "cds").glob("camel-*.jsa"))

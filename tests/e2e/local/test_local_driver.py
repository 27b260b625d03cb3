"""Fault tests of the local driver with real Camel JVMs (slow: few JVM starts per test)."""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from contract.bundles import Bundle
from contract.status import Health, Outcome
from runner.driver import ApplyOptions
from runner.drivers.local import LocalDriver, LocalSettings
from runner.objects import ObjectRef
from tests.e2e.local.conftest import (
    FAILING_STEP,
    bundle_of,
    camel_pids,
    get,
    route,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _health(driver: LocalDriver, bundle: Bundle) -> tuple[Health, str]:
    report = driver.health(bundle).objects[-1][1]
    return report.status, report.message


def test_failing_revision_keeps_the_old_one_serving_then_a_fix_switches(
    tmp_path: Path, settings: LocalSettings, drivers: list[LocalDriver], stable_port: int
) -> None:
    driver = LocalDriver(settings)
    drivers.append(driver)
    v1 = bundle_of(tmp_path, route("v1"), stable_port, "rev1")
    result = driver.apply(v1, ApplyOptions())
    assert [r.outcome for r in result.results] == [Outcome.CREATED], result
    assert get(stable_port) == "v1"
    assert driver.health(v1).status is Health.HEALTHY
    first = camel_pids(settings.state_dir)
    assert len(first) == 1

    broken = bundle_of(tmp_path, route("v2", FAILING_STEP), stable_port, "rev2")
    result = driver.apply(broken, ApplyOptions())
    assert result.results[0].outcome is Outcome.FAILED
    assert "kafka" in result.results[0].message  # Camel's own error, from the log
    status, message = _health(driver, broken)
    assert status is Health.DEGRADED
    assert "keeps serving" in message
    assert "kafka" in message
    assert get(stable_port) == "v1"
    assert camel_pids(settings.state_dir) == first

    v3 = bundle_of(tmp_path, route("v3"), stable_port, "rev3")
    result = driver.apply(v3, ApplyOptions())
    assert [r.outcome for r in result.results] == [Outcome.CONFIGURED], result
    assert get(stable_port) == "v3"
    assert driver.health(v3).status is Health.HEALTHY
    after = camel_pids(settings.state_dir)
    assert len(after) == 1
    assert after.isdisjoint(first)
    assert driver.apply(v3, ApplyOptions()).results[0].outcome is Outcome.UNCHANGED


def test_killed_process_restarts_with_backoff_and_a_runner_restart_adopts_it(
    tmp_path: Path, settings: LocalSettings, drivers: list[LocalDriver], stable_port: int
) -> None:
    driver = LocalDriver(settings)
    drivers.append(driver)
    bundle = bundle_of(tmp_path, route("v1"), stable_port, "rev1")
    assert driver.apply(bundle, ApplyOptions()).ok
    integration = driver.running("shop-dev", "hello")
    assert integration is not None
    (pid,) = camel_pids(settings.state_dir)

    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: "killed by SIGKILL" in _health(driver, bundle)[1], 10, "the crash reported")
    assert _health(driver, bundle)[0] is Health.DEGRADED
    wait_until(lambda: _health(driver, bundle)[0] is Health.HEALTHY, 150, "the restart")
    crash = next(iter(integration.crashes.values()))
    assert crash.restarts == 1
    assert crash.up_since is not None
    assert crash.up_since - killed_at >= settings.backoff_initial  # not restarted at once
    assert "restarted 1x (last killed by SIGKILL)" in _health(driver, bundle)[1]
    assert get(stable_port) == "v1"

    # a second crash soon after: the delay doubles
    (pid,) = camel_pids(settings.state_dir)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: crash.down_since is not None, 10, "the second crash noticed")
    assert crash.down_since is not None
    assert crash.next_at - crash.down_since == 2 * settings.backoff_initial
    wait_until(lambda: _health(driver, bundle)[0] is Health.HEALTHY, 150, "the second restart")
    (pid,) = camel_pids(settings.state_dir)

    # the runner goes away and comes back: the process is adopted, not duplicated
    driver.close()
    drivers.remove(driver)
    again = LocalDriver(settings)
    drivers.append(again)
    assert camel_pids(settings.state_dir) == {pid}
    assert again.apply(bundle, ApplyOptions()).results[0].outcome is Outcome.UNCHANGED
    assert again.health(bundle).status is Health.HEALTHY
    assert get(stable_port) == "v1"
    assert camel_pids(settings.state_dir) == {pid}

    # prune: stopped and removed
    pruned = again.prune(
        bundle.model_copy(update={"manifests": ()}), [bundle_ref(bundle)], allow_empty=True
    )
    assert [r.outcome for r in pruned.results] == [Outcome.PRUNED]
    wait_until(lambda: not camel_pids(settings.state_dir), 30, "the pruned process gone")
    assert not (settings.state_dir / "envs" / "shop-dev" / "hello").exists()


def bundle_ref(bundle: Bundle) -> ObjectRef:
    return ObjectRef.of(bundle.manifests[-1])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem to fill up (tmpfs; mounting it needs root, else skipped)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _write_forever(out: BinaryIO, chunk: bytes) -> None:
    while True:
        out.write(chunk)


def _fill(disk: Path, leave: int) -> Path:
    """Fill `disk` up, then give back `leave` bytes."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out, pytest.raises(OSError, match="No space") as full:
        _write_forever(out, chunk)
    assert full.value.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_a_full_log_disk_is_reported_and_the_process_keeps_serving(
    tmp_path: Path, settings: LocalSettings, small_disk: Path, stable_port: int
) -> None:
    small = dataclasses.replace(settings, state_dir=small_disk / "state", log_max_bytes=64 * 1024)
    driver = LocalDriver(small)
    try:
        bundle = bundle_of(tmp_path, route("v1"), stable_port, "rev1")
        assert driver.apply(bundle, ApplyOptions()).ok
        (pid,) = camel_pids(small.state_dir)
        integration = driver.running("shop-dev", "hello")
        assert integration is not None
        log = integration.instances[0].log_path
        filler = _fill(small_disk, leave=96 * 1024)
        with log.open("ab") as out:  # past the rotation size, in one write
            out.write(b"x" * 80 * 1024)
        wait_until(
            lambda: "No space left on device" in _health(driver, bundle)[1], 30, "the report"
        )
        assert _health(driver, bundle)[0] is Health.DEGRADED
        assert camel_pids(small.state_dir) == {pid}
        assert get(stable_port) == "v1"
        filler.unlink()
        wait_until(lambda: _health(driver, bundle)[0] is Health.HEALTHY, 30, "the recovery")
        assert log.stat().st_size < small.log_max_bytes
    finally:
        driver.shutdown()
    assert camel_pids(small.state_dir) == set()

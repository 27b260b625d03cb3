"""The local driver on a real Camel Main runtime (examples/camel-app), bundles rendered for real."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contract.bundles import Bundle
from renderers.local import LocalOptions, render_local
from runner.drivers.local import LocalDriver, LocalSettings
from tests.e2e.camel.conftest import ensure_built, free_port
from tests.unit.renderers.repos import load, write_repo

MARKER = b"-Dcamelops.instance="


def route(body: str, extra_step: str = "") -> str:
    return (
        "- route:\n"
        "    id: hello\n"
        "    from:\n"
        "      uri: platform-http:/hello\n"
        "      steps:\n"
        f"        - setBody:\n            constant: {body}\n"
        f"{extra_step}"
    )


# valid for the catalog, but the runtime has no Kafka component: Camel fails at start
FAILING_STEP = "        - to: kafka:orders\n"
INTEGRATION = """\
apiVersion: camelops.io/v1alpha1
kind: Integration
metadata:
  name: hello
spec:
  routes: [routes/*.camel.yaml]
  expose: { port: 8080 }
  resources: { limits: { memory: 256Mi } }
"""


def bundle_of(tmp: Path, route_text: str, port: int, revision: str) -> Bundle:
    root = write_repo(
        tmp / revision,
        {
            "integrations/hello/integration.yaml": INTEGRATION,
            "integrations/hello/routes/hello.camel.yaml": route_text,
        },
    )
    manifests = render_local(load(root), "dev", options=LocalOptions(ports=(("hello", port),)))
    return Bundle.of(
        project="shop", environment="dev", revision=revision, manifests=manifests, target="local"
    )


def get(port: int, path: str = "/hello") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return str(response.read().decode())


def camel_pids(state_dir: Path) -> set[int]:
    """JVMs started by a local driver whose working directory is under `state_dir`."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if MARKER not in (proc / "cmdline").read_bytes():
                continue
            if str(state_dir) in os.readlink(proc / "cwd"):
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)  # polling an asynchronous supervisor


@pytest.fixture(scope="session")
def runtime_home() -> Path:
    return ensure_built()


@pytest.fixture
def settings(tmp_path: Path, runtime_home: Path) -> LocalSettings:
    return LocalSettings(
        tmp_path / "state",
        runtime_home,
        start_timeout=150.0,
        stop_grace=15.0,
        backoff_initial=1.0,
        check_interval=0.2,
    )


@pytest.fixture
def drivers(settings: LocalSettings) -> Iterator[list[LocalDriver]]:
    """Drivers a test opens; every process they started is stopped at the end."""
    opened: list[LocalDriver] = []
    yield opened
    for driver in opened:
        driver.close()
    final = LocalDriver(settings)
    final.shutdown()
    assert camel_pids(settings.state_dir) == set(), "orphan JVMs after shutdown"


@pytest.fixture
def stable_port() -> int:
    return free_port()

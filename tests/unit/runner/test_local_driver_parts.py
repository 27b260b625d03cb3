"""The local driver's parts that need no JVM: log rotation, Camel's error from a log, the
stable-port proxy, secrets on disk, refusing objects it cannot run, pid ownership."""

from __future__ import annotations

import base64
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.bundles import Bundle
from contract.status import Outcome
from runner.driver import ApplyOptions
from runner.drivers.local import LocalDriver, LocalSettings
from runner.drivers.local.cds import ClassDataSharing
from runner.drivers.local.logs import camel_error, rotate
from runner.drivers.local.process import MARKER, is_ours, start_ticks
from runner.drivers.local.proxy import ProxyLoop, StablePort
from runner.objects import ObjectRef


def test_rotation_keeps_the_newest_copies_and_truncates(tmp_path: Path) -> None:
    log = tmp_path / "camel.log"
    for n in range(5):
        log.write_text(f"round {n}\n" * 100)
        assert rotate(log, max_bytes=100, keep=3)
    assert log.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "camel.log", "camel.log.1", "camel.log.2", "camel.log.3",
    ]  # fmt: skip
    assert (tmp_path / "camel.log.1").read_text().startswith("round 4")
    assert (tmp_path / "camel.log.3").read_text().startswith("round 2")
    log.write_text("small\n")
    assert not rotate(log, max_bytes=100, keep=3)


def test_camel_error_is_the_error_and_its_causes(tmp_path: Path) -> None:
    log = tmp_path / "camel.log"
    log.write_text(
        "INFO Apache Camel 4.18.0 starting\n"
        "ERROR org.apache.camel.main.MainSupport - Failed: kafka://orders\n"
        "org.apache.camel.FailedToCreateRouteException: Failed to create route hello\n"
        "\tat org.apache.camel.Foo.bar(Foo.java:1)\n"
        "Caused by: org.apache.camel.NoSuchEndpointException: No endpoint for: kafka://orders\n"
    )
    error = camel_error(log)
    assert "FailedToCreateRouteException" in error
    assert "Caused by: org.apache.camel.NoSuchEndpointException" in error
    assert "at org.apache" not in error
    log.write_text("starting\nstill starting\n")
    assert camel_error(log) == "starting | still starting"
    assert camel_error(tmp_path / "missing.log").startswith("no log")


class _Named(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(64)
        self.request.sendall(self.server.name)  # type: ignore[attr-defined]


@pytest.fixture
def backends() -> Iterator[list[int]]:
    servers = []
    for name in (b"a", b"b"):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Named)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield [s.server_address[1] for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def _ask(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"hi")
        return sock.recv(64)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_stable_port_switches_and_balances(backends: list[int]) -> None:
    loop = ProxyLoop()
    stable = StablePort(loop, "127.0.0.1", _free_port())
    try:
        stable.open()
        stable.switch([backends[0]])
        assert {_ask(stable.port) for _ in range(3)} == {b"a"}
        stable.switch([backends[1]])
        assert {_ask(stable.port) for _ in range(3)} == {b"b"}
        stable.switch(backends)
        assert {_ask(stable.port) for _ in range(4)} == {b"a", b"b"}
        stable.switch([])
        with socket.create_connection(("127.0.0.1", stable.port), timeout=5) as sock:
            assert sock.recv(64) == b""  # no backend: closed at once, not hanging
    finally:
        stable.close()
        loop.close()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[LocalDriver]:
    runtime = tmp_path / "runtime"
    (runtime / "lib").mkdir(parents=True)
    local = LocalDriver(LocalSettings(tmp_path / "state", runtime))
    yield local
    local.close()


def _bundle(*manifests: dict[str, object]) -> Bundle:
    objects = list(manifests)
    return Bundle.of(
        project="shop", environment="dev", revision="r1", manifests=objects, target="local"
    )


def _secret(value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop-dev"},
        "data": {"password": base64.b64encode(value.encode()).decode()},
    }


def test_secrets_are_files_only_the_owner_reads(driver: LocalDriver, tmp_path: Path) -> None:
    result = driver.apply(_bundle(_secret("hunter2")), ApplyOptions())
    assert [r.outcome for r in result.results] == [Outcome.CREATED]
    path = tmp_path / "state" / "envs" / "shop-dev" / "_secrets" / "db" / "password"
    assert path.read_text() == "hunter2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = driver.apply(_bundle(_secret("hunter2")), ApplyOptions())
    assert again.results[0].outcome is Outcome.UNCHANGED
    changed = driver.apply(_bundle(_secret("correct horse")), ApplyOptions())
    assert changed.results[0].outcome is Outcome.CONFIGURED
    assert driver.drift(_bundle(_secret("correct horse")), heal=False).in_sync
    assert not driver.drift(_bundle(_secret("other")), heal=False).in_sync


def test_kubernetes_objects_are_refused_before_anything_runs(driver: LocalDriver) -> None:
    deployment: dict[str, object] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
    }
    result = driver.apply(_bundle(_secret("s"), deployment), ApplyOptions())
    assert result.dry_run_failed
    assert [r.outcome for r in result.results] == [Outcome.FAILED]
    assert "render this environment for the local target" in result.results[0].message
    assert driver.read_inventory(_bundle()) is None  # nothing was written


def test_inventory_round_trip(driver: LocalDriver) -> None:
    refs = [ObjectRef("", "v1", "Secret", "shop-dev", "db")]
    driver.write_inventory(_bundle(), refs)
    assert driver.read_inventory(_bundle()) == tuple(refs)


def test_a_pid_is_ours_only_with_its_marker_and_start_time() -> None:
    me = os.getpid()
    ticks = start_ticks(me)
    assert ticks is not None
    own = Path("/proc/self/cmdline").read_bytes().split(b"\0")[0].decode()
    assert is_ours(me, ticks, own)
    assert not is_ours(me, ticks, f"{MARKER}someone-else")
    assert not is_ours(me, ticks + 1, own)  # a reused pid started at another time
    assert not is_ours(2**22 + 1, None, "anything")


def test_a_missing_secret_fails_the_start_and_leaves_nothing(
    driver: LocalDriver, tmp_path: Path
) -> None:
    process: dict[str, object] = {
        "apiVersion": "local.camelops.io/v1alpha1",
        "kind": "CamelProcess",
        "metadata": {"name": "orders", "namespace": "shop-dev"},
        "spec": {
            "integration": "orders",
            "environment": "dev",
            "replicas": 1,
            "port": None,
            "command": ["java", "-version"],
            "routes": {},
            "properties": "",
            "secretEnv": [{"name": "DB_PASSWORD", "secret": "db", "key": "password"}],
            "checksum": "sha256:1",
        },
    }
    result = driver.apply(_bundle(process), ApplyOptions())
    assert [r.outcome for r in result.results] == [Outcome.FAILED]
    assert "secret db has no key password" in result.results[0].message
    instances = tmp_path / "state" / "envs" / "shop-dev" / "orders" / "instances"
    assert list(instances.iterdir()) == []
    health = driver.health(_bundle(process)).objects[0][1]
    assert "secret db has no key password" in health.message
    # the same revision again soon: not started again, the same error and when it is retried
    again = driver.apply(_bundle(process), ApplyOptions()).results[0]
    assert again.outcome is Outcome.FAILED
    assert "secret db has no key password (retried 30s after)" in again.message


def test_class_data_sharing_records_once_then_maps_the_archive(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    (runtime / "lib").mkdir(parents=True)
    (runtime / "lib" / "camel-main.jar").write_bytes(b"jar")
    cds = ClassDataSharing(tmp_path / "cds", runtime)
    first, second = tmp_path / "i1", tmp_path / "i2"
    first.mkdir()
    second.mkdir()
    assert cds.options(first)[-1] == f"-XX:ArchiveClassesAtExit={first / 'classes.jsa'}"
    assert cds.options(second) == []  # one recording at a time
    (first / "classes.jsa").write_bytes(b"archive")  # what the JVM writes when it exits
    cds.collect(first)
    assert cds.options(second)[-1] == f"-XX:SharedArchiveFile={cds.archive}"
    assert cds.archive.read_bytes() == b"archive"
    (runtime / "lib" / "camel-main.jar").write_bytes(b"another runtime")
    assert ClassDataSharing(tmp_path / "cds", runtime).archive != cds.archive

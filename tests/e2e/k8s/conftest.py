"""Session-scoped real Kubernetes control plane (see tools/k8s/build.sh and controlplane.py)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.manifests import rbac
from runner.store import RunnerStore
from tools.k8s.controlplane import ControlPlane, missing_binaries, wait_until

RUNNER_NAMESPACE = "camelops-system"
FAKE_NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": "kwok-node-0",
        "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        "labels": {"kubernetes.io/hostname": "kwok-node-0", "type": "kwok"},
    },
    "spec": {},
    "status": {
        "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
        "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"},
    },
}
_counter = itertools.count()


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    missing = missing_binaries()
    if missing:
        pytest.fail(f"Kubernetes test binaries missing ({', '.join(missing)}): run `make k8s`")
    cp = ControlPlane(tmp_path_factory.mktemp("k8s"))
    try:
        cp.start()
        admin = KubeClient(cp.admin_kubeconfig)
        admin.request("POST", "/api/v1/nodes", body=FAKE_NODE)
        wait_until(lambda: _node_ready(admin), 60, "the kwok node to be Ready")
        admin.apply(_namespace(RUNNER_NAMESPACE), force=True)
        admin.close()
        yield cp
    except BaseException:
        print(cp.logs())  # shown by pytest only when the session fails
        raise
    finally:
        cp.stop()


def _node_ready(admin: KubeClient) -> bool:
    node = admin.request("GET", "/api/v1/nodes/kwok-node-0")
    conditions = node.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _namespace(name: str) -> dict:  # type: ignore[type-arg]
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


@pytest.fixture
def admin(control_plane: ControlPlane) -> Iterator[KubeClient]:
    client = KubeClient(control_plane.admin_kubeconfig)
    yield client
    client.close()


@pytest.fixture
def namespace(admin: KubeClient, request: pytest.FixtureRequest) -> str:
    """A fresh namespace the runner identity may manage (its RoleBinding applied by admin)."""
    name = f"t{next(_counter)}-{request.node.name.replace('_', '-')}"[:50].strip("-").lower()
    admin.apply(_namespace(name), force=True)
    for obj in rbac(RUNNER_NAMESPACE, [name]):
        admin.apply(obj, force=True)
    return name


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunnerStore]:
    """The runner's own SQLite, fresh per test."""
    opened = RunnerStore(tmp_path / "runner.db")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def runner_kubeconfig(control_plane: ControlPlane) -> Path:
    """The runner's least-privileged identity: its ServiceAccount, through a TokenRequest."""
    admin = KubeClient(control_plane.admin_kubeconfig)
    for obj in rbac(RUNNER_NAMESPACE, ["default"]):
        admin.apply(obj, force=True)
    review = admin.request(
        "POST",
        f"/api/v1/namespaces/{RUNNER_NAMESPACE}/serviceaccounts/camelops-runner/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
              "spec": {"expirationSeconds": 7200}},
    )  # fmt: skip
    admin.close()
    token = review["status"]["token"]
    path = control_plane.write_kubeconfig("camelops-runner", token=token)
    json.loads(path.read_text())  # written whole
    return path


@pytest.fixture
def runner_kube(runner_kubeconfig: Path) -> Iterator[KubeClient]:
    client = KubeClient(runner_kubeconfig, timeout=10.0)
    yield client
    client.close()

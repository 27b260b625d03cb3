"""The user path's world: a fresh cluster of its own (so nothing of tests/e2e/k8s is in it),
the cluster admin's kubeconfig, and a shell in an empty working directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner.drivers.kubernetes.client import KubeClient
from tests.e2e.k8s.conftest import FAKE_NODE, _node_ready
from tests.e2e.userpath.user import PEERS_BIN, VENV_BIN, User
from tools.k8s.controlplane import ControlPlane, missing_binaries, wait_until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    missing = missing_binaries()
    if missing:
        pytest.fail(f"Kubernetes test binaries missing ({', '.join(missing)}): run `make k8s`")
    if not (PEERS_BIN / "kubectl").exists():
        pytest.fail("kubectl missing: run `make kubectl`")
    if not (VENV_BIN / "camelops").exists():
        pytest.fail("camelops is not installed in .venv: run `make setup`")
    cp = ControlPlane(tmp_path_factory.mktemp("userpath-k8s"))
    try:
        cp.start()
        # the test harness plays the cloud: one (kwok) node; everything else is the user's
        node = KubeClient(cp.admin_kubeconfig)
        node.request("POST", "/api/v1/nodes", body=FAKE_NODE)
        wait_until(lambda: _node_ready(node), 60, "the kwok node to be Ready")
        node.close()
        yield cp
    except BaseException:
        print(cp.logs())
        raise
    finally:
        cp.stop()


@pytest.fixture(scope="module")
def user(cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[User]:
    shell = User(tmp_path_factory.mktemp("userpath-home"), cluster.admin_kubeconfig)
    try:
        yield shell
    finally:
        shell.stop_all()

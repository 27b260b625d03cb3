"""The runner's sidecar token reaches every namespace where the bundle runs a sidecar, as the
Secret the rendered sidecar reads (`camelops-sidecar`, key `token`), applied before the
workload and pruned with it: the kubernetes driver against a real API server, as the runner's
least-privileged ServiceAccount."""

from __future__ import annotations

import base64

import pytest

from contract.status import Outcome, Phase
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.objects import ObjectRef
from runner.sidecar_credentials import with_sidecar_credentials
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, sync_bundle
from tests.e2e.k8s.helpers import Manifest, bundle, deployment, integration

pytestmark = pytest.mark.e2e
TOKEN = "runner-sidecar-token-e2e"


def with_sidecar(ns: str, name: str) -> Manifest:
    workload = deployment(ns, name)
    workload["spec"]["template"]["spec"]["containers"].append(
        {
            "name": "camelops-sidecar",
            "image": "registry.local/camelops:1",
            "env": [
                {
                    "name": "CAMELOPS_SIDECAR_TOKEN",
                    "valueFrom": {
                        "secretKeyRef": {
                            "name": "camelops-sidecar",
                            "key": "token",
                            "optional": True,
                        }
                    },
                }
            ],
        }
    )
    return workload


def test_the_token_secret_is_applied_with_the_sidecars_and_pruned_after_them(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    secret = ObjectRef("", "v1", "Secret", namespace, "camelops-sidecar")
    v1 = bundle([with_sidecar(namespace, "orders")], "r1")
    status = sync_bundle(driver, store, with_sidecar_credentials(v1, TOKEN), SyncSettings())
    assert status.phase is Phase.SYNCED, status.message
    outcomes = [(r.ref.key, r.outcome) for r in status.objects]
    assert outcomes[0] == (secret.key, Outcome.CREATED), "before the workload that reads it"
    live = admin.get(secret)
    assert live is not None
    assert base64.b64decode(live["data"]["token"]).decode() == TOKEN
    assert live["metadata"]["annotations"]["camelops.io/tracking-id"] == "shop/dev"

    # no sidecar any more: the Secret goes with the environment's other orphans
    v2 = bundle(integration(namespace, "plain"), "r2")
    status = sync_bundle(driver, store, with_sidecar_credentials(v2, TOKEN), SyncSettings())
    assert status.phase is Phase.SYNCED, status.message
    pruned = {r.ref.key for r in status.objects if r.outcome is Outcome.PRUNED}
    assert secret.key in pruned
    assert admin.get(secret) is None
    driver.close()

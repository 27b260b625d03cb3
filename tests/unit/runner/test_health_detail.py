"""Health you can read: every non-Healthy environment says which object and why, in one line
that travels in the status report; Ingress health follows the cluster's kind of controller;
an environment still moving is re-checked within seconds, a settled one every interval."""

from __future__ import annotations

from pathlib import Path

from contract.status import Health, Phase, StatusReport
from runner.driver import EnvironmentHealth
from runner.health import HealthRules, health_of
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync import SyncDaemon
from runner.sync_steps import SyncSettings, SyncStatus
from tests.integration.wiring.recording import RecordingDriver

INGRESS = ObjectRef("networking.k8s.io", "v1", "Ingress", "shop-dev", "orders-api")
DEPLOY = ObjectRef("apps", "v1", "Deployment", "shop-dev", "orders-api")


def ingress(address: bool) -> dict[str, object]:
    status = {"loadBalancer": {"ingress": [{"ip": "10.0.0.7"}]}} if address else {}
    return {"kind": "Ingress", "metadata": {"name": "orders-api"}, "status": status}


def environment(*objects: tuple[ObjectRef, dict[str, object] | None]) -> EnvironmentHealth:
    reports = tuple((ref, health_of(live)) for ref, live in objects)
    worst = max((h.status for _, h in reports), key=list(Health).index, default=Health.HEALTHY)
    return EnvironmentHealth(worst, reports)


def test_an_ingress_without_address_is_named_with_its_reason() -> None:
    env = environment((INGRESS, ingress(address=False)))
    assert env.status is Health.PROGRESSING
    assert env.detail == "Ingress shop-dev/orders-api has no load-balancer address yet"
    assert environment((INGRESS, ingress(address=True))).detail == ""


def test_ingress_health_without_an_address_publishing_controller() -> None:
    admitted = HealthRules(ingress_address=False)
    assert health_of(ingress(address=False), admitted).status is Health.HEALTHY
    assert health_of(ingress(address=False)).status is Health.PROGRESSING


def test_every_non_healthy_state_has_a_detail_worst_first() -> None:
    rolling: dict[str, object] = {
        "kind": "Deployment",
        "metadata": {"name": "orders-api", "generation": 2},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, "updatedReplicas": 1},
    }
    extra = [ObjectRef("", "v1", "ConfigMap", "shop-dev", f"cm-{i}") for i in range(3)]
    env = environment(
        (DEPLOY, rolling), (INGRESS, ingress(address=False)), *((r, None) for r in extra)
    )
    assert env.status is Health.MISSING
    assert env.detail == (
        "ConfigMap shop-dev/cm-0 does not exist; ConfigMap shop-dev/cm-1 does not exist; "
        "ConfigMap shop-dev/cm-2 does not exist (and 2 more not Healthy)"
    )
    alone = environment((DEPLOY, rolling))
    assert alone.detail == "Deployment shop-dev/orders-api has 1 of 2 new replicas updated"


def test_the_detail_travels_in_the_status_report() -> None:
    detail = "Ingress shop-dev/orders-api has no load-balancer address yet"
    status = SyncStatus(
        "shop", "dev", "r1", "d1", Phase.SYNCED, Health.PROGRESSING, health_detail=detail
    )
    wire = StatusReport.model_validate(status.payload())
    assert wire.health_detail == detail
    assert wire.state == "Synced/Progressing"
    assert wire.detail() == detail  # what the control plane records and the API shows


def test_moving_environments_are_rechecked_soon_then_less_often(tmp_path: Path) -> None:
    store = RunnerStore(tmp_path / "runner.db")
    settings = SyncSettings(interval=180.0, recheck=2.0, recheck_max=30.0)
    daemon = SyncDaemon(RecordingDriver(), store, settings)

    def seen(health: Health) -> float:
        daemon._track("shop/dev", SyncStatus("shop", "dev", "r1", "d", Phase.SYNCED, health))
        return daemon._next_delay()

    assert seen(Health.HEALTHY) == 180.0
    delays = [seen(Health.PROGRESSING) for _ in range(6)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert seen(Health.HEALTHY) == 180.0  # settled: back to the interval
    assert seen(Health.MISSING) == 2.0
    store.close()

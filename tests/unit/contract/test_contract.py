"""The wire contract: one apply order for renderer and runner, typed status reports, bundles
that name their target, one replay outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contract.apply_order import KIND_ORDER, SyncWaveError, apply_order, kind_rank, sync_wave
from contract.bundles import Bundle, Target, inventory_of, manifests_digest
from contract.prometheus import label_set
from contract.replay import ReplayOutcome, ReplayResult
from contract.status import Health, Outcome, Phase, StatusReport
from contract.validation import validation_problems
from renderers import render_environment
from runner.objects import apply_order as runner_apply_order
from schema.repository import load_repository

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "repo-layout"


def obj(kind: str, name: str, wave: str | None = None, namespace: str = "ns") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if wave is not None:
        meta["annotations"] = {"camelops.io/sync-wave": wave}
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def test_waves_first_then_kinds_then_names() -> None:
    objects = [
        obj("Deployment", "a"),
        obj("Service", "b"),
        obj("Job", "build", wave="-1"),
        obj("Namespace", "ns", wave="-2", namespace=""),
        obj("Widget", "custom"),  # unknown kinds (custom resources) go last in their wave
        obj("ConfigMap", "z"),
        obj("ConfigMap", "y"),
    ]
    order = [(o["kind"], o["metadata"]["name"]) for o in sorted(objects, key=apply_order)]
    assert order == [
        ("Namespace", "ns"),
        ("Job", "build"),
        ("ConfigMap", "y"),
        ("ConfigMap", "z"),
        ("Service", "b"),
        ("Deployment", "a"),
        ("Widget", "custom"),
    ]


def test_unknown_kind_ranks_after_every_known_one() -> None:
    assert kind_rank("Widget") == len(KIND_ORDER) > kind_rank("Ingress")


def test_a_sync_wave_that_is_not_a_number_is_refused() -> None:
    assert sync_wave(obj("Service", "s", wave=" 3 ")) == 3
    with pytest.raises(SyncWaveError, match="must be an integer, got 'soon'"):
        sync_wave(obj("Service", "s", wave="soon"))


def test_renderer_output_is_in_the_order_the_runner_applies() -> None:
    project = load_repository(EXAMPLE).project
    assert project is not None
    rendered = render_environment(project, "prod")
    assert rendered == sorted(rendered, key=apply_order)
    assert rendered == sorted(rendered, key=runner_apply_order)
    assert {o["kind"] for o in rendered} <= set(KIND_ORDER)


def test_a_bundle_is_for_kubernetes_unless_it_says_otherwise() -> None:
    manifests = (obj("ConfigMap", "c"),)
    fields: dict[str, Any] = {
        "project": "shop",
        "environment": "dev",
        "revision": "r1",
        "manifests": manifests,
        "inventory": inventory_of(manifests),
        "digest": manifests_digest(manifests),
    }
    assert Bundle(**fields).target is Target.KUBERNETES
    assert Bundle(**fields, target="local").target is Target.LOCAL
    with pytest.raises(ValidationError):
        Bundle(**fields, target="mainframe")


REPORT: dict[str, Any] = {
    "project": "shop",
    "environment": "dev",
    "revision": "r1",
    "digest": "sha256:x",
    "phase": "Failed",
    "health": "Degraded",
    "objects": [
        {"key": "/ConfigMap:ns/c", "outcome": "failed", "message": "refused"},
        {"key": "/Service:ns/s", "outcome": "skipped", "message": "after a failure"},
    ],
}


def test_status_report_is_typed_from_phase_to_object_outcome() -> None:
    report = StatusReport.model_validate(REPORT)
    assert (report.phase, report.health) == (Phase.FAILED, Health.DEGRADED)
    assert report.objects[0].outcome is Outcome.FAILED
    assert report.state == "Failed/Degraded"
    assert report.detail() == "/ConfigMap:ns/c: failed refused"  # skipped ones repeat nothing


@pytest.mark.parametrize(
    "change", [{"phase": "Fine"}, {"health": "ok"}, {"objects": [{"key": "k", "outcome": "meh"}]}]
)
def test_status_report_refuses_free_form_states(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        StatusReport.model_validate(REPORT | change)


def test_one_replay_outcome_from_runner_to_api() -> None:
    result = ReplayResult(
        request_id="0" * 32, environment="dev", outcome=ReplayOutcome.REJECTED, reason="no"
    )
    assert ReplayResult.model_validate(result.model_dump(mode="json")) == result
    assert {o.value for o in ReplayOutcome} == {
        "succeeded",
        "failed",
        "expired",
        "unavailable",
        "rejected",
    }


def test_refusals_say_where_and_what_but_never_the_value() -> None:
    secret = "4111 1111 1111 1111"
    with pytest.raises(ValidationError) as caught:
        StatusReport.model_validate(REPORT | {"phase": secret, "objects": "x", "extra": secret})
    problems = validation_problems(caught.value, root="report", limit=2)
    assert len(problems) == 2
    assert problems[0].startswith("phase: Input should be ")
    assert all(secret not in p for p in validation_problems(caught.value, root="report"))
    with pytest.raises(ValidationError) as whole:
        StatusReport.model_validate([secret])
    assert validation_problems(whole.value, root="report")[0].startswith("report: ")


def test_metric_labels_are_escaped_once_for_every_exposition() -> None:
    assert label_set(()) == ""
    assert label_set((("type", 'a"b\\c\nd'), ("k", "v"))) == '{type="a\\"b\\\\c\\nd",k="v"}'


def test_a_bundle_of_manifests_derives_its_inventory_and_digest() -> None:
    manifests = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}},
    ]
    bundle = Bundle.of(
        project="shop", environment="dev", revision="r1", manifests=iter(manifests), target="local"
    )
    assert bundle.manifests == tuple(manifests)
    assert bundle.inventory == inventory_of(manifests)
    assert [e.key for e in bundle.inventory] == ["/ConfigMap:shop/a", "apps/Deployment:/b"]
    assert bundle.digest == manifests_digest(manifests)
    assert bundle.target is Target.LOCAL

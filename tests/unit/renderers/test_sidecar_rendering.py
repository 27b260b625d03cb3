"""The rendered sidecar: Camel health rules as flags the sidecar's own parser takes (defaults
render nothing: the sidecar has the same ones); its API on the pod address with the runner's
token from a Secret, reachable only from the runner's pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from camelops.cli import build_parser
from camelops.commands.sidecar import settings_from
from renderers import render_environment
from renderers.context import SIDECAR_PORT
from tests.unit.renderers.repos import load, simple_files, write_repo


def rendered(tmp_path: Path, spec: str) -> list[dict[str, Any]]:
    return render_environment(load(write_repo(tmp_path, simple_files("app", spec))), "dev")


def sidecar_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (sidecar,) = [c for c in containers if c["name"] == "camelops-sidecar"]
    assert isinstance(sidecar, dict)
    return sidecar


def sidecar_args(tmp_path: Path, spec: str) -> list[str]:
    return list(sidecar_of(rendered(tmp_path, spec))["args"])


def test_the_api_listens_on_the_pod_address_for_the_runner_only(tmp_path: Path) -> None:
    objects = rendered(tmp_path, "{}")
    sidecar = sidecar_of(objects)
    env = {e["name"]: e["valueFrom"] for e in sidecar["env"]}
    assert "--listen-host=$(CAMELOPS_POD_IP)" in sidecar["args"]
    assert env["CAMELOPS_POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    # a reference, never a value: the token lives in the namespace's Secret
    assert env["CAMELOPS_SIDECAR_TOKEN"] == {
        "secretKeyRef": {"name": "camelops-sidecar", "key": "token", "optional": True}
    }
    (policy,) = [
        o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "app"
    ]
    to_sidecar = [
        rule for rule in policy["spec"]["ingress"]
        if any(p["port"] == SIDECAR_PORT for p in rule["ports"])
    ]  # fmt: skip
    assert to_sidecar == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "camelops-system"}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "camelops-runner"}},
                }
            ],
            "ports": [{"port": SIDECAR_PORT, "protocol": "TCP"}],
        }
    ]


def test_health_rules_render_as_sidecar_flags(tmp_path: Path) -> None:
    spec = """
    observability:
      health: {failureRateThreshold: 0.2, minExchanges: 50, windowSeconds: 60}
    """
    args = sidecar_args(tmp_path, spec)
    assert "--failure-rate-threshold=0.2" in args
    settings = settings_from(build_parser().parse_args(args))
    assert settings.failure_rate_threshold == 0.2
    assert settings.failure_min_exchanges == 50
    assert settings.failure_window_seconds == 60


def test_default_rules_render_no_flag_and_match_the_sidecar(tmp_path: Path) -> None:
    args = sidecar_args(tmp_path, "{}")
    assert not [a for a in args if a.startswith("--failure-")]
    settings = settings_from(build_parser().parse_args(args))
    assert (settings.failure_rate_threshold, settings.failure_min_exchanges) == (0.5, 10)
    assert settings.failure_window_seconds == 300

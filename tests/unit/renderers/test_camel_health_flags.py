"""The integration's Camel health rules reach the rendered sidecar as flags the sidecar's own
parser takes (defaults render nothing: the sidecar has the same ones)."""

from __future__ import annotations

from pathlib import Path

from camelops.cli import build_parser
from camelops.commands.sidecar import settings_from
from renderers import render_environment
from tests.unit.renderers.repos import load, simple_files, write_repo


def sidecar_args(tmp_path: Path, spec: str) -> list[str]:
    project = load(write_repo(tmp_path, simple_files("app", spec)))
    (deployment,) = [o for o in render_environment(project, "dev") if o["kind"] == "Deployment"]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (sidecar,) = [c for c in containers if c["name"] == "camelops-sidecar"]
    return list(sidecar["args"])


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

"""An environment's renderer follows its `target:` in camelops.yaml; `serve --local-runner` only
fills in for environments that declare none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from renderers.local import PROCESS_KIND
from renderers.targets import environment_target, render_target
from schema.model_rules import Target
from schema.repository import load_repository
from tests.unit.renderers.repos import PROJECT, integration, load, write_repo

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "repo-layout"


def _repo(tmp_path: Path, dev_target: str | None) -> Path:
    project = PROJECT
    if dev_target is not None:
        project = project.replace(
            "      runner: dev-cluster\n",
            f"      runner: dev-cluster\n      target: {dev_target}\n",
        )
    files = {"camelops.yaml": project.format(camel="4.18.4")}
    files["integrations/orders/integration.yaml"] = integration("orders")
    files["integrations/orders/routes/main.camel.yaml"] = (
        "- route:\n    id: main\n    from:\n      uri: timer:t\n      steps:\n        - to: log:x\n"
    )
    return write_repo(tmp_path, files)


def test_a_declared_local_target_renders_camel_processes(tmp_path: Path) -> None:
    project = load(_repo(tmp_path, "local"))
    assert environment_target(project, "dev") is Target.LOCAL
    assert environment_target(project, "prod") is Target.KUBERNETES
    dev = render_target(project, "dev", Target.LOCAL)
    assert {o["kind"] for o in dev} == {PROCESS_KIND}
    prod = render_target(project, "prod", Target.KUBERNETES)
    assert "Deployment" in {o["kind"] for o in prod}


@pytest.mark.parametrize(
    ("declared", "local_runners", "expected"),
    [
        (None, (), Target.KUBERNETES),
        (None, ("dev-cluster",), Target.LOCAL),  # the flag fills in for an undeclared target
        ("kubernetes", ("dev-cluster",), Target.KUBERNETES),  # what the repository says wins
        ("local", (), Target.LOCAL),
    ],
)
def test_the_declared_target_wins_over_the_local_runner_flag(
    tmp_path: Path, declared: str | None, local_runners: tuple[str, ...], expected: Target
) -> None:
    project = load(_repo(tmp_path, declared))
    assert environment_target(project, "dev", local_runners) is expected


def test_an_unknown_target_is_refused_with_its_place(tmp_path: Path) -> None:
    report = load_repository(_repo(tmp_path, "docker"))
    assert report.project is None
    text = "\n".join(d.format_text() for d in report.errors)
    assert "camelops.yaml:" in text
    assert "target" in text


def test_render_cli_renders_the_example_local_environment_for_its_target() -> None:
    def kinds(env: str) -> set[str]:
        out = subprocess.run(
            [sys.executable, "-m", "camelops", "render", str(EXAMPLE), "--env", env],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        return {d["kind"] for d in yaml.safe_load_all(out) if d}

    assert PROCESS_KIND in kinds("local")
    assert "Deployment" not in kinds("local")
    assert "Deployment" in kinds("dev")

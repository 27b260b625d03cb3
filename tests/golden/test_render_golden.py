"""Golden files for the renderers: cases/<name>/input (or input.ref naming a repo folder) ->
expected/<env>/<kind>-<name>.yaml, plus expected/diff.txt when the case has a base/ revision.

UPDATE_GOLDEN=1 (`make golden`) rewrites expectations. Otherwise a missing expected file is
written and the test fails (a human reviews it); an expected file or directory nothing renders
fails; every case renders twice, from the pydantic models and from the records the CLI builds
(schema/records.py), and must come out byte-identical; every object must pass the Kubernetes
OpenAPI schema and load back from its YAML unchanged.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from renderers import RenderOptions, render_environment, render_files
from renderers.camel_diff import camel_diff
from renderers.diff import diff_objects
from renderers.kubernetes.kube_schema import check_objects
from renderers.report import DiffReport
from schema.loaded import LoadedProject
from schema.repository import load_repository

CASES = Path(__file__).parent / "cases"
REPO_ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
MIN_CASES = 12


class CaseSettings(BaseModel):
    """Optional cases/<name>/case.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)

    environments: tuple[str, ...] | None = None
    """Environments to render; default: every environment of the project."""
    revision: str = ""
    source_url: str = ""


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if p.is_dir())


def input_dir(case: Path, side: str = "input") -> Path:
    pointer = case / f"{side}.ref"
    if pointer.is_file():
        return REPO_ROOT / pointer.read_text().strip()
    return case / side


def settings_of(case: Path) -> CaseSettings:
    path = case / "case.yaml"
    if not path.is_file():
        return CaseSettings()
    return CaseSettings.model_validate(yaml.safe_load(path.read_text()))


def load(path: Path, records: bool) -> LoadedProject:
    report = load_repository(path, records=records)
    problems = "\n".join(d.format_text() for d in report.errors)
    assert report.project is not None, f"{path} does not validate:\n{problems}"
    return report.project


def render_case(case: Path, records: bool) -> tuple[dict[str, str], list[str]]:
    """(relative path -> content, schema problems)."""
    settings = settings_of(case)
    options = RenderOptions(revision=settings.revision, source_url=settings.source_url)
    head = load(input_dir(case), records)
    envs = settings.environments or tuple(e.name for e in head.project.spec.environments)
    files: dict[str, str] = {}
    problems: list[str] = []
    rendered = {}
    for env in envs:
        objects = render_environment(head, env, options=options)
        rendered[env] = objects
        problems += [f"{env}: {p.format_text()}" for p in check_objects(objects)]
        written = render_files(objects)
        for obj, (name, text) in zip(objects, written.items(), strict=True):
            if yaml.safe_load(text) != obj:
                problems.append(f"{env}/{name}: does not load back to the rendered object")
        files |= {f"{env}/{name}": text for name, text in written.items()}
    if (case / "base").is_dir() or (case / "base.ref").is_file():
        base = load(input_dir(case, "base"), records)
        report = DiffReport(
            "base",
            "input",
            camel_diff(base, head),
            {
                env: diff_objects(render_environment(base, env, options=options), rendered[env])
                for env in envs
            },
        )
        files["diff.txt"] = report.format_text()
    return files, problems


def expected_of(case: Path) -> tuple[dict[str, str], list[str]]:
    """(relative path -> content, directories that hold no file)."""
    root = case / "expected"
    if not root.is_dir():
        return {}, []
    files = {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}
    empty = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_dir() and not any(p.iterdir())
    ]
    return files, empty


def write_expected(case: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = case / "expected" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def compare_case(case: Path, update: bool) -> list[str]:
    """Everything wrong with one case (empty when it passes); writes what it must write."""
    first, problems = render_case(case, records=False)
    second, _ = render_case(case, records=True)
    if first != second:
        return ["rendering is not deterministic, or records render otherwise than the models"]
    if problems:
        return ["objects fail the Kubernetes schema:", *problems]
    if update:
        shutil.rmtree(case / "expected", ignore_errors=True)
        write_expected(case, first)
        return []
    expected, empty_dirs = expected_of(case)
    missing = {rel: text for rel, text in first.items() if rel not in expected}
    write_expected(case, missing)
    orphans = sorted(expected.keys() - first.keys()) + [d + "/" for d in empty_dirs]
    changed = [rel for rel in sorted(first.keys() & expected.keys()) if first[rel] != expected[rel]]
    report = []
    if missing:
        report.append("written, review them: " + ", ".join(sorted(missing)))
    if orphans:
        report.append("expected but not rendered (orphaned): " + ", ".join(orphans))
    for rel in changed[:5]:
        lines = difflib.unified_diff(
            expected[rel].splitlines(keepends=True),
            first[rel].splitlines(keepends=True),
            f"expected/{rel}",
            f"rendered/{rel}",
        )
        report.append("".join(lines))
    if changed:
        report.append(f"{len(changed)} file(s) differ; run `make golden` if this is intended")
    return report


@pytest.mark.parametrize("name", case_names())
def test_golden_case(name: str) -> None:
    report = compare_case(CASES / name, UPDATE)
    assert not report, "\n".join(report)


def copy_case(tmp_path: Path, name: str = "minimal") -> Path:
    case = tmp_path / name
    shutil.copytree(CASES / name, case)
    return case


def test_harness_writes_a_missing_expectation_and_fails(tmp_path: Path) -> None:
    case = copy_case(tmp_path)
    target = case / "expected" / "dev" / "deployment-hello.yaml"
    target.unlink()
    report = compare_case(case, update=False)
    assert report
    assert "written, review them: dev/deployment-hello.yaml" in report[0]
    assert target.is_file()
    assert compare_case(case, update=False) == []


def test_harness_fails_on_orphans_and_changes(tmp_path: Path) -> None:
    case = copy_case(tmp_path)
    (case / "expected" / "dev" / "secret-gone.yaml").write_text("kind: Secret\n")
    (case / "expected" / "qa").mkdir()
    deployment = case / "expected" / "dev" / "deployment-hello.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: 1", "replicas: 2"))
    report = "\n".join(compare_case(case, update=False))
    assert "dev/secret-gone.yaml" in report
    assert "qa/" in report
    assert "-  replicas: 2" in report
    assert compare_case(case, update=True) == []
    assert compare_case(case, update=False) == []


def test_every_case_has_an_input() -> None:
    broken = [n for n in case_names() if not input_dir(CASES / n).is_dir()]
    assert broken == [], f"cases without input/ or input.ref: {broken}"


def test_enough_cases() -> None:
    assert len(case_names()) >= MIN_CASES

"""`render --strict` schema checks per Kubernetes object: our compiled validator against the
pure-Python jsonschema it replaced (in-run baseline) and kubeconform (peer), on identical schemas.

Objects: `render --env prod` of the synthetic 500-integration repository of bench_validate.
Schemas: the kubernetes-validate strict schemas for the pinned minor, with their shared definitions
bundled in; kubeconform reads exactly those from local files (never the network). kubeconform is
built by `make peers` (tools/peers/kubeconform.sh); without it the peer is reported as missing.
Each candidate runs in turn, round after round; figures are medians, CPU includes child processes.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.bench_validate import make_repository
from bench.results import figure
from renderers import render_environment
from renderers.kubernetes.kube_schema import (
    KUBERNETES_MINOR,
    _compiled,
    _schema_file,
    _validator,
    bundled,
)
from schema.repository import load_repository

KUBECONFORM = Path(__file__).resolve().parents[1] / ".cache" / "peers" / "bin" / "kubeconform"
REPEATS = 7


def cpu_now() -> float:
    """CPU seconds of this process and its finished children (kubeconform), microsecond grain."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def interleaved(runs: dict[str, Callable[[], object]]) -> dict[str, tuple[float, float]]:
    for run in runs.values():  # warm-up: compile, page in
        run()
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(REPEATS):
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), cpu_now()
            run()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(cpu_now() - cpu)
    return {n: (statistics.median(walls[n]), statistics.median(cpus[n])) for n in runs}


def compiled_check(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        validator = _compiled(KUBERNETES_MINOR, obj["apiVersion"], obj["kind"])
        assert validator is not None
        assert validator.is_valid(obj)


def python_check(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        validator = _validator(KUBERNETES_MINOR, obj["apiVersion"], obj["kind"])
        assert validator is not None
        assert validator.is_valid(obj)


def write_schemas(objects: list[dict[str, Any]], folder: Path) -> str:
    """The bundled schemas as local files, named as kubeconform's schema-location template wants."""
    folder.mkdir(parents=True)
    for api_version, kind in {(o["apiVersion"], o["kind"]) for o in objects}:
        schema = bundled(KUBERNETES_MINOR, api_version, kind)
        assert schema is not None
        (folder / _schema_file(api_version, kind)).write_text(json.dumps(schema))
    return str(folder / "{{ .ResourceKind }}{{ .KindSuffix }}.json")


def kubeconform_check(manifests: Path, location: str) -> str:
    result = subprocess.run(
        [str(KUBECONFORM), "-schema-location", location, "-summary", str(manifests)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        make_repository(root)
        report = load_repository(root)
        assert report.project is not None, report.diagnostics[:5]
        objects = render_environment(report.project, "prod")
        manifests = Path(tmp) / "objects.yaml"
        manifests.write_text(yaml.safe_dump_all(objects, sort_keys=False))
        runs: dict[str, Callable[[], object]] = {
            "jsonschema (pure Python, before)": lambda: python_check(objects),
            "compiled (jsonschema-rs, now)": lambda: compiled_check(objects),
        }
        if KUBECONFORM.exists():
            location = write_schemas(objects, Path(tmp) / "schemas")
            runs["kubeconform (peer)"] = lambda: kubeconform_check(manifests, location)
            # proof that the peer really judges these files: its summary, and a broken copy fails
            print("kubeconform:", kubeconform_check(manifests, location))
            broken = Path(tmp) / "broken.yaml"
            broken.write_text(manifests.read_text().replace("replicas: 3", "replicas: three", 1))
            try:
                kubeconform_check(broken, location)
            except AssertionError:
                print("kubeconform refuses a broken copy (replicas: three): yes")
        timings = interleaved(runs)
    count = len(objects)
    kinds = len({o["kind"] for o in objects})
    print(f"objects: {count} ({kinds} kinds), Kubernetes {KUBERNETES_MINOR}")
    for name, (wall, cpu) in timings.items():
        print(
            f"{name:34s} wall {wall * 1e3:8.1f} ms, cpu {cpu * 1e3:8.1f} ms "
            f"(medians of {REPEATS}); {cpu / count * 1e6:7.1f} us CPU per object"
        )
    ours = timings["compiled (jsonschema-rs, now)"][1]
    before = timings["jsonschema (pure Python, before)"][1]
    print(f"ratio compiled / pure Python: {ours / before:.3f}x CPU")
    if "kubeconform (peer)" in timings:
        peer = timings["kubeconform (peer)"][1]
        print(f"ratio compiled / kubeconform: {ours / peer:.3f}x CPU per object (goal <= 1)")
        figure(
            f"compiled schema check, {count:,} objects (CPU per object)",
            ours / count * 1e6,
            "us",
            baseline=peer / count * 1e6,
            baseline_name="kubeconform (peer)",
            goal="<= kubeconform",
            met=ours <= peer,
        )
    else:
        print("kubeconform missing: run `make peers` for the peer figure")


if __name__ == "__main__":
    main()

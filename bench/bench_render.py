"""Render a synthetic project of 500 integrations for one environment and serialise every object
to deterministic YAML; compare with dumping the very same objects with plain `yaml.safe_dump`
in the same run. Goal: >= 2,000 objects/s on the 2-core CI machine.

Loading and validating the repository is not timed here (bench_validate covers it).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

from bench.results import figure
from bench.timing import compare
from renderers import render_environment, to_yaml
from renderers.kubernetes.kube_schema import check_objects
from schema.loaded import LoadedProject
from schema.repository import load_repository

INTEGRATIONS = 500
GOAL_OBJECTS_PER_SECOND = 2_000
PROJECT = """apiVersion: camelops.io/v1alpha1
kind: Project
metadata: {name: bench}
spec:
  camel: {version: "4.18.4"}
  environments:
    - {name: prod, runner: prod, namespace: bench-prod}
"""
# a mix close to real projects: every third exposed with an ingress, every fifth autoscaled,
# every seventh with a sealed secret
INTEGRATION = """apiVersion: camelops.io/v1alpha1
kind: Integration
metadata: {{name: {name}}}
spec:
  replicas: 2
  resources: {{requests: {{cpu: 100m, memory: 256Mi}}, limits: {{memory: 512Mi}}}}
  env: {{MODE: bench}}
  egress: [{{cidr: 10.0.0.0/8, ports: [9092]}}, {{host: api.example.com, ports: [443]}}]
{extra}"""
EXPOSE = "  expose: {{port: 8080, ingress: {{host: {name}.example.com, tlsSecret: {name}-tls}}}}\n"
SCALE = "  autoscaling: {minReplicas: 2, maxReplicas: 6}\n"
SECRET_REF = "  secrets: [{name: shared}]\n"
ROUTE = """- route:
    id: {name}
    from:
      uri: kafka:{name}-in
      steps:
        - log: "got ${{body}}"
        - choice:
            when:
              - simple: "${{header.kind}} == 'a'"
                steps: [{{to: "direct:{name}-a"}}]
            otherwise:
              steps: [{{to: "kafka:{name}-out"}}]
- route:
    id: {name}-a
    from:
      uri: direct:{name}-a
      steps: [{{to: "log:{name}"}}]
"""
SEALED = """apiVersion: camelops.io/v1alpha1
kind: SealedSecret
metadata: {name: shared}
spec:
  encryptedData: {password: "cops1:%s"}
""" % ("A" * 60)


def write_project(root: Path, integrations: int = INTEGRATIONS) -> None:
    (root / "camelops.yaml").write_text(PROJECT)
    (root / "secrets").mkdir()
    (root / "secrets" / "shared.sealed.yaml").write_text(SEALED)
    for index in range(integrations):
        name = f"integration-{index:03d}"
        extra = EXPOSE.format(name=name) if index % 3 == 0 else ""
        extra += SCALE if index % 5 == 0 else ""
        extra += SECRET_REF if index % 7 == 0 else ""
        directory = root / "integrations" / name
        (directory / "routes").mkdir(parents=True)
        (directory / "integration.yaml").write_text(INTEGRATION.format(name=name, extra=extra))
        (directory / "routes" / "main.camel.yaml").write_text(ROUTE.format(name=name))


def load(root: Path) -> LoadedProject:
    report = load_repository(root)
    if report.project is None:
        raise SystemExit("\n".join(d.format_text() for d in report.errors[:10]))
    return report.project


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        write_project(Path(tmp))
        project = load(Path(tmp))
    objects = render_environment(project, "prod")
    count = len(objects)
    timings = compare(
        {
            "render": lambda: render_environment(project, "prod"),
            "render+yaml": lambda: [to_yaml(o) for o in render_environment(project, "prod")],
            "plain yaml.safe_dump": lambda: [yaml.safe_dump(o) for o in objects],
            "yaml.dump CSafeDumper": lambda: [
                yaml.dump(o, Dumper=yaml.CSafeDumper) for o in objects
            ],
        },
        repeats=3,
    )
    print(f"{INTEGRATIONS} integrations -> {count} objects")
    for name, timing in timings.items():
        rate = count / timing.cpu
        print(
            f"  {name:<22} {timing.wall * 1000:8.1f} ms wall {timing.cpu * 1000:8.1f} ms cpu "
            f"{rate:10,.0f} objects/s (cpu)"
        )
    ours = count / timings["render+yaml"].cpu
    baseline = count / timings["plain yaml.safe_dump"].cpu
    print(f"  ratio render+yaml / plain yaml.safe_dump (objects/s): {ours / baseline:.2f}x")
    libyaml = count / timings["yaml.dump CSafeDumper"].cpu
    print(f"  ratio render+yaml / libyaml-backed yaml.dump (objects/s): {ours / libyaml:.2f}x")
    schema = compare({"schema": lambda: check_objects(objects)}, repeats=1)["schema"]
    print(f"  kubernetes schema check: {count / schema.cpu:,.0f} objects/s (cpu)")
    figure(
        f"render + YAML, {count:,} objects (CPU)",
        ours,
        "objects/s",
        baseline=baseline,
        baseline_name="plain yaml.safe_dump of the same objects",
        goal=f">= {GOAL_OBJECTS_PER_SECOND:,} objects/s",
        met=ours >= GOAL_OBJECTS_PER_SECOND,
    )
    verdict = "meets" if ours >= GOAL_OBJECTS_PER_SECOND else "MISSES"
    print(f"  goal >= {GOAL_OBJECTS_PER_SECOND:,} objects/s rendered to YAML: {verdict}")
    return 0 if ours >= GOAL_OBJECTS_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())

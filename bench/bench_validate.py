"""Validate a synthetic repository of 500 integrations x 3 routes; compare with a plain parse.

The floor is the fastest plain parse of the same files in the same run: read each file and load it
with PyYAML's libyaml-backed safe loader (no checks, no positions). Goal: validation <= 3x floor.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from bench.results import figure
from bench.timing import compare
from schema.repository import load_repository

INTEGRATIONS = 500
ROUTES_PER_INTEGRATION = 3

PROJECT = """apiVersion: camelops.io/v1alpha1
kind: Project
metadata:
  name: bench
spec:
  camel:
    version: "4.18.4"
  environments:
    - name: dev
      runner: dev
      namespace: bench-dev
    - name: prod
      runner: prod
      namespace: bench-prod
"""
INTEGRATION = """apiVersion: camelops.io/v1alpha1
kind: Integration
metadata:
  name: {name}
spec:
  routes: [routes/*.camel.yaml]
  replicas: 2
  resources:
    requests: {{cpu: 100m, memory: 256Mi}}
  env:
    MODE: bench
  replay:
    enabled: true
    endpoint: direct:{name}-0
  environments:
    prod:
      replicas: 3
"""
ROUTE = """- route:
    id: {name}-{index}
    from:
      uri: direct:{name}-{index}
      steps:
        - log:
            message: "got ${{body}}"
            loggingLevel: INFO
        - setHeader:
            name: source
            constant: {name}
        - choice:
            when:
              - simple: "${{header.kind}} == 'a'"
                steps:
                  - to: log:a?showBody=true
            otherwise:
              steps:
                - transform:
                    simple: "${{body}} processed"
        - to:
            uri: seda:{name}-out-{index}
            parameters:
              waitForTaskToComplete: Never
"""


def make_repository(root: Path) -> list[Path]:
    (root / "camelops.yaml").write_text(PROJECT)
    files = [root / "camelops.yaml"]
    for i in range(INTEGRATIONS):
        name = f"integration-{i:03d}"
        folder = root / "integrations" / name
        (folder / "routes").mkdir(parents=True)
        (folder / "integration.yaml").write_text(INTEGRATION.format(name=name))
        files.append(folder / "integration.yaml")
        for r in range(ROUTES_PER_INTEGRATION):
            route = folder / "routes" / f"r{r}.camel.yaml"
            route.write_text(ROUTE.format(name=name, index=r))
            files.append(route)
    return files


def plain_parse(files: list[Path]) -> None:
    for path in files:
        yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_repository(root)
        report = load_repository(root)
        assert report.ok, report.diagnostics[:5]
        timings = compare(
            {"floor": lambda: plain_parse(files), "validate": lambda: load_repository(root)}
        )
    count = len(files)
    floor, validate = timings["floor"], timings["validate"]
    print(
        f"files: {count} ({INTEGRATIONS} integrations x {ROUTES_PER_INTEGRATION} routes + project)"
    )
    for label, t in (("plain libyaml safe load (floor)", floor), ("camelops validate", validate)):
        print(
            f"{label:32s} wall {t.wall:.3f} s, cpu {t.cpu:.3f} s (medians of 7), "
            f"{count / t.cpu:,.0f} files/s of CPU"
        )
    print(
        f"ratio validate / floor: {validate.cpu / floor.cpu:.2f}x CPU, "
        f"{validate.wall / floor.wall:.2f}x wall (goal <= 3x)"
    )
    figure(
        f"validate, {count:,} files (CPU)",
        validate.cpu,
        "s",
        baseline=floor.cpu,
        baseline_name="libyaml safe load of the same files",
        goal="<= 3x baseline",
        met=validate.cpu <= 3 * floor.cpu,
    )


if __name__ == "__main__":
    main()

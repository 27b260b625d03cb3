"""Small config repositories written to a temporary directory and loaded for real."""

from __future__ import annotations

import textwrap
from pathlib import Path

from schema.loaded import LoadedProject
from schema.repository import load_repository

PROJECT = """\
apiVersion: camelops.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  camel:
    version: "{camel}"
  environments:
    - name: dev
      runner: dev-cluster
      namespace: shop-dev
    - name: prod
      runner: prod-cluster
      namespace: shop-prod
"""

ROUTE = """\
- route:
    id: {route_id}
    from:
      uri: timer:{route_id}
      steps:
        - to: log:{route_id}
"""

CIPHER_A = "cops1:" + "A" * 60
CIPHER_B = "cops1:" + "B" * 60


def integration(name: str, spec: str = "{}") -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    spec_text = f"spec:\n{body}\n" if spec != "{}" else "spec: {}\n"
    return (
        "apiVersion: camelops.io/v1alpha1\nkind: Integration\n"
        f"metadata:\n  name: {name}\n{spec_text}"
    )


def sealed(name: str, values: dict[str, str]) -> str:
    data = "".join(f"    {k}: {v}\n" for k, v in values.items())
    return (
        "apiVersion: camelops.io/v1alpha1\nkind: SealedSecret\n"
        f"metadata:\n  name: {name}\nspec:\n  encryptedData:\n{data}"
    )


def write_repo(root: Path, files: dict[str, str], camel: str = "4.18.4") -> Path:
    everything = {"camelops.yaml": PROJECT.format(camel=camel), **files}
    for rel, text in everything.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def simple_files(name: str = "hello", spec: str = "{}") -> dict[str, str]:
    return {
        f"integrations/{name}/integration.yaml": integration(name, spec),
        f"integrations/{name}/routes/{name}.camel.yaml": ROUTE.format(route_id=name),
    }


def load(root: Path) -> LoadedProject:
    report = load_repository(root)
    errors = "\n".join(d.format_text() for d in report.errors)
    assert report.project is not None, errors
    return report.project

"""Inside the runner, only runner/drivers/kubernetes/client.py may import the kubernetes client."""

from __future__ import annotations

import ast
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[3] / "runner"


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_boundary_module_imports_kubernetes() -> None:
    users = sorted(
        p.relative_to(RUNNER).as_posix()
        for p in RUNNER.rglob("*.py")
        if "kubernetes" in imported_roots(p)
    )
    assert users == ["drivers/kubernetes/client.py"]

"""Our top-level package names also exist on PyPI; make sure these come from this repository."""

from __future__ import annotations

import importlib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "camelops",
    "contract",
    "schema",
    "renderers",
    "reconciler",
    "tunnel",
    "runner",
    "telemetry",
    "portal",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_imports_from_this_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == ROOT / name


def test_no_pypi_namesake_is_installed() -> None:
    installed = {d.metadata["Name"].lower() for d in metadata.distributions()}
    clashes = sorted(installed & {p.lower() for p in PACKAGES if p != "camelops"})
    assert not clashes, f"PyPI distributions shadowing our packages are installed: {clashes}"

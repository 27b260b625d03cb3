"""`make golden` regenerates every golden expectation: its paths exist and cover each reader of
UPDATE_GOLDEN, and pytest collects golden tests from every one of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def golden_recipe() -> list[str]:
    """The arguments after `pytest` in the golden target's recipe."""
    makefile = (REPO / "Makefile").read_text()
    match = re.search(r"^golden:.*\n\t(.*)$", makefile, re.MULTILINE)
    assert match, "no golden target with a one-line recipe in the Makefile"
    recipe = match.group(1)
    assert recipe.startswith("UPDATE_GOLDEN=1 "), recipe
    return recipe.split(" -m pytest ", 1)[1].split()


def golden_paths() -> list[str]:
    return [arg for arg in golden_recipe() if not arg.startswith("-")]


def test_every_path_of_make_golden_exists() -> None:
    paths = golden_paths()
    assert paths
    missing = [p for p in paths if not (REPO / p).exists()]
    assert not missing, f"make golden names paths that do not exist: {missing}"


def test_make_golden_covers_every_test_that_reads_update_golden() -> None:
    readers = {
        path.relative_to(REPO)
        for path in (REPO / "tests").rglob("*.py")
        if "UPDATE_GOLDEN" in path.read_text() and path.name != Path(__file__).name
    }
    assert len(readers) >= 2
    roots = [REPO / p for p in golden_paths()]
    uncovered = sorted(
        str(r) for r in readers if not any((REPO / r).is_relative_to(root) for root in roots)
    )
    assert not uncovered, f"make golden does not regenerate: {uncovered}"


def test_make_golden_collects_tests_from_every_path() -> None:
    paths = golden_paths()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "UPDATE_GOLDEN": "0"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    for path in paths:
        assert sum(line.startswith(path) for line in collected) >= 10, (path, collected[:5])

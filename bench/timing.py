"""Shared timing helpers: interleaved repeated runs, medians of wall and CPU time."""

from __future__ import annotations

import compileall
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Timing:
    wall: float
    cpu: float


def compare(
    runs: dict[str, Callable[[], object]], repeats: int = 7, warmup: int = 1
) -> dict[str, Timing]:
    """Run each candidate in turn, round after round, so load from elsewhere hits all alike.

    CPU time (this process only) is the steadier figure on a shared machine; both are medians.
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return {
        name: Timing(statistics.median(walls[name]), statistics.median(cpus[name])) for name in runs
    }


def load_average() -> str:
    """Printed by every bench: figures taken on a loaded machine read differently."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


PACKAGES = ("camelops", "contract", "schema", "renderers", "reconciler")
"""The project's packages a CLI process imports (pyproject's list, the CLI's share of it)."""


def byte_compiled(root: Path) -> None:
    """Write the project's .pyc files, as installing the package does (pip compiles at
    install time). Under PYTHONDONTWRITEBYTECODE (CI images, sandboxes) an editable checkout
    never gets them, and every CLI process timed would compile ~50 modules from source first
    (~0.2 s), which no installed CLI does."""
    for package in PACKAGES:
        compileall.compile_dir(root / package, quiet=1)

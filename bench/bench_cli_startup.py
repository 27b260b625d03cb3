"""CLI start-up: wall time and peak RSS of `camelops --help` and `camelops validate` on the
example repository, against a bare `python -c pass` measured in the same run.

Each run is its own process (as a user or a CI job starts it), the candidates interleaved round
after round so load from elsewhere hits all alike; figures are medians. Goal for validate of the
example: <= 0.35 s and <= 80 MiB. CPU time (user + system of the child) is the steadier figure
on a shared machine. Peak RSS counts the pages a child shares with this bench process at fork,
so the `python -c pass` row is the floor.

`validate` keeps its compiled validators, the records' plan, the rewritten Camel schema and XSD
passes in the user's cache directory (schema/derived_cache.py): the plain row is every run after
the first one, the "cold cache" row points each run at a new empty directory (a first run, or a
CI job without a kept cache).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.results import figure

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "repo-layout"
REPEATS = 9
GOAL_SECONDS = 0.35
GOAL_MIB = 80.0

# schema.derived_cache.ENV_DIR, not imported: this process stays as small as the floor row
ENV_DIR = "CAMELOPS_CACHE_DIR"
COLD = "validate, cold cache"
CANDIDATES: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "camelops --help": [sys.executable, "-m", "camelops", "--help"],
    "camelops validate example": [sys.executable, "-m", "camelops", "validate", str(EXAMPLE)],
    COLD: [sys.executable, "-m", "camelops", "validate", str(EXAMPLE)],
}


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float
    peak_mib: float


def run_once(argv: list[str], cold: bool = False) -> Run:
    """One process to its end; peak RSS from the kernel's accounting of that child alone."""
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, ENV_DIR: empty} if cold else None
        return _measure(argv, env)


def _measure(argv: list[str], env: dict[str, str] | None) -> Run:
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall=wall, cpu=cpu, peak_mib=usage.ru_maxrss / 1024)  # ru_maxrss is KiB on Linux


def main() -> None:
    # as installed (pip writes .pyc files at install time): imported lazily, so this process
    # stays as small as the floor row
    from bench.timing import byte_compiled  # noqa: PLC0415

    byte_compiled(ROOT)
    runs: dict[str, list[Run]] = {name: [] for name in CANDIDATES}
    for name, argv in CANDIDATES.items():  # warm-up: page cache, .pyc files, derived cache
        run_once(argv, cold=name == COLD)
    for _ in range(REPEATS):
        for name, argv in CANDIDATES.items():
            runs[name].append(run_once(argv, cold=name == COLD))
    baseline = statistics.median(r.wall for r in runs["python -c pass"])
    print(f"median of {REPEATS} interleaved runs (baseline: python -c pass, same run)")
    print(f"{'command':<28}{'wall s':>9}{'x baseline':>12}{'cpu s':>8}{'peak MiB':>10}")
    for name, measured in runs.items():
        wall = statistics.median(r.wall for r in measured)
        cpu = statistics.median(r.cpu for r in measured)
        peak = statistics.median(r.peak_mib for r in measured)
        print(f"{name:<28}{wall:>9.3f}{wall / baseline:>12.1f}{cpu:>8.3f}{peak:>10.1f}")
    validate = runs["camelops validate example"]
    wall = statistics.median(r.wall for r in validate)
    peak = statistics.median(r.peak_mib for r in validate)
    met = "met" if wall <= GOAL_SECONDS and peak <= GOAL_MIB else "NOT met"
    print(f"goal validate <= {GOAL_SECONDS} s and <= {GOAL_MIB:.0f} MiB: {met}")
    floor = "python -c pass"
    for name, measured in runs.items():
        if name == floor:
            continue
        figure(
            f"`{name}` wall",
            statistics.median(r.wall for r in measured),
            "s",
            baseline=baseline,
            baseline_name=floor,
            goal=f"<= {GOAL_SECONDS} s" if measured is validate else "",
            met=wall <= GOAL_SECONDS if measured is validate else None,
        )
    figure(
        "`camelops validate example` peak memory",
        peak,
        "MiB",
        baseline=statistics.median(r.peak_mib for r in runs[floor]),
        baseline_name=floor,
        goal=f"<= {GOAL_MIB:.0f} MiB",
        met=peak <= GOAL_MIB,
    )


if __name__ == "__main__":
    main()

"""Structured bench output: each bench calls `figure()` for what it measured; when the bench's
process ends its figures go to bench/results/<bench>.json (with the date and load average) and
bench/RESULTS.md is rewritten from every such file. A new bench only has to call `figure()`.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.results_table import write_table

RESULTS_DIR = Path(__file__).parent / "results"
TABLE = Path(__file__).parent / "RESULTS.md"


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    """What was measured, with its size: "overview p95 (500 environments)"."""
    value: float
    unit: str
    baseline: float | None
    """The in-run baseline or peer, in the same unit (None: the figure has none)."""
    baseline_name: str
    """What the baseline is: "bare query of the same rows", "kubectl apply --server-side"."""
    goal: str = ""
    """The anchor, e.g. "<= 150 ms" or "<= 1.5x baseline"; empty when the issue sets none."""
    met: bool | None = None
    """Whether the goal is met in this run (None: no goal)."""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


_figures: list[Figure] = []


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str = "",
    goal: str = "",
    met: bool | None = None,
) -> None:
    """Record one figure of the running bench (printed by the bench itself as before)."""
    if not _figures:
        atexit.register(_save)
    _figures.append(Figure(name, value, unit, baseline, baseline_name, goal, met))


def bench_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = spec.name if spec is not None else Path(sys.argv[0]).stem
    return str(name).rsplit(".", 1)[-1]


def _save() -> None:
    one, five, fifteen = os.getloadavg()
    document = {
        "bench": bench_name(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": [round(one, 2), round(five, 2), round(fifteen, 2)],
        "cpus": os.cpu_count(),
        "figures": [asdict(f) for f in _figures],
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{document['bench']}.json"
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    write_table(RESULTS_DIR, TABLE)

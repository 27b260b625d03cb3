"""The bench table: each bench's recorded figures become rows with baseline, ratio, goal, date
and load; benches without figures are named; hand-written notes below the marker survive."""

from __future__ import annotations

import atexit
import json
from pathlib import Path

import pytest

from bench import results
from bench.results_table import NOTES_MARKER, render_table, write_table


def _document(bench: str, figures: list[dict[str, object]]) -> dict[str, object]:
    return {"bench": bench, "date": "2026-11-30 12:00 UTC", "load_average": [9.5, 8.0, 7.25],
            "cpus": 2, "figures": figures}  # fmt: skip


def test_one_row_per_figure_with_ratio_goal_date_and_load(tmp_path: Path) -> None:
    portal = {"name": "overview p95", "value": 40.0, "unit": "ms", "baseline": 10.0,
              "baseline_name": "bare query", "goal": "p95 <= 150 ms", "met": True}  # fmt: skip
    slow = {"name": "detail p95", "value": 300.0, "unit": "ms", "baseline": 200.0,
            "baseline_name": "bare query", "goal": "p95 <= 150 ms", "met": False}  # fmt: skip
    alone = {"name": "push -> bundle", "value": 0.5, "unit": "s", "baseline": None,
             "baseline_name": "", "goal": "", "met": None}  # fmt: skip
    (tmp_path / "bench_portal.json").write_text(
        json.dumps(_document("bench_portal", [portal, slow]))
    )
    (tmp_path / "bench_reconcile.json").write_text(
        json.dumps(_document("bench_reconcile", [alone]))
    )
    table = render_table(tmp_path, ["bench_portal", "bench_reconcile", "bench_tunnel"])
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `bench_portal` | overview p95 | 40.0 ms | 10.0 ms (bare query) | 4.00x | p95 <= 150 ms"
        " | met | 2026-11-30 12:00 UTC | 9.5/8.0/7.2 (2) |",
        "| `bench_portal` | detail p95 | 300 ms | 200 ms (bare query) | 1.50x | p95 <= 150 ms"
        " | **not met** | 2026-11-30 12:00 UTC | 9.5/8.0/7.2 (2) |",
        "| `bench_reconcile` | push -> bundle | 0.5 s |  |  |  |  | 2026-11-30 12:00 UTC"
        " | 9.5/8.0/7.2 (2) |",
    ]
    assert "No structured figures yet (not run since figures were recorded): `bench_tunnel`." in (
        table
    )


def test_a_bench_records_its_figures_and_the_notes_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "RESULTS.md"
    table.write_text(f"old table\n{NOTES_MARKER}\n## Notes\nwritten by hand\n")
    (tmp_path / "bench_demo.py").write_text("")
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(results, "TABLE", table)
    monkeypatch.setattr(results, "bench_name", lambda: "bench_demo")
    monkeypatch.setattr(results, "_figures", [])
    monkeypatch.setattr(atexit, "register", lambda _f: None)  # this process is pytest
    results.figure("thing per second", 1234.5, "things/s", baseline=617.25, baseline_name="peer")
    results._save()
    saved = json.loads((tmp_path / "results" / "bench_demo.json").read_text())
    assert saved["figures"][0]["value"] == 1234.5
    assert len(saved["load_average"]) == 3
    text = table.read_text()
    assert "| `bench_demo` | thing per second | 1,234 things/s | 617 things/s (peer) | 2.00x |" in (
        text
    )
    assert "old table" not in text
    assert text.endswith(f"{NOTES_MARKER}\n## Notes\nwritten by hand\n")
    write_table(tmp_path / "results", table)  # again: same table, notes once
    assert text == table.read_text()

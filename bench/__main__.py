"""`make bench`: run every bench/bench_*.py in its own process (each prints its figures and
records them with `bench.results.figure`), then rewrite bench/RESULTS.md from them all.

`python -m bench [name...]` runs the named benches only; `python -m bench --table` only
rewrites the table from the recorded results.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.results import RESULTS_DIR, TABLE
from bench.results_table import write_table


def main() -> int:
    selected = set(sys.argv[1:])
    if selected == {"--table"}:
        write_table(RESULTS_DIR, TABLE)
        return 0
    failed = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        if selected and path.stem not in selected:
            continue
        print(f"== {path.stem}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{path.stem}"], check=False)
        if result.returncode:
            failed.append(path.stem)
    write_table(RESULTS_DIR, TABLE)
    print(f"table: {TABLE}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: run every bench/bench_*.py in its own process and print its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    selected = set(sys.argv[1:])
    failed = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        if selected and path.stem not in selected:
            continue
        print(f"== {path.stem}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{path.stem}"], check=False)
        if result.returncode:
            failed.append(path.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

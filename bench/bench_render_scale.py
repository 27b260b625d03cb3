"""`camelops render` against `helm template` at 300, 3,000 and 30,000 objects, in one run.

Peer: helm (built from Go modules by `make peers`) renders a chart generated here whose
templates are the very objects camelops rendered, as static YAML: helm parses, executes and
sorts them, the least work a chart can ask of it. Both run as processes from start to finish
(interpreter start and imports included), output to /dev/null; wall time and the child's CPU.

The floor at small sizes: a process that only imports what `camelops render` imports (Python
start-up, YAML, the Camel checks, the records, the renderers; not pydantic, which the records
stand in for) and does nothing. Beside it, the same render built from the pydantic models (what
`camelops render` did before the records): the records' in-run baseline.

In process, the cost per object of load + render with the loaded graph frozen (what the CLI
does) and without (before), to show it stays flat with size.

Between the two smallest sizes of the run, each tool's wall time as a straight line, fixed + per
object: what it costs to start, what each object adds there, and the size from which the one
with the cheaper objects is the faster. (A fit over all sizes would let the largest decide the
line and hide the start-up cost that decides the smallest.)
"""

from __future__ import annotations

import gc
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

from bench.bench_render import write_project
from bench.results import figure
from bench.timing import byte_compiled, load_average
from renderers import OutputFormat, render_environment, to_stream
from schema.limits import LoadLimits
from schema.repository import load_repository

OBJECTS_PER_INTEGRATION = 5.87  # the bench project's mix renders this many objects each
SIZES = (300, 3_000, 30_000)
# Runs of a third of a second swing by +-30% from one to the next on this class of machine (a
# shared VM): the small sizes take more samples, which cost little, for a steadier median.
REPEATS = {300: 21, 3_000: 9}
DEFAULT_REPEATS = 5
ROOT = Path(__file__).resolve().parent.parent
CAMELOPS = Path(sys.executable).parent / "camelops"
HELM = ROOT / ".cache" / "peers" / "bin" / "helm"
LIMITS = LoadLimits(max_repo_files=100_000, max_repo_bytes=1024**3)
Sample = tuple[float, float]  # wall, cpu
# what `camelops render` imports before it reads a file, as the CLI imports it
IMPORTS_ONLY = (
    "import gc; gc.disable()\n"
    "from camelops.cli_support import without_pydantic_plugins\n"
    "without_pydantic_plugins()\n"
    "import camelops.cli, camelops.commands.render\n"
)

# `camelops render` as it was before the records: the same command, its documents built as
# pydantic models (imports with the collector paused, then frozen, as the CLI's own process does)
MODELS_RENDER = (
    "import gc, sys; gc.disable()\n"
    "from camelops.cli_support import without_pydantic_plugins\n"
    "without_pydantic_plugins()\n"
    "import camelops.commands.render as command, schema.repository as repository\n"
    "def with_models(*args, **kwargs):\n"
    "    return repository.load_repository(*args, **{**kwargs, 'records': False})\n"
    "command.load_repository = with_models\n"
    "import schema.models\n"
    "gc.freeze(); gc.enable()\n"
    "from camelops.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def child_run(command: list[str]) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def write_chart(root: Path, stream: str) -> None:
    """A chart whose templates are the rendered objects, 100 per template file."""
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\n")
    documents = [d for d in stream.split("\n---\n") if d.strip()]
    for start in range(0, len(documents), 100):
        text = "\n---\n".join(documents[start : start + 100])
        # helm would read {{ in a value as a template action
        text = text.replace("{{", '{{ "{{" }}')
        (root / "templates" / f"objects-{start // 100:04d}.yaml").write_text(text + "\n")


def in_process(project_dir: Path, frozen: bool) -> Sample:
    """Load + render + YAML in this process; run in a child so freezing stays per sample."""
    script = (
        "import gc, sys, time\n"
        "from pathlib import Path\n"
        "from bench.bench_render_scale import LIMITS\n"
        "from camelops.commands.render import loaded_graph_frozen\n"
        "from renderers import OutputFormat, render_environment, to_stream\n"
        "from schema.repository import load_repository\n"
        "wall, cpu = time.perf_counter(), time.process_time()\n"
        "if sys.argv[2] == 'frozen':\n"
        "    with loaded_graph_frozen():\n"
        "        report = load_repository(Path(sys.argv[1]), limits=LIMITS, records=True)\n"
        "else:\n"
        "    report = load_repository(Path(sys.argv[1]), limits=LIMITS, records=True)\n"
        "to_stream(render_environment(report.project, 'prod'), OutputFormat('yaml'))\n"
        "print(time.perf_counter() - wall, time.process_time() - cpu)\n"
    )
    mode = "frozen" if frozen else "plain"
    done = subprocess.run(
        [sys.executable, "-c", script, str(project_dir), mode],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    wall, cpu = (float(x) for x in done.stdout.split())
    return wall, cpu


def interleaved(runs: dict[str, Callable[[], Sample]], repeats: int) -> dict[str, Sample]:
    for run in runs.values():  # warm-up: file cache, Go and Python start-up
        run()
    samples: dict[str, list[Sample]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(run())
    return {
        name: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
        for name, s in samples.items()
    }


def main() -> int:
    if not HELM.exists():
        print(f"helm peer missing: run `make peers` ({HELM})")
        return 1
    byte_compiled(ROOT)  # as installed: the CLI processes timed do not compile our sources
    print(load_average())
    sizes = tuple(int(arg) for arg in sys.argv[1:]) or SIZES  # e.g. `300 3000` for a quick run
    walls: dict[str, list[tuple[int, float]]] = {"camelops render": [], "helm template": []}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-render-scale-") as tmp:
            project_dir, chart_dir = Path(tmp) / "project", Path(tmp) / "chart"
            project_dir.mkdir()
            write_project(project_dir, round(size / OBJECTS_PER_INTEGRATION))
            report = load_repository(project_dir, limits=LIMITS)
            assert report.project is not None, report.errors[:3]
            objects = render_environment(report.project, "prod")
            stream = to_stream(objects, OutputFormat("yaml"))
            write_chart(chart_dir, stream)
            del report, objects
            gc.collect()
            render = [str(CAMELOPS), "render", str(project_dir), "--env", "prod"]
            render += ["--max-repo-files", "100000", "--max-repo-bytes", str(1024**3)]
            helm = [str(HELM), "template", "bench", str(chart_dir)]
            imports_only = [sys.executable, "-c", IMPORTS_ONLY]
            models = [sys.executable, "-c", MODELS_RENDER, *render[1:]]
            count = sum(1 for d in yaml.safe_load_all(stream) if d)
            repeats = REPEATS.get(size, DEFAULT_REPEATS)
            results = interleaved(
                {
                    "camelops render": partial(child_run, render),
                    "helm template": partial(child_run, helm),
                    "render from models (before)": partial(child_run, models),
                    "imports only (floor)": partial(child_run, imports_only),
                    "load+render, graph frozen": partial(in_process, project_dir, True),
                    "load+render, before (plain)": partial(in_process, project_dir, False),
                },
                repeats,
            )
        print(f"{count:,} objects (median of {repeats}, interleaved)")
        for name, (wall, cpu) in results.items():
            print(f"  {name:28s} wall {wall:7.2f} s  CPU {cpu:7.2f} s  "
                  f"{cpu / count * 1e6:6.0f} us CPU/object")  # fmt: skip
        ours, peer = results["camelops render"], results["helm template"]
        for name, points in walls.items():
            points.append((count, results[name][0]))
        print(f"  ratio camelops render / helm template: wall {ours[0] / peer[0]:.2f}x, "
              f"CPU {ours[1] / peer[1]:.2f}x")  # fmt: skip
        before = results["render from models (before)"]
        print(f"  ratio camelops render / render from models: wall {ours[0] / before[0]:.2f}x")
        floor = results["imports only (floor)"]
        print(f"  ratio imports only / helm template: wall {floor[0] / peer[0]:.2f}x")
        frozen, plain = results["load+render, graph frozen"], results["load+render, before (plain)"]
        print(f"  ratio frozen / plain (in process): CPU {frozen[1] / plain[1]:.2f}x")
        figure(
            f"`camelops render`, {count:,} objects (wall)",
            ours[0],
            "s",
            baseline=peer[0],
            baseline_name="`helm template` of the same objects",
            goal="<= helm template",
            met=ours[0] <= peer[0],
        )
    if len(sizes) > 1:
        print_cost_model(walls)
    return 0


def print_cost_model(walls: dict[str, list[tuple[int, float]]]) -> None:
    """Fixed cost and cost per object of each tool between the two smallest sizes measured."""
    lines = {}
    print("wall = fixed + per object x objects, through the two smallest sizes above")
    for name, points in walls.items():
        (small, small_wall), (large, large_wall) = sorted(points)[:2]
        each = (large_wall - small_wall) / (large - small)
        lines[name] = (small_wall - each * small, each)
        print(f"  {name:16s} fixed {lines[name][0]:6.3f} s  per object {each * 1e6:6.0f} us")
    (ours_fixed, ours_each), (peer_fixed, peer_each) = lines.values()
    if ours_fixed <= peer_fixed and ours_each <= peer_each:
        print("  camelops render is the faster at every size")
    elif ours_each < peer_each:
        even = (ours_fixed - peer_fixed) / (peer_each - ours_each)
        print(f"  camelops render is the faster from ~{even:,.0f} objects")
    else:
        print("  helm template costs less per object: it is the faster at large sizes")


if __name__ == "__main__":
    sys.exit(main())

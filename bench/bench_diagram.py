"""The route diagram's costs: laying out an integration of ~1,000 steps (capped at 400 boxes)
happens once per (revision, integration); what every 2 s poll costs instead is summing the
counters per box and rendering the overlay fragment on the cached layout. In the same run, the
baseline is reading the route files into step trees (what any page showing routes pays).
"""

from __future__ import annotations

from typing import Any

from bench.results import figure
from bench.timing import compare, load_average
from portal.diagram import Counters, build_diagram, counters_of
from portal.render import make_templates
from renderers.route_graph import integration_routes
from schema.loaded import RouteDsl, RouteFile

ROUTES = 60
STEP = """        - log: "step {n} ${{body}}"
        - choice:
            when:
              - simple: "${{header.kind}} == '{n}'"
                steps:
                  - to: "direct:r{r}-a"
                  - setHeader: {{name: seen, constant: "{n}"}}
            otherwise:
              steps:
                - to: "log:r{r}?level=DEBUG"
"""


class _Integration:
    directory = "integrations/bench"

    def __init__(self, files: tuple[RouteFile, ...]) -> None:
        self.routes = files


def _integration() -> _Integration:
    files = []
    for r in range(ROUTES):
        steps = "".join(STEP.format(n=n, r=r) for n in range(2))
        text = f"- route:\n    id: r{r}\n    from:\n      uri: direct:r{r}\n      steps:\n{steps}"
        files.append(
            RouteFile(f"integrations/bench/routes/r{r:03}.camel.yaml", text, RouteDsl.YAML)
        )
    return _Integration(tuple(files))


def main() -> None:
    integration = _integration()
    trees = integration_routes(integration)  # type: ignore[arg-type]
    diagram = build_diagram(trees)
    stats = {
        (n.route_id, member): Counters(1000 + i, i % 7, 0, 3.5)
        for i, n in enumerate(diagram.nodes)
        for member in n.members
    }
    template = make_templates().get_template("diagram.html")

    def poll() -> Any:
        counters = counters_of(diagram, stats)
        return template.render(
            fragment="counts", d=diagram, counters=counters, live=True, version="v",
            path="/p", node_w=176, node_h=56, integration="bench", cap=400,
        )  # fmt: skip

    timings = compare(
        {
            "parse (baseline)": lambda: integration_routes(integration),  # type: ignore[arg-type]
            "layout (once per revision)": lambda: build_diagram(trees),
            "poll (counters + fragment)": poll,
        },
        repeats=9,
    )
    steps = sum(1 for r in trees for _ in r.walk())
    print(f"{steps} steps in {ROUTES} routes, {len(diagram.nodes)} boxes drawn; {load_average()}")
    base = timings["parse (baseline)"].cpu
    for name, t in timings.items():
        print(f"  {name:30} wall {t.wall * 1000:8.1f} ms  cpu {t.cpu * 1000:8.1f} ms  "
              f"x{t.cpu / base:5.2f} of parse")  # fmt: skip
    size = f"{steps} steps in {ROUTES} routes, {len(diagram.nodes)} boxes"
    for name, label in (
        ("layout (once per revision)", "diagram layout"),
        ("poll (counters + fragment)", "live poll: counters + overlay fragment"),
    ):
        figure(
            f"{label}, {size} (CPU, median of 9)",
            timings[name].cpu * 1000,
            "ms",
            baseline=base * 1000,
            baseline_name="reading the route files into step trees",
        )  # fmt: skip


if __name__ == "__main__":
    main()

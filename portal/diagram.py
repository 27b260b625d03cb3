"""The route diagram of one integration: boxes and edges laid out once, counters drawn apart.

Each route is one connected graph laid out top-down with grandalf's Sugiyama layout; the routes
are then packed in rows. Exception handlers and doTry blocks are collapsed into one box that
stands for every processor inside. At most `MAX_NODES` boxes are drawn; the rest is counted
("N more"). The layout depends only on the route definitions, so it is computed once per
(revision, integration) and cached; the live counters are a separate overlay laid on the same
coordinates, so a poll never lays anything out again.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

from renderers.route_graph import RouteTree, Step

MAX_NODES = 400
NODE_W, NODE_H = 176, 56
ROUTE_PAD, ROUTE_TITLE = 14, 26
ROW_WIDTH = 1180
"""Routes are packed into rows no wider than this (wider routes take a row of their own)."""
COLLAPSED = frozenset({"onException", "doTry", "onCompletion", "intercept", "interceptFrom"})
_BRANCHES = frozenset({"when", "otherwise"})
_LABEL_CHARS = 26


@dataclass(frozen=True, slots=True)
class Node:
    dom_id: str
    route_id: str
    node_id: str
    kind: str
    label: str
    members: tuple[str, ...]
    """The processor ids this box stands for (more than one when a block is collapsed)."""
    mark: str
    x: float
    y: float

    @property
    def short_label(self) -> str:
        text = self.label
        return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"

    @property
    def title(self) -> str:
        inside = f" ({len(self.members)} processors inside)" if len(self.members) > 1 else ""
        return f"{self.kind} {self.node_id}{inside}: {self.label}".strip(": ")


@dataclass(frozen=True, slots=True)
class Link:
    path: str
    mark: str
    handler: bool


@dataclass(frozen=True, slots=True)
class RouteBox:
    route_id: str
    source: str
    mark: str
    x: float
    y: float
    w: float
    h: float
    more: int = 0
    """Boxes of this route left out by the cap."""


@dataclass(frozen=True, slots=True)
class Diagram:
    width: float
    height: float
    routes: tuple[RouteBox, ...]
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    not_drawn: int
    """Boxes left out by the cap."""
    routes_not_drawn: tuple[str, ...]
    total_nodes: int

    @property
    def marks(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.nodes:
            if node.mark:
                counts[node.mark] = counts.get(node.mark, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class Counters:
    total: int
    failed: int
    inflight: int
    mean_ms: float


@dataclass(frozen=True, slots=True)
class NodeCounters:
    node: Node
    counters: Counters


# --- from route trees to boxes and edges ----------------------------------------------------


@dataclass
class _Unit:
    key: str
    route_id: str
    step: Step
    members: tuple[str, ...]
    mark: str
    label: str


@dataclass
class _RouteGraph:
    route: RouteTree
    units: list[_Unit] = field(default_factory=list)
    edges: list[tuple[int, int, bool]] = field(default_factory=list)
    """(from unit, to unit, is a handler's edge)."""

    @property
    def more(self) -> int:
        """Steps of the route that no drawn box stands for (left out by the cap)."""
        covered = sum(len(u.members) for u in self.units)
        return sum(1 for _ in self.route.walk()) - covered


def dom_id(route_id: str, node_id: str) -> str:
    """A DOM id made from untrusted ids: hashed, so it is always a plain token."""
    digest = hashlib.sha256(f"{route_id}\0{node_id}".encode()).hexdigest()[:12]
    return f"n{digest}"


def _collapsed_mark(step: Step) -> str:
    if step.mark:
        return step.mark
    return "changed" if any(s.mark for s in step.walk()) else ""


class _Builder:
    def __init__(self, budget: int) -> None:
        self.budget = budget

    def route(self, route: RouteTree) -> _RouteGraph:
        graph = _RouteGraph(route)
        start = self._add(graph, route.start, (route.start.node_id,), route.start.mark)
        if start is None:
            return graph
        for handler in route.handlers:
            unit = self._unit(graph, handler)
            if unit is not None:
                graph.edges.append((start, unit, True))
        self._flow(graph, route.steps, [start])
        return graph

    def _add(
        self, graph: _RouteGraph, step: Step, members: tuple[str, ...], mark: str
    ) -> int | None:
        if self.budget <= 0:
            return None
        self.budget -= 1
        key = step.node_id if step.mark != "removed" else f"removed:{step.node_id}"
        label = step.label
        if len(members) > 1:
            label = f"{len(members) - 1} steps inside" + (f" · {label}" if label else "")
        graph.units.append(_Unit(key, graph.route.route_id, step, members, mark, label))
        return len(graph.units) - 1

    def _unit(self, graph: _RouteGraph, step: Step) -> int | None:
        if step.kind in COLLAPSED:
            members = tuple(s.node_id for s in step.walk())
            return self._add(graph, step, members, _collapsed_mark(step))
        return self._add(graph, step, (step.node_id,), step.mark)

    def _flow(self, graph: _RouteGraph, steps: tuple[Step, ...], preds: list[int]) -> list[int]:
        for step in steps:
            unit = self._unit(graph, step)
            if unit is None:
                return []
            graph.edges.extend((p, unit, False) for p in preds)
            preds = self._tails(graph, step, unit)
        return preds

    def _tails(self, graph: _RouteGraph, step: Step, unit: int) -> list[int]:
        if step.kind in COLLAPSED or not step.children:
            return [unit]
        if step.kind == "choice":
            tails: list[int] = []
            for branch in step.children:
                head = self._unit(graph, branch)
                if head is None:
                    continue
                graph.edges.append((unit, head, False))
                tails += self._flow(graph, branch.children, [head])
            if not any(b.kind == "otherwise" for b in step.children):
                tails.append(unit)  # no otherwise: the exchange may go straight on
            return tails
        # a container (filter, split, loop, circuitBreaker...): its body hangs off the box and
        # the route goes on from the box itself
        self._flow(graph, tuple(c for c in step.children if c.kind not in _BRANCHES), [unit])
        return [unit]


# --- layout ---------------------------------------------------------------------------------


class _View:
    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy: tuple[float, float] = (0.0, 0.0)


class _EdgeView:
    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


@dataclass
class _Placed:
    graph: _RouteGraph
    width: float
    height: float
    centers: list[tuple[float, float]]
    paths: list[list[tuple[float, float]]]


def _layout(graph: _RouteGraph) -> _Placed:
    vertices = [Vertex(i) for i in range(len(graph.units))]
    for vertex in vertices:
        vertex.view = _View(NODE_W, NODE_H)
    edges = [Edge(vertices[a], vertices[b]) for a, b, _ in graph.edges]
    for edge in edges:
        edge.view = _EdgeView()
    if not vertices:
        return _Placed(graph, NODE_W, 0, [], [])
    laid = Graph(vertices, edges)
    for component in laid.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = 24, 30
        roots = [v for v in component.sV if v.data == 0] or None
        sugiyama.init_all(roots=roots)
        sugiyama.draw()
    xs = [v.view.xy[0] for v in vertices]
    ys = [v.view.xy[1] for v in vertices]
    left, top = min(xs) - NODE_W / 2, min(ys) - NODE_H / 2
    centers = [(v.view.xy[0] - left, v.view.xy[1] - top) for v in vertices]
    paths = [[(x - left, y - top) for x, y in e.view.points] for e in edges]
    width = max(xs) - min(xs) + NODE_W
    height = max(ys) - min(ys) + NODE_H
    return _Placed(graph, width, height, centers, paths)


def _path(points: list[tuple[float, float]], dx: float, dy: float) -> str:
    """From the bottom of the source box to the top of the target box, through the dummies."""
    if len(points) < 2:
        return ""
    (x0, y0), (x1, y1) = points[0], points[-1]
    middle = points[1:-1]
    start = (x0, y0 + NODE_H / 2) if y1 >= y0 else (x0, y0 - NODE_H / 2)
    end = (x1, y1 - NODE_H / 2) if y1 >= y0 else (x1, y1 + NODE_H / 2)
    coords = [start, *middle, end]
    return "M" + " L".join(f"{x + dx:.1f},{y + dy:.1f}" for x, y in coords)


def build_diagram(routes: tuple[RouteTree, ...], *, max_nodes: int = MAX_NODES) -> Diagram:
    builder = _Builder(max_nodes)
    graphs = [builder.route(route) for route in routes]
    total = sum(sum(1 for _ in r.walk()) for r in routes)
    placed = [_layout(g) for g in graphs if g.units]
    boxes: list[RouteBox] = []
    nodes: list[Node] = []
    links: list[Link] = []
    x = y = row_height = 0.0
    width = 0.0
    for item in placed:
        more_h = 22.0 if item.graph.more else 0.0
        box_w = max(item.width + 2 * ROUTE_PAD, 220.0)
        box_h = item.height + 2 * ROUTE_PAD + ROUTE_TITLE + more_h
        if x > 0 and x + box_w > ROW_WIDTH:
            x, y, row_height = 0.0, y + row_height + 16, 0.0
        route = item.graph.route
        boxes.append(
            RouteBox(route.route_id, route.source, route.mark, x, y, box_w, box_h, item.graph.more)
        )
        dx, dy = x + ROUTE_PAD, y + ROUTE_PAD + ROUTE_TITLE
        for unit, (cx, cy) in zip(item.graph.units, item.centers, strict=True):
            nodes.append(
                Node(
                    dom_id(route.route_id, unit.key),
                    route.route_id,
                    unit.step.node_id,
                    unit.step.kind,
                    unit.label,
                    unit.members,
                    unit.mark,
                    cx + dx - NODE_W / 2,
                    cy + dy - NODE_H / 2,
                )
            )
        for (a, b, handler), points in zip(item.graph.edges, item.paths, strict=True):
            mark = item.graph.units[b].mark or item.graph.units[a].mark
            links.append(Link(_path(points, dx, dy), mark, handler))
        x += box_w + 16
        row_height = max(row_height, box_h)
        width = max(width, x - 16)
    omitted = tuple(g.route.route_id for g in graphs if not g.units)
    return Diagram(
        width=max(width, 1.0),
        height=max(y + row_height, 1.0),
        routes=tuple(boxes),
        nodes=tuple(nodes),
        links=tuple(links),
        not_drawn=sum(g.more for g in graphs),
        routes_not_drawn=omitted,
        total_nodes=total,
    )


# --- live counters --------------------------------------------------------------------------


def counters_of(diagram: Diagram, stats: Mapping[tuple[str, str], Counters]) -> list[NodeCounters]:
    """Each drawn box with the sum of its processors' counters (a mean weighted by count).
    A route's start box shows the route's own totals (the route MBean has no processor id)."""
    out: list[NodeCounters] = []
    for node in diagram.nodes:
        if node.mark == "removed":
            continue
        keys = [(node.route_id, "")] if node.kind == "from" else []
        keys += [(node.route_id, member) for member in node.members if node.kind != "from"]
        found = [stats[k] for k in keys if k in stats]
        if not found:
            continue
        total = sum(c.total for c in found)
        mean = sum(c.mean_ms * c.total for c in found) / total if total else 0.0
        out.append(
            NodeCounters(
                node,
                Counters(total, sum(c.failed for c in found), sum(c.inflight for c in found), mean),
            )
        )
    return out


class LayoutCache:
    """Laid-out diagrams by (project, revision, integration, compared-with revision)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[object, ...], Diagram] = OrderedDict()
        self.layouts = 0
        """How many layouts were computed (a poll must never add one)."""

    def get(self, key: tuple[object, ...]) -> Diagram | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], diagram: Diagram) -> None:
        self.layouts += 1
        self._items[key] = diagram
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

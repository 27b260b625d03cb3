"""Layout of the route diagram: collapsed blocks, the node cap, counters summed per box."""

from __future__ import annotations

from portal.diagram import Counters, build_diagram, counters_of
from renderers.route_graph import RouteTree, Step


def _step(kind: str, node_id: str, *children: Step) -> Step:
    return Step(kind, node_id, f"{kind} label", "{}", children)


def _route(route_id: str, *steps: Step) -> RouteTree:
    return RouteTree(route_id, "routes/r.yaml", _step("from", f"from-{route_id}"), (), steps)


def test_try_blocks_collapse_and_count_every_step_inside() -> None:
    route = _route(
        "r",
        _step("log", "log1"),
        _step(
            "doTry",
            "doTry1",
            _step("to", "to1"),
            _step("doCatch", "doCatch1", _step("log", "log2")),
        ),
        _step("to", "to2"),
    )
    diagram = build_diagram((route,))
    boxes = {n.node_id: n for n in diagram.nodes}
    assert set(boxes) == {"from-r", "log1", "doTry1", "to2"}
    assert boxes["doTry1"].members == ("doTry1", "to1", "doCatch1", "log2")
    assert diagram.not_drawn == 0
    # boxes of one route never overlap
    positions = [(n.x, n.y) for n in diagram.nodes]
    assert len(set(positions)) == len(positions)
    stats = {
        ("r", "to1"): Counters(10, 2, 0, 4.0),
        ("r", "log2"): Counters(2, 0, 0, 1.0),
        ("r", ""): Counters(12, 2, 1, 9.0),
        ("r", "log1"): Counters(12, 0, 0, 1.0),
    }
    counted = {c.node.node_id: c.counters for c in counters_of(diagram, stats)}
    assert counted["doTry1"] == Counters(12, 2, 0, (10 * 4.0 + 2 * 1.0) / 12)
    assert counted["from-r"] == Counters(12, 2, 1, 9.0)  # the route's own totals
    assert "to2" not in counted  # no counters yet: nothing drawn for it


def test_cap_draws_at_most_n_boxes_and_counts_the_rest() -> None:
    routes = tuple(
        _route(f"r{i}", *(_step("log", f"log{i}-{j}") for j in range(9))) for i in range(5)
    )
    diagram = build_diagram(routes, max_nodes=25)
    assert len(diagram.nodes) == 25
    assert diagram.total_nodes == 50
    assert diagram.not_drawn == 25
    assert diagram.routes_not_drawn == ("r3", "r4")
    assert [r.more for r in diagram.routes] == [0, 0, 5]


def test_choice_branches_join_the_next_step() -> None:
    route = _route(
        "r",
        _step(
            "choice",
            "choice1",
            _step("when", "when1", _step("log", "a")),
            _step("otherwise", "otherwise1", _step("log", "b")),
        ),
        _step("to", "after"),
    )
    diagram = build_diagram((route,))
    # from->choice, choice->when->a, choice->otherwise->b, and both branches join at `after`
    assert len(diagram.links) == 7
    boxes = {n.node_id: n for n in diagram.nodes}
    assert boxes["after"].y > max(boxes["a"].y, boxes["b"].y) > boxes["choice1"].y
    assert boxes["a"].x != boxes["b"].x  # the branches sit side by side

"""Route trees keyed by Camel's processor ids, and the marks a preview puts on them."""

from __future__ import annotations

from renderers.route_graph import RouteTree, integration_routes, mark_changes
from schema.loaded import RouteDsl, RouteFile

A = """\
- route:
    id: orders-http
    from:
      uri: platform-http:/orders
      parameters: {httpMethodRestrict: POST}
      steps:
        - log: "received ${header.X-Request-Id}"
        - to: direct:create-order
- route:
    id: create-order
    from:
      uri: direct:create-order
      steps:
        - choice:
            when:
              - simple: "${body} == null"
                steps:
                  - throwException:
                      exceptionType: java.lang.IllegalArgumentException
                      message: empty
            otherwise:
              steps:
                - setHeader: {name: CamelHttpMethod, constant: GET}
                - toD: {uri: "http://inventory/check"}
"""
B = """\
- onException:
    exception: [java.lang.IllegalStateException]
    handled: {constant: true}
    steps:
      - log: handled
- from:
    uri: timer:tick
    steps:
      - doTry:
          steps:
            - log: in try
            - to: direct:create-order
          doCatch:
            - exception: [java.lang.Exception]
              steps:
                - log: caught
      - split:
          simple: "${body}"
          steps:
            - to: {id: my-explicit, uri: "log:x"}
      - filter:
          simple: "${body} != null"
          steps:
            - setBody: {constant: x}
"""
XML = """\
<routes xmlns="http://camel.apache.org/schema/spring">
  <route id="nightly">
    <from uri="timer:nightly"/>
    <setBody><simple>report</simple></setBody>
    <to uri="log:report"/>
  </route>
</routes>
"""


class _Integration:
    directory = "integrations/x"

    def __init__(self, *files: RouteFile) -> None:
        self.routes = files


def _routes(**texts: str) -> tuple[RouteTree, ...]:
    files = [
        RouteFile(
            f"integrations/x/routes/{name}",
            text,
            RouteDsl.XML if name.endswith(".xml") else RouteDsl.YAML,
        )
        for name, text in texts.items()
    ]
    return integration_routes(_Integration(*files))  # type: ignore[arg-type]


def _ids(route: RouteTree) -> list[str]:
    return [step.node_id for step in route.walk()]


def test_generated_ids_follow_camels_counters_over_files_in_load_order() -> None:
    # the files are given out of order: Camel loads them by name
    first, second, third = _routes(**{"b.camel.yaml": B, "a.camel.yaml": A})
    assert first.route_id == "orders-http"
    assert _ids(first) == ["from1", "log1", "to1"]
    assert _ids(second) == [
        "from2", "choice1", "when1", "throwException1", "otherwise1", "setHeader1", "toD1",
    ]  # fmt: skip
    # a route without id is route1; its file's onException is built with it, before its steps;
    # an explicit id is used as written and consumes no counter
    assert third.route_id == "route1"
    assert [h.node_id for h in third.handlers] == ["onException1"]
    assert _ids(third) == [
        "from3", "onException1", "log2", "doTry1", "log3", "to2", "doCatch1", "log4",
        "split1", "my-explicit", "filter1", "setBody1",
    ]  # fmt: skip
    assert second.steps[0].children[0].label == "${body} == null"
    assert first.start.label == "platform-http:/orders?httpMethodRestrict=POST"


def test_xml_routes_count_processors_not_expressions() -> None:
    (route,) = _routes(**{"report.camel.xml": XML})
    assert route.route_id == "nightly"
    assert _ids(route) == ["from1", "setBody1", "to1"]
    assert route.steps[0].label == "report"


def test_marks_added_removed_changed_steps_and_routes() -> None:
    base = _routes(**{"a.camel.yaml": A})
    head_text = (
        A.replace('- log: "received ${header.X-Request-Id}"', "- log: received")
        .replace('                - toD: {uri: "http://inventory/check"}\n', "")
        .replace(
            "      steps:\n        - log:",
            "      steps:\n        - delay: {constant: 5}\n        - log:",
        )
    )
    head_text = head_text.replace("id: create-order\n", "id: create-order-v2\n")
    marked = {r.route_id: r for r in mark_changes(base, _routes(**{"a.camel.yaml": head_text}))}
    steps = {(s.kind, s.node_id): s.mark for s in marked["orders-http"].walk()}
    assert steps == {("from", "from1"): "", ("delay", "delay1"): "added",
                     ("log", "log1"): "changed", ("to", "to1"): ""}  # fmt: skip
    assert marked["create-order-v2"].mark == "added"
    assert marked["create-order"].mark == "removed"
    assert {s.mark for s in marked["create-order"].walk()} == {"removed"}


def test_a_removed_step_inside_a_branch_is_kept_in_place() -> None:
    base = _routes(**{"a.camel.yaml": A})
    head = _routes(
        **{
            "a.camel.yaml": A.replace(
                '                - toD: {uri: "http://inventory/check"}\n', ""
            )
        }
    )
    marked = {r.route_id: r for r in mark_changes(base, head)}
    otherwise = marked["create-order"].steps[0].children[1]
    assert [(c.kind, c.mark) for c in otherwise.children] == [("setHeader", ""), ("toD", "removed")]

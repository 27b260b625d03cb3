"""Object diff (masking), Camel-level diff (routes, endpoints, EIP steps) and the report."""

from __future__ import annotations

import json
from pathlib import Path

from renderers.camel_diff import camel_diff, route_shapes
from renderers.diff import ChangeKind, diff_objects, masked
from renderers.report import DiffReport
from schema.loaded import LoadedProject
from tests.unit.renderers.repos import integration, load, simple_files, write_repo


def cm(name: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "n"},
        "data": {"k": value},
    }


def secret(value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n"},
        "data": {"password": value},
    }


def test_added_removed_changed_in_order() -> None:
    changes = diff_objects([cm("a", "1"), cm("b", "1")], [cm("b", "2"), cm("c", "1")])
    assert [(c.key, c.change) for c in changes] == [
        ("/ConfigMap:n/b", ChangeKind.CHANGED),
        ("/ConfigMap:n/c", ChangeKind.ADDED),
        ("/ConfigMap:n/a", ChangeKind.REMOVED),
    ]
    assert '-  k: "1"' in changes[0].diff
    assert '+  k: "2"' in changes[0].diff


def test_no_change_no_entry() -> None:
    assert diff_objects([cm("a", "1")], [cm("a", "1")]) == []


def test_secret_values_never_reach_the_diff() -> None:
    changes = diff_objects([secret("cGxhaW4tb2xk")], [secret("cGxhaW4tbmV3")])
    assert len(changes) == 1
    assert "cGxhaW4tb2xk" not in changes[0].diff
    assert "cGxhaW4tbmV3" not in changes[0].diff
    assert "masked:" in changes[0].diff


def test_masking_keeps_equal_values_equal_and_leaves_input_alone() -> None:
    original = secret("eA==")
    assert masked(original) == masked(secret("eA=="))
    assert original["data"] == {"password": "eA=="}
    assert masked(cm("a", "1")) == cm("a", "1")


YAML_V1 = """\
- route:
    id: orders
    from:
      uri: kafka:orders
      parameters: {groupId: shop}
      steps:
        - log: got one
        - choice:
            when:
              - simple: "${body} == 'x'"
                steps:
                  - to: direct:x
        - to: http://old.example.com/api
- from:
    uri: timer:anon
    steps:
      - to: log:anon
"""

YAML_V2 = """\
- route:
    id: orders
    from:
      uri: kafka:orders
      parameters: {groupId: shop}
      steps:
        - choice:
            when:
              - simple: "${body} == 'x'"
                steps:
                  - to: direct:x
                  - marshal: {json: {}}
        - to: https://new.example.com/api
- route:
    id: audit
    from:
      uri: direct:x
      steps:
        - to: log:audit
"""

XML_ROUTE = """\
<routes xmlns="http://camel.apache.org/schema/xml-io">
  <route id="nightly">
    <from uri="timer:nightly"/>
    <filter><simple>${body} != null</simple><to uri="log:kept"/></filter>
  </route>
</routes>
"""


def project_with(
    tmp_path: Path, name: str, route_text: str, xml: str | None = None
) -> LoadedProject:
    files = {
        "integrations/orders/integration.yaml": integration(
            "orders", "routes: ['routes/*.camel.yaml', 'routes/*.camel.xml']"
        ),
        "integrations/orders/routes/orders.camel.yaml": route_text,
    }
    if xml is not None:
        files["integrations/orders/routes/nightly.camel.xml"] = xml
    return load(write_repo(tmp_path / name, files))


def test_camel_diff_reports_routes_endpoints_and_steps(tmp_path: Path) -> None:
    base = project_with(tmp_path, "base", YAML_V1)
    head = project_with(tmp_path, "head", YAML_V2)
    [item] = camel_diff(base, head)
    assert item.routes_added == ("audit",)
    assert item.routes_removed == ("orders.camel.yaml#1",)
    assert item.routes_changed == ("orders",)
    assert item.endpoints_added == ("https://new.example.com/api", "log:audit")
    assert item.endpoints_removed == ("http://old.example.com/api", "log:anon", "timer:anon")
    steps = item.steps_changed["orders"]
    assert "- log" in steps
    assert any(s.startswith("+ ") and s.strip().endswith("marshal") for s in steps)


def test_endpoint_parameters_are_part_of_the_endpoint(tmp_path: Path) -> None:
    base = project_with(tmp_path, "b", YAML_V1)
    shapes = route_shapes(base.integration("orders"))
    assert "kafka:orders?groupId=shop" in shapes["orders"].endpoints


def test_xml_routes_are_compared_too(tmp_path: Path) -> None:
    base = project_with(tmp_path, "base", YAML_V1, XML_ROUTE)
    head = project_with(tmp_path, "head", YAML_V1, XML_ROUTE.replace("log:kept", "log:kept2"))
    [item] = camel_diff(base, head)
    assert item.routes_changed == ("nightly",)
    assert item.endpoints_added == ("log:kept2",)
    assert item.steps_changed == {}  # same EIPs, only an option changed


def test_integration_removed_lists_all_its_routes(tmp_path: Path) -> None:
    base = load(write_repo(tmp_path / "b", {**simple_files("a"), **simple_files("gone")}))
    head = load(write_repo(tmp_path / "h", simple_files("a")))
    [item] = camel_diff(base, head)
    assert item.integration == "gone"
    assert item.routes_removed == ("gone",)
    assert camel_diff(head, head) == []


def test_report_text_and_json(tmp_path: Path) -> None:
    base = project_with(tmp_path, "base", YAML_V1)
    head = project_with(tmp_path, "head", YAML_V2)
    report = DiffReport("main", "pr", camel_diff(base, head), {"dev": [], "prod": []})
    text = report.format_text()
    assert "routes added: audit" in text
    assert "Environment dev: no changes" in text
    data = json.loads(report.format_json())
    assert data["changed"] is True
    assert data["camel"][0]["routes"]["changed"] == ["orders"]
    assert DiffReport("a", "b").format_text().endswith("no differences\n")

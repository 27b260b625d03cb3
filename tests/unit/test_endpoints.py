"""Endpoints as Camel's YAML loader assembles them: the forms real route files use must pass."""

from __future__ import annotations

import pytest

from schema.camel.catalog import load_catalog
from schema.camel.endpoints import assemble, check_endpoint, find_yaml_endpoints
from schema.camel.yaml_routes import validate_yaml_routes
from schema.diagnostics import Severity
from schema.limits import LoadLimits
from schema.yaml_loader import load_yaml

CATALOG = load_catalog("4.18.4")

KAOTO_STYLE = """\
- route:
    id: kaoto
    from:
      uri: jms
      parameters:
        destinationType: topic
        destinationName: orders
        concurrentConsumers: 2
      steps:
        - to:
            uri: "jslt:"
            parameters:
              resourceUri: "{{template}}"
        - to:
            uri: as2:client/send
            parameters:
              ediMessageContentType: application/edifact
              from: sender@example.com
        - to:
            uri: log
            parameters:
              loggerName: audit
              showBody: "{{show.body}}"
        - setHeader:
            name: to
            constant: "not:an-endpoint"
        - toD: "seda:${header.target}?size=10"
        - kamelet:
            name: log-sink
            parameters:
              showHeaders: true
"""


def errors_and_warnings(text: str) -> list[str]:
    doc = load_yaml(text, "kaoto.camel.yaml", LoadLimits())
    return [d.format_text() for d in validate_yaml_routes(doc, CATALOG)]


def test_kaoto_style_endpoints_pass_without_any_finding() -> None:
    assert errors_and_warnings(KAOTO_STYLE) == []


def test_endpoints_are_found_only_where_the_schema_puts_them() -> None:
    doc = load_yaml(KAOTO_STYLE, "kaoto.camel.yaml", LoadLimits())
    found = {(e.path, e.uri) for e in find_yaml_endpoints(doc.data, CATALOG)}
    uris = sorted(uri for _path, uri in found)
    assert uris == [
        "as2:client/send",
        "jms",
        "jslt:",
        "kamelet:log-sink",
        "log",
        "seda:${header.target}?size=10",
    ]
    # the `from` option of as2 and the header named `to` are no endpoints
    assert not any(uri == "sender@example.com" or uri == "not:an-endpoint" for _p, uri in found)


def test_scheme_only_uri_takes_its_path_parameters_from_parameters() -> None:
    jms = CATALOG.components["jms"]
    endpoint = assemble("jms", {"destinationName": "orders", "priority": 4}, jms)
    assert endpoint.path_values == {"destinationName": "orders"}
    assert endpoint.options == (("priority", 4, True),)
    with_path = assemble("jms:queue:orders?priority=4", {"timeToLive": 5}, jms)
    assert with_path.path == "queue:orders"
    assert with_path.options == (("priority", "4", False), ("timeToLive", 5, True))


@pytest.mark.parametrize(
    ("uri", "parameters", "expected"),
    [
        ("jms", {}, "lacks its path parameter destinationName"),
        ("log:x?showBody=maybe", {}, "option 'showBody' of 'log': expected true or false"),
        ("seda:x", {"size": "many"}, "option 'size' of 'seda': expected a whole number"),
        ("timer:", {}, "endpoint 'timer:' has an empty path"),
        ("lgo:x", {}, "unknown Camel component 'lgo'; did you mean 'log'?"),
        ("kamelet:log-snk", {}, "unknown Kamelet 'log-snk'; did you mean 'log-sink'?"),
    ],
)
def test_real_mistakes_are_errors(uri: str, parameters: dict[str, object], expected: str) -> None:
    findings = check_endpoint(uri, parameters, CATALOG)
    errors = [message for severity, message, _key in findings if severity is Severity.ERROR]
    assert any(expected in m for m in errors), findings


def test_api_method_options_are_known() -> None:
    """as2's ediMessageContentType exists only on the client/send API method."""
    assert "ediMessageContentType" in CATALOG.components["as2"].options
    findings = check_endpoint("as2:client/send?ediMessageContentType=x", {}, CATALOG)
    assert findings == []


def test_placeholders_are_never_judged() -> None:
    assert check_endpoint("log:x?showBody={{flag}}", {"level": "${header.level}"}, CATALOG) == []


def test_a_single_mapping_at_the_top_is_one_route_as_camel_loads_it() -> None:
    text = "route:\n  id: single\n  from:\n    uri: direct:a\n    steps:\n      - lgo: x\n"
    messages = errors_and_warnings(text)
    assert messages == ["kaoto.camel.yaml:6:9: error: unknown EIP step 'lgo'; did you mean 'log'?"]
    assert errors_and_warnings(text.replace("lgo", "log")) == []

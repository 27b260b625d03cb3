"""Real, published Camel routes must validate without false errors.

The Kamelet catalog shipped in the pinned @kaoto/camel-catalog package holds ~250 route templates
written by the Camel project (`from: uri: parameters: steps:`), with placeholders, expression
shorthands and scalar coercions everywhere: exactly what a naive run of camelYamlDsl.json rejects.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from schema.camel.catalog import load_catalog, supported_versions
from schema.camel.xml_routes import validate_xml_routes
from schema.camel.yaml_routes import validate_yaml_routes
from schema.diagnostics import Severity
from schema.limits import LoadLimits
from schema.yaml_loader import load_yaml

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "npm"


@cache
def kamelets(version: str) -> dict[str, Any]:
    path = CACHE / f"kamelets-{version}.json"
    assert path.exists(), f"{path} missing: `make setup` extracts it"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def kamelet_routes(template: dict[str, Any]) -> str:
    route = {"route": {"id": "published", "from": template["from"]}}
    return yaml.safe_dump([route], sort_keys=False)


# Camel 4.18 moved `transform: toType` to the `transformDataType` EIP; the Kamelet catalog in the
# package still uses the old form, so on 4.18+ exactly those steps are (rightly) reported.
REMOVED_IN_4_18 = "unknown option 'toType'"
# The Kamelet catalog tracks the newest Camel: a few Kamelets use components that an older line
# lacks (aws2-comprehend, pqc, ...) or that 4.22 replaced (github -> github2). Those are real
# incompatibilities, reported as unknown components; the DSL itself must never be rejected.
VERSION_DEPENDENT = "unknown Camel component"


@pytest.mark.parametrize("version", ["4.10.7", "4.14.9", "4.18.4", "4.22.1"])
def test_every_published_kamelet_route_validates(version: str) -> None:
    assert version in supported_versions()
    catalog = load_catalog(version)
    published = kamelets(version)
    assert len(published) > 200
    failures = []
    incompatible = 0
    for name, kamelet in sorted(published.items()):
        text = kamelet_routes(kamelet["spec"]["template"])
        doc = load_yaml(text, f"{name}.camel.yaml", LoadLimits())
        errors = [d for d in validate_yaml_routes(doc, catalog) if d.severity is Severity.ERROR]
        if version >= "4.18":
            errors = [d for d in errors if not d.message.startswith(REMOVED_IN_4_18)]
        missing = [d for d in errors if d.message.startswith(VERSION_DEPENDENT)]
        incompatible += bool(missing)
        failures += [f"{name}: {d.format_text()}" for d in errors if d not in missing]
    assert not failures, "\n".join(failures[:20])
    assert incompatible <= 10, f"{incompatible} Kamelets use components missing from {version}"


def test_published_routes_do_fail_on_a_real_mistake() -> None:
    """The same corpus with one step misspelled must fail: the check above can fail.

    The two mistakes sit in separate copies: under a misspelled step nothing is an endpoint any
    more (endpoints are found where the DSL schema puts them, never by key name).
    """
    catalog = load_catalog("4.18.4")
    template = kamelets("4.18.4")["log-action"]["spec"]["template"]
    misspelled_step = kamelet_routes(template).replace("      - to:", "      - tto:")
    misspelled_component = kamelet_routes(template).replace("uri: log:", "uri: lgo:")
    assert "- tto:" in misspelled_step
    assert "uri: lgo:" in misspelled_component
    messages = []
    for text in (misspelled_step, misspelled_component):
        doc = load_yaml(text, "log-action.camel.yaml", LoadLimits())
        messages += [d.message for d in validate_yaml_routes(doc, catalog)]
    assert any("unknown EIP step 'tto'; did you mean 'to'?" in m for m in messages), messages
    assert any("unknown Camel component 'lgo'" in m for m in messages), messages


def test_xml_starter_template_validates() -> None:
    starters = sorted(CACHE.glob("camel-catalog-*/package/dist/camel-catalog/starter-templates/*"))
    catalog = load_catalog("4.18.4")
    xml_route = next(
        p for p in starters if p.name.startswith("camel-route-") and p.suffix == ".xml"
    )
    diagnostics, consumed = validate_xml_routes(xml_route.name, xml_route.read_text(), catalog)
    assert diagnostics == []
    assert consumed

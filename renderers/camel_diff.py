"""Camel-level diff of two revisions: per integration, routes added / removed / changed, endpoint
URIs added / removed (the external systems a change touches) and the EIP steps that changed."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from lxml import etree

from schema.camel.endpoints import find_route_endpoints
from schema.camel.xml_routes import parse_xml
from schema.diagnostics import InvalidFileError
from schema.limits import DEFAULT_LIMITS
from schema.loaded import LoadedIntegration, LoadedProject, RouteDsl, RouteFile
from schema.yaml_loader import load_yaml

# Keys whose nested `steps` are branches worth naming in an outline.
_BRANCHES = frozenset({"when", "otherwise", "doCatch", "doFinally", "onWhen"})


@dataclass(frozen=True, slots=True)
class RouteShape:
    route_id: str
    fingerprint: str
    """Canonical form of the whole route: any difference means the route changed."""
    outline: tuple[str, ...]
    """EIP names in order, indented by nesting."""
    endpoints: frozenset[str]


@dataclass(frozen=True, slots=True)
class IntegrationCamelDiff:
    integration: str
    routes_added: tuple[str, ...] = ()
    routes_removed: tuple[str, ...] = ()
    routes_changed: tuple[str, ...] = ()
    endpoints_added: tuple[str, ...] = ()
    endpoints_removed: tuple[str, ...] = ()
    steps_changed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Route id -> outline lines prefixed `+ ` or `- `."""

    @property
    def empty(self) -> bool:
        return not (
            self.routes_added
            or self.routes_removed
            or self.routes_changed
            or self.endpoints_added
            or self.endpoints_removed
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "routes": {
                "added": list(self.routes_added),
                "removed": list(self.routes_removed),
                "changed": list(self.routes_changed),
            },
            "endpoints": {
                "added": list(self.endpoints_added),
                "removed": list(self.endpoints_removed),
            },
            "steps": {k: list(v) for k, v in sorted(self.steps_changed.items())},
        }


def camel_diff(
    base: LoadedProject | None, head: LoadedProject | None
) -> list[IntegrationCamelDiff]:
    """Only integrations that changed at Camel level, by name."""
    before = {i.name: i for i in (base.integrations if base else ())}
    after = {i.name: i for i in (head.integrations if head else ())}
    diffs = []
    for name in sorted(before.keys() | after.keys()):
        item = diff_integration(name, before.get(name), after.get(name))
        if not item.empty:
            diffs.append(item)
    return diffs


def diff_integration(
    name: str, base: LoadedIntegration | None, head: LoadedIntegration | None
) -> IntegrationCamelDiff:
    old = route_shapes(base) if base else {}
    new = route_shapes(head) if head else {}
    changed = sorted(r for r in old.keys() & new.keys() if old[r].fingerprint != new[r].fingerprint)
    old_uris = frozenset().union(*(r.endpoints for r in old.values()))
    new_uris = frozenset().union(*(r.endpoints for r in new.values()))
    steps = {r: _outline_diff(old[r].outline, new[r].outline) for r in changed}
    return IntegrationCamelDiff(
        integration=name,
        routes_added=tuple(sorted(new.keys() - old.keys())),
        routes_removed=tuple(sorted(old.keys() - new.keys())),
        routes_changed=tuple(changed),
        endpoints_added=tuple(sorted(new_uris - old_uris)),
        endpoints_removed=tuple(sorted(old_uris - new_uris)),
        steps_changed={r: lines for r, lines in steps.items() if lines},
    )


def _outline_diff(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(line for line in difflib.ndiff(old, new) if line[:2] in ("+ ", "- "))


def route_shapes(integration: LoadedIntegration) -> dict[str, RouteShape]:
    shapes: dict[str, RouteShape] = {}
    for route_file in integration.routes:
        found = (
            _xml_routes(route_file) if route_file.dsl is RouteDsl.XML else _yaml_routes(route_file)
        )
        for shape in found:
            shapes[shape.route_id] = shape
    return shapes


def _yaml_routes(route_file: RouteFile) -> Iterator[RouteShape]:
    try:
        data = load_yaml(route_file.content, route_file.path, DEFAULT_LIMITS).data
    except InvalidFileError:
        return  # validated already; an unreadable file simply contributes no routes
    if not isinstance(data, list):
        return
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            continue
        route = item.get("route") if "route" in item else item if "from" in item else None
        if not isinstance(route, dict):
            continue
        route_id = str(route.get("id") or f"{route_file.name}#{index}")
        yield RouteShape(
            route_id=route_id,
            fingerprint=json.dumps(route, sort_keys=True, default=str),
            outline=tuple(_yaml_outline(route.get("from"), 0)),
            endpoints=frozenset(
                _endpoint_text(e.uri, e.parameters) for e in find_route_endpoints(route)
            ),
        )


def _yaml_outline(node: Any, depth: int) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _yaml_outline(item, depth)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "steps" and isinstance(value, list):
            for step in value:
                if isinstance(step, dict) and step:
                    eip = next(iter(step))
                    yield "  " * depth + str(eip)
                    yield from _yaml_outline(step[eip], depth + 1)
        elif key in _BRANCHES:
            yield "  " * depth + key
            yield from _yaml_outline(value, depth + 1)
        elif isinstance(value, (dict, list)):
            yield from _yaml_outline(value, depth)


def _endpoint_text(uri: str, parameters: dict[str, Any]) -> str:
    if not parameters:
        return uri
    query = urlencode(sorted((str(k), str(v)) for k, v in parameters.items()))
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def _xml_routes(route_file: RouteFile) -> Iterator[RouteShape]:
    root, _ = parse_xml(route_file.path, route_file.content)
    if root is None:
        return
    routes = [e for e in root.iter(tag=etree.Element) if etree.QName(e).localname == "route"]
    for index, route in enumerate(routes):
        route_id = route.get("id") or f"{route_file.name}#{index}"
        yield RouteShape(
            route_id=route_id,
            fingerprint=etree.tostring(route, method="c14n").decode(),
            outline=tuple(_xml_outline(route, 0)),
            endpoints=frozenset(
                str(e.get("uri")) for e in route.iter(tag=etree.Element) if e.get("uri") is not None
            ),
        )


def _xml_outline(element: etree._Element, depth: int) -> Iterator[str]:
    for child in element.iterchildren(tag=etree.Element):
        name = etree.QName(child).localname
        if name in ("from", "description"):
            continue
        yield "  " * depth + name
        yield from _xml_outline(child, depth + 1)

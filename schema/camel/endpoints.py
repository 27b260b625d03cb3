"""Endpoint URIs in routes, checked against the component catalog of the project's Camel version."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from schema.camel.catalog import CamelCatalog
from schema.camel.explain import suggest
from schema.diagnostics import Severity

# EIPs whose value may be the endpoint URI itself (`- to: "log:x"`).
URI_SHORTHAND_KEYS = frozenset({"to", "toD", "wireTap", "from", "enrich", "pollEnrich", "poll"})
# Components that accept options of another component or of a template.
OPTIONS_UNCHECKED = frozenset({"kamelet", "bean", "class"})


@dataclass(frozen=True, slots=True)
class Endpoint:
    uri: str
    parameters: dict[str, Any]
    path: tuple[str | int, ...]
    consumer: bool


def find_yaml_endpoints(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[Endpoint]:
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield from find_yaml_endpoints(item, (*path, index))
        return
    if not isinstance(data, dict):
        return
    consumer = bool(path) and path[-1] == "from"
    uri = data.get("uri")
    if isinstance(uri, str):
        params = data.get("parameters")
        yield Endpoint(uri, params if isinstance(params, dict) else {}, (*path, "uri"), consumer)
    for key, value in data.items():
        if key in URI_SHORTHAND_KEYS and isinstance(value, str):
            yield Endpoint(value, {}, (*path, key), key == "from")
        elif isinstance(value, (dict, list)):
            yield from find_yaml_endpoints(value, (*path, key))


def is_dynamic(text: str) -> bool:
    return "${" in text or "{{" in text


def check_endpoint(
    uri: str, parameters: dict[str, Any], catalog: CamelCatalog
) -> list[tuple[Severity, str, str | None]]:
    """(severity, message, the offending `parameters` key or None) for one endpoint."""
    scheme, sep, rest = uri.partition(":")
    if is_dynamic(scheme):
        return []
    if not sep or not scheme:
        return [
            (Severity.ERROR, f"'{uri}' is not an endpoint URI (expected 'component:...')", None)
        ]
    component = catalog.components.get(scheme)
    if component is None:
        hint = suggest(scheme, list(catalog.components))
        return [(Severity.ERROR, f"unknown Camel component '{scheme}'{hint}", None)]
    if component.lenient or scheme in OPTIONS_UNCHECKED:
        return []
    query = rest.partition("?")[2]
    names = [(name, False) for name, _ in parse_qsl(query, keep_blank_values=True)]
    names += [(str(name), True) for name in parameters]
    findings: list[tuple[Severity, str, str | None]] = []
    for name, in_parameters in names:
        if is_dynamic(name) or name in component.options:
            continue
        if any(name.startswith(prefix) for prefix in component.prefixes):
            continue
        hint = suggest(name, list(component.options))
        message = f"unknown option '{name}' for component '{scheme}'{hint}"
        findings.append((Severity.WARNING, message, name if in_parameters else None))
    return findings

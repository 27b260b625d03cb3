"""Endpoints in routes: found where the YAML DSL schema puts one, assembled as Camel assembles them,
then checked against the component catalog of the project's Camel version.

Camel's YAML loader turns `uri:` plus `parameters:` into one endpoint URI itself: `uri: jms` with
`parameters: {destinationName: orders}` fills the path parameters of the component's syntax from
`parameters` and puts the rest in the query; `uri: jms:orders` with `parameters:` appends them all
to the query. Placeholders (`{{...}}`, `${...}`) are kept and never judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from schema.camel.catalog import (
    CamelCatalog,
    ComponentInfo,
    KameletInfo,
    OptionInfo,
    load_catalog,
    supported_versions,
)
from schema.camel.explain import shown, suggest
from schema.diagnostics import Severity

# Components that accept options of another component or of a template.
OPTIONS_UNCHECKED = frozenset({"kamelet", "bean", "class"})
KAMELET_DEFINITION = "org.apache.camel.model.KameletDefinition"
# `kamelet:source` / `kamelet:sink` are the ends of a Kamelet's own template, not Kamelets.
KAMELET_RESERVED = frozenset({"source", "sink"})

Path = tuple[str | int, ...]
Finding = tuple[Severity, str, str | None]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Camel endpoint a route file names, and where."""

    uri: str
    parameters: dict[str, Any]
    path: Path
    """Where the URI is: the `uri` key, or the EIP key for the `- to: "log:x"` shorthand."""
    consumer: bool


@dataclass(slots=True)
class _Plan:
    """One schema node with its $ref/anyOf/allOf/oneOf alternatives flattened: what is an endpoint
    here, and which schemas judge each key, list item or other key below."""

    emit: str | None = None
    """"consumer", "producer" or "kamelet" when this node is an endpoint."""
    properties: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    extra: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)


class EndpointFinder:
    """Walks a route file along the YAML DSL schema; a node is an endpoint only where the schema
    says so (a definition with `uri` and `parameters`), never because of a key's name."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema
        self.definitions: Mapping[str, Any] = schema["items"]["definitions"]
        self.endpoint_kinds: dict[int, str] = {}
        """By a definition's identity, for those reached so far (the catalog loads each
        definition on first lookup: a route file reaches a few dozen of ~260)."""
        self._plans: dict[int, _Plan] = {}

    def _definition(self, name: str) -> dict[str, Any]:
        """A definition by name, its endpoint kind noted the first time it is reached."""
        definition: dict[str, Any] = self.definitions[name]
        if id(definition) not in self.endpoint_kinds:
            kind = ""
            if name == KAMELET_DEFINITION:
                kind = "kamelet"
            elif _declares(definition, "uri") and _declares(definition, "parameters"):
                kind = "consumer" if "From" in name else "producer"
            self.endpoint_kinds[id(definition)] = kind
        return definition

    def find(self, data: Any) -> list[Endpoint]:
        found: dict[Path, Endpoint] = {}
        self._walk(self._plan(self.root), data, (), found)
        return [found[p] for p in sorted(found, key=_path_order)]

    def find_in_route(self, route: Any) -> list[Endpoint]:
        """Endpoints of one route body (the value under `- route:`)."""
        definition = self._definition("org.apache.camel.model.RouteDefinition")
        found: dict[Path, Endpoint] = {}
        self._walk(self._plan(definition), route, (), found)
        return [found[p] for p in sorted(found, key=_path_order)]

    def _plan(self, schema: dict[str, Any]) -> _Plan:
        plan = self._plans.get(id(schema))
        if plan is not None:
            return plan
        plan = self._plans[id(schema)] = _Plan()
        for node in self._alternatives(schema):
            plan.emit = plan.emit or self.endpoint_kinds.get(id(node)) or None
            for key, sub in node.get("properties", {}).items():
                _add(plan.properties.setdefault(key, []), sub)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                _add(plan.extra, extra)
            items = node.get("items")
            if isinstance(items, dict):
                _add(plan.items, items)
        return plan

    def _alternatives(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The schema and every schema that judges the same value ($ref, anyOf, allOf, oneOf)."""
        found: list[dict[str, Any]] = []
        seen: set[int] = set()  # by identity: equal subschemas at two places are both walked
        pending = [schema]
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            found.append(node)
            ref = node.get("$ref")
            if isinstance(ref, str):
                pending.append(self._definition(ref.rsplit("/", 1)[-1]))
            for keyword in ("anyOf", "allOf", "oneOf"):
                pending += [b for b in node.get(keyword, ()) if isinstance(b, dict)]
        return found

    def _walk(self, plan: _Plan, data: Any, path: Path, found: dict[Path, Endpoint]) -> None:
        if plan.emit is not None:
            _emit(found, data, path, plan.emit)
        if isinstance(data, dict):
            for key, value in data.items():
                if not isinstance(value, (dict, list, str)):
                    continue
                for sub in plan.properties.get(key, plan.extra):
                    child = self._plan(sub)
                    if isinstance(value, str) and child.emit is None:
                        continue  # a plain scalar: only an endpoint shorthand matters here
                    self._walk(child, value, (*path, key), found)
        elif isinstance(data, list):
            for sub in plan.items:
                child = self._plan(sub)
                for index, item in enumerate(data):
                    self._walk(child, item, (*path, index), found)


def _add(schemas: list[dict[str, Any]], schema: dict[str, Any]) -> None:
    if not any(schema is known for known in schemas):
        schemas.append(schema)


def _declares(definition: dict[str, Any], name: str) -> bool:
    if name in definition.get("properties", {}):
        return True
    branches = [*definition.get("anyOf", ()), *definition.get("oneOf", ())]
    return any(name in b.get("properties", {}) for b in branches if isinstance(b, dict))


def _emit(found: dict[Path, Endpoint], data: Any, path: Path, kind: str) -> None:
    if kind == "kamelet":
        _emit_kamelet(found, data, path)
    elif isinstance(data, str):
        found.setdefault(path, Endpoint(data, {}, path, kind == "consumer"))
    elif isinstance(data, dict) and isinstance(data.get("uri"), str):
        params = data.get("parameters")
        params = params if isinstance(params, dict) else {}
        endpoint = Endpoint(data["uri"], params, (*path, "uri"), kind == "consumer")
        found.setdefault(path, endpoint)


def _emit_kamelet(found: dict[Path, Endpoint], data: Any, path: Path) -> None:
    """`- kamelet: name?x=y` or `- kamelet: {name: ..., parameters: ...}` is `kamelet:name`."""
    if isinstance(data, str):
        found.setdefault(path, Endpoint(f"kamelet:{data}", {}, path, False))
    elif isinstance(data, dict) and isinstance(data.get("name"), str):
        params = data.get("parameters")
        params = params if isinstance(params, dict) else {}
        uri = f"kamelet:{data['name']}"
        found.setdefault(path, Endpoint(uri, params, (*path, "name"), False))


def _path_order(path: Path) -> tuple[tuple[int, str], ...]:
    return tuple((p, "") if isinstance(p, int) else (-1, p) for p in path)


_FINDERS: dict[str, EndpointFinder] = {}


def endpoint_finder(catalog: CamelCatalog) -> EndpointFinder:
    finder = _FINDERS.get(catalog.version)
    if finder is None:
        finder = _FINDERS[catalog.version] = EndpointFinder(catalog.yaml_dsl_schema)
    return finder


def find_yaml_endpoints(data: Any, catalog: CamelCatalog) -> list[Endpoint]:
    """Every endpoint of a YAML DSL file (its top-level list)."""
    return endpoint_finder(catalog).find(data)


def find_route_endpoints(route: Any, catalog: CamelCatalog | None = None) -> list[Endpoint]:
    """Endpoints of one route body (the value under `- route:`). Where the DSL puts endpoints
    does not change between the supported Camel lines: any catalog already loaded serves (the
    validation that ran before has loaded one), else the newest."""
    if catalog is not None:
        return endpoint_finder(catalog).find_in_route(route)
    finder = next(iter(_FINDERS.values()), None)
    if finder is None:
        finder = endpoint_finder(load_catalog(supported_versions()[-1]))
    return finder.find_in_route(route)


def is_dynamic(text: str) -> bool:
    return "${" in text or "{{" in text


# --- assembly ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assembled:
    """An endpoint as Camel's YAML loader builds it: scheme, path and options with their origin."""

    scheme: str
    path: str
    path_values: dict[str, Any]
    """Path parameters taken from `parameters:` (when `uri:` is the scheme alone)."""
    options: tuple[tuple[str, Any, bool], ...]
    """(name, value, came from `parameters:`)."""


def assemble(uri: str, parameters: dict[str, Any], component: ComponentInfo | None) -> Assembled:
    scheme, sep, rest = uri.partition(":")
    path, _, query = rest.partition("?")
    options = [(name, value, False) for name, value in parse_qsl(query, keep_blank_values=True)]
    path_values: dict[str, Any] = {}
    remaining = dict(parameters)
    if not sep and component is not None and parameters:
        # `uri: jms` + parameters: the path parameters of the syntax come out of `parameters`
        for option in component.path:
            if option.name in remaining:
                path_values[option.name] = remaining.pop(option.name)
    options += [(str(name), value, True) for name, value in remaining.items()]
    return Assembled(scheme, path, path_values, tuple(options))


def check_endpoint(
    uri: str,
    parameters: dict[str, Any],
    catalog: CamelCatalog,
    kamelets: Mapping[str, KameletInfo] | None = None,
) -> list[Finding]:
    """(severity, message, the offending `parameters` key or None) for one endpoint.
    `kamelets`: the project's own Kamelets, known beside the catalog's."""
    scheme = uri.partition(":")[0]
    if is_dynamic(scheme):
        return []
    if not scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        message = f"{shown(uri)} is not an endpoint URI (expected 'component:...')"
        return [(Severity.ERROR, message, None)]
    component = catalog.components.get(scheme)
    if component is None:
        hint = suggest(scheme, list(catalog.components))
        return [(Severity.ERROR, f"unknown Camel component '{scheme}'{hint}", None)]
    endpoint = assemble(uri, parameters, component)
    findings = _check_path(uri, endpoint, component)
    if scheme == "kamelet":
        findings += check_kamelet(endpoint, kamelets or {}, catalog.kamelets)
    if scheme in OPTIONS_UNCHECKED:
        return findings
    # A path parameter is a bean property of the endpoint too: `uri: "jslt:"` with
    # `parameters: {resourceUri: ...}` is how the published Kamelets write it.
    path_options = {option.name: option for option in component.path}
    for name, value, in_parameters in endpoint.options:
        key = name if in_parameters else None
        option = component.options.get(name) or path_options.get(name)
        if option is None:
            if component.lenient or is_dynamic(name):
                continue
            if any(name.startswith(prefix) for prefix in component.prefixes):
                continue
            hint = suggest(name, list(component.options))
            message = f"unknown option '{name}' for component '{scheme}'{hint}"
            findings.append((Severity.WARNING, message, key))
            continue
        problem = check_value(option, value)
        if problem:
            severity, text = problem
            findings.append((severity, f"option '{name}' of '{scheme}': {text}", key))
    return findings


def _check_path(uri: str, endpoint: Assembled, component: ComponentInfo) -> list[Finding]:
    scheme = endpoint.scheme
    given = {name for name, _value, _origin in endpoint.options}
    if ":" in uri:
        if (
            component.required_path
            and not endpoint.path.removeprefix("//")
            and not component.required_path <= given
        ):
            names = ", ".join(sorted(component.required_path - given))
            message = f"endpoint '{scheme}:' has an empty path; '{component.syntax}' needs {names}"
            return [(Severity.ERROR, message, None)]
        return []
    missing = sorted(component.required_path - endpoint.path_values.keys() - given)
    if missing:
        message = (
            f"endpoint '{scheme}' lacks its path parameter{'s' * (len(missing) > 1)} "
            f"{', '.join(missing)} (syntax '{component.syntax}'): write it in the uri or under "
            "parameters"
        )
        return [(Severity.ERROR, message, None)]
    findings: list[Finding] = []
    for option in component.path:
        if option.name in endpoint.path_values:
            problem = check_value(option, endpoint.path_values[option.name])
            if problem:
                text = f"path parameter '{option.name}' of '{scheme}': {problem[1]}"
                findings.append((problem[0], text, option.name))
    return findings


def check_kamelet(
    endpoint: Assembled, project: Mapping[str, KameletInfo], catalog: Mapping[str, KameletInfo]
) -> list[Finding]:
    """A Kamelet reference: a Kamelet of the project or the catalog (the project's first: a file
    named like a catalog Kamelet replaces it), its required properties."""
    name = endpoint.path.split("/", 1)[0] or str(endpoint.path_values.get("templateId", ""))
    if not name or is_dynamic(name) or name in KAMELET_RESERVED:
        return []
    kamelet = project.get(name) or catalog.get(name)
    if kamelet is None:
        hint = suggest(name, [*project, *catalog])
        return [(Severity.ERROR, f"unknown Kamelet '{name}'{hint}", None)]
    given = {name for name, _value, _origin in endpoint.options}
    findings: list[Finding] = []
    for required in kamelet.required:
        if required not in given:
            # It may still come from the properties (camel.kamelet.<name>.<property>): warn.
            message = (
                f"Kamelet '{name}' needs its required property '{required}' (unless set as "
                f"camel.kamelet.{name}.{required} in the properties)"
            )
            findings.append((Severity.WARNING, message, None))
    for option, _value, in_parameters in endpoint.options:
        if option not in kamelet.properties and not is_dynamic(option):
            hint = suggest(option, kamelet.properties)
            message = f"unknown property '{option}' for Kamelet '{name}'{hint}"
            findings.append((Severity.WARNING, message, option if in_parameters else None))
    return findings


# --- option values -------------------------------------------------------------------------

_INTEGER = re.compile(r"[-+]?\d+")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# Camel's duration syntax: plain milliseconds, or amounts with d/h/m/s/ms units ("1m30s"), or ISO.
_DURATION = re.compile(r"\d+|((\d+)\s*(ms|millis|d|h|m|s|days?|hours?|minutes?|seconds?)\s*)+")
_ISO_DURATION = re.compile(r"P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?", re.IGNORECASE)


def check_value(option: OptionInfo, value: Any) -> tuple[Severity, str] | None:
    """Does Camel convert this value to the option's type? None when yes or it cannot be told."""
    if isinstance(value, (dict, list)) or value is None:
        return None
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if is_dynamic(text) or text.startswith(("#", "RAW(", "RAW{")):
        return None
    if option.enum:
        if text.lower() in {v.lower() for v in option.enum}:
            return None
        # A warning: the catalog's lists lag behind some Java enums (azure-storage-datalake lists
        # 2 of its operations), and a String-typed option only documents its values.
        return (Severity.WARNING, f"expected one of {', '.join(option.enum)}; found {shown(value)}")
    rule = _VALUE_RULES.get(option.type)
    if rule is None or rule[0](text.strip()):
        return None
    return (rule[1], f"expected {rule[2]}; found {shown(value)}")


def _is_duration(text: str) -> bool:
    plain = text.lower()
    return bool(_DURATION.fullmatch(plain) or _ISO_DURATION.fullmatch(plain))


# type -> (accepts the text, severity when not, what was expected). A duration only warns: Camel's
# own parser accepts a few spellings beyond these.
_VALUE_RULES: dict[str, tuple[Callable[[str], bool], Severity, str]] = {
    "boolean": (lambda t: t.lower() in ("true", "false"), Severity.ERROR, "true or false"),
    "integer": (lambda t: bool(_INTEGER.fullmatch(t)), Severity.ERROR, "a whole number"),
    "number": (lambda t: bool(_NUMBER.fullmatch(t)), Severity.ERROR, "a number"),
    "duration": (_is_duration, Severity.WARNING, "a duration (e.g. 5000, 5s, 1m30s)"),
}

"""An integration's routes as trees of steps keyed by the processor ids Camel gives them.

The route diagram is keyed on these ids so that the live counters the sidecar reads from Camel's
processor MBeans (and the node ids of traced exchanges) land on the right box. An explicit `id`
is used as written. Otherwise Camel's default node id factory names a step after its EIP and a
counter per EIP name over the whole CamelContext (`log1`, `log2`, `to1`, ...), handed out while
the routes are built: route by route in the order they are loaded, the `from` first, then the
route's exception handlers, then the steps depth-first (`choice1`, `when1`, its steps,
`otherwise1`, ...). Routes without an id are `route1`, `route2`, ... in the same way. The e2e test
`tests/e2e/camel/test_route_ids_match.py` checks this against a running Camel started the way
the renderers start it (route files listed by name: a glob would load them in directory order).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Any

from lxml import etree

from renderers.kubernetes.config import route_keys
from schema.camel.xml_routes import parse_xml
from schema.diagnostics import InvalidFileError
from schema.limits import DEFAULT_LIMITS
from schema.loaded import LoadedIntegration, RouteDsl, RouteFile
from schema.yaml_loader import load_yaml

# Keys of a step that hold further steps as their own processors (a `when` is a processor with
# outputs in Camel's model, as are the catch and finally blocks of a doTry).
BRANCH_KEYS = ("when", "otherwise", "doCatch", "doFinally", "onFallback")
# Options that say what a step does, in order of preference, for its one-line label.
_LABEL_KEYS = ("uri", "message", "name", "ref", "exception", "simple", "constant", "expression")
# XML children that are options or expressions, never processors.
_XML_NOT_STEPS = frozenset({"description", "from", "exception", "handled", "continued", "onWhen"})
_XML_EXPRESSIONS = frozenset(
    {"simple", "constant", "header", "exchangeProperty", "jsonpath", "xpath", "groovy", "method"}
)
_HANDLERS = ("onException", "onCompletion", "intercept", "interceptFrom", "interceptSendToEndpoint")


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    """The EIP as Camel names it: `from`, `log`, `to`, `choice`, `when`, `doTry`..."""
    node_id: str
    label: str
    """What the step does in one line (a URI, a message, an expression): untrusted text."""
    config: str
    """Canonical form of the step's own options, without its children: a change marks it."""
    children: tuple[Step, ...] = ()
    explicit: bool = False
    mark: str = ""
    """On a preview: `added`, `removed`, `changed` or empty."""

    def walk(self) -> Iterator[Step]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class RouteTree:
    route_id: str
    source: str
    """The route file, repository-relative."""
    start: Step
    handlers: tuple[Step, ...] = ()
    """Route-scoped exception handlers and the like: drawn apart from the flow."""
    steps: tuple[Step, ...] = ()
    mark: str = ""

    def walk(self) -> Iterator[Step]:
        yield self.start
        for step in (*self.handlers, *self.steps):
            yield from step.walk()


@dataclass
class _Ids:
    """Camel's per-EIP counters over one CamelContext."""

    counters: Counter[str] = field(default_factory=Counter)

    def next(self, kind: str) -> str:
        self.counters[kind] += 1
        return f"{kind}{self.counters[kind]}"


def integration_routes(integration: LoadedIntegration) -> tuple[RouteTree, ...]:
    """Every route of the integration, in the order Camel loads its files: the order the
    renderers list them in (`renderers.properties.route_includes`, by mounted file name)."""
    ids = _Ids()
    routes: list[RouteTree] = []
    keys = route_keys(integration)
    for route_file in sorted(integration.routes, key=lambda f: keys[f.path]):
        if route_file.dsl is RouteDsl.XML:
            routes.extend(_xml_file(route_file, ids))
        else:
            routes.extend(_yaml_file(route_file, ids))
    return tuple(routes)


# --- YAML DSL -------------------------------------------------------------------------------


def _yaml_file(route_file: RouteFile, ids: _Ids) -> Iterator[RouteTree]:
    try:
        data = load_yaml(route_file.content, route_file.path, DEFAULT_LIMITS).data
    except InvalidFileError:
        return  # validated already: an unreadable file contributes no routes
    if not isinstance(data, list):
        return
    # a top-level onException applies to the routes of its file; Camel builds it with the first
    handlers = [item["onException"] for item in data if _single(item) == "onException"]
    for item in data:
        key = _single(item)
        if key == "route" and isinstance(item[key], dict):
            yield _yaml_route(item[key], route_file, ids, handlers)
            handlers = []  # built once, with the first route of the file
        elif key == "from" and isinstance(item[key], dict):
            yield _yaml_route({"from": item[key]}, route_file, ids, handlers)
            handlers = []


def _single(item: Any) -> str | None:
    return str(next(iter(item))) if isinstance(item, dict) and len(item) == 1 else None


def _yaml_route(
    route: dict[str, Any], route_file: RouteFile, ids: _Ids, shared: list[Any]
) -> RouteTree:
    explicit = route.get("id")
    route_id = str(explicit) if _is_id(explicit) else ids.next("route")
    start_body = route.get("from") if isinstance(route.get("from"), dict) else {}
    assert isinstance(start_body, dict)
    start = _yaml_step("from", start_body, ids, with_children=False)
    handlers = tuple(_yaml_step("onException", body, ids) for body in shared)
    own = [s for s in _as_list(start_body.get("steps")) if _single(s) in _HANDLERS]
    handlers += tuple(_yaml_item(s, ids) for s in own)
    steps = tuple(
        _yaml_item(s, ids) for s in _as_list(start_body.get("steps")) if _single(s) not in _HANDLERS
    )
    return RouteTree(route_id, route_file.path, start, handlers, steps)


def _yaml_item(item: Any, ids: _Ids) -> Step:
    key = _single(item)
    if key is None:
        return Step("unknown", ids.next("unknown"), "", json.dumps(item, default=str))
    return _yaml_step(key, item[key], ids)


def _yaml_step(kind: str, body: Any, ids: _Ids, *, with_children: bool = True) -> Step:
    options = body if isinstance(body, dict) else {}
    explicit = options.get("id")
    node_id = str(explicit) if _is_id(explicit) else ids.next(kind)
    children: list[Step] = []
    if with_children:
        for step in _as_list(options.get("steps")):
            children.append(_yaml_item(step, ids))
        for branch in BRANCH_KEYS:
            for entry in _as_list(options.get(branch)):
                children.append(_yaml_step(branch, entry, ids))
    own = {k: v for k, v in options.items() if k not in ("steps", *BRANCH_KEYS)}
    if not isinstance(body, dict):
        own = {"": body}
    return Step(
        kind=kind,
        node_id=node_id,
        label=_label(own),
        config=json.dumps(own, sort_keys=True, default=str),
        children=tuple(children),
        explicit=_is_id(explicit),
    )


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != ""


def _label(options: dict[str, Any]) -> str:
    if "" in options:
        return _text(options[""])
    for key in _LABEL_KEYS:
        if key in options:
            value = options[key]
            if key == "uri" and isinstance(options.get("parameters"), dict):
                query = "&".join(f"{k}={v}" for k, v in sorted(options["parameters"].items()))
                return f"{value}?{query}" if query else _text(value)
            return _text(value)
    for value in options.values():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return _text(value)
        if isinstance(value, dict):
            inner = _label(value)
            if inner:
                return inner
    return ""


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return _label(value)
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return " ".join(str(value).split())


# --- XML DSL --------------------------------------------------------------------------------


def _xml_file(route_file: RouteFile, ids: _Ids) -> Iterator[RouteTree]:
    root, _ = parse_xml(route_file.path, route_file.content)
    if root is None:
        return
    for route in root.iter(tag=etree.Element):
        if etree.QName(route).localname != "route":
            continue
        explicit = route.get("id")
        route_id = explicit if explicit else ids.next("route")
        start_el = next(
            (c for c in route.iterchildren(tag=etree.Element) if _local(c) == "from"), None
        )
        start = Step(
            "from",
            (start_el.get("id") if start_el is not None else None) or ids.next("from"),
            str(start_el.get("uri") or "") if start_el is not None else "",
            _xml_config(start_el),
            explicit=start_el is not None and bool(start_el.get("id")),
        )
        children = [c for c in route.iterchildren(tag=etree.Element) if _is_xml_step(c)]
        handlers = tuple(_xml_step(c, ids) for c in children if _local(c) in _HANDLERS)
        steps = tuple(_xml_step(c, ids) for c in children if _local(c) not in _HANDLERS)
        yield RouteTree(route_id, route_file.path, start, handlers, steps)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _is_xml_step(element: etree._Element) -> bool:
    name = _local(element)
    return name not in _XML_NOT_STEPS and name not in _XML_EXPRESSIONS and name != "route"


def _xml_step(element: etree._Element, ids: _Ids) -> Step:
    kind = _local(element)
    explicit = element.get("id")
    node_id = explicit or ids.next(kind)
    children = tuple(
        _xml_step(c, ids) for c in element.iterchildren(tag=etree.Element) if _is_xml_step(c)
    )
    attributes: dict[str, Any] = {str(k): str(v) for k, v in element.attrib.items() if k != "id"}
    expression = next(
        (
            " ".join((c.text or "").split())
            for c in element.iterchildren(tag=etree.Element)
            if _local(c) in _XML_EXPRESSIONS
        ),
        "",
    )
    label = _label(attributes) or expression
    return Step(kind, node_id, label, _xml_config(element), children, explicit=bool(explicit))


def _xml_config(element: etree._Element | None) -> str:
    if element is None:
        return ""
    own: dict[str, Any] = {str(k): str(v) for k, v in element.attrib.items()}
    own["#"] = [
        etree.tostring(c, method="c14n").decode()
        for c in element.iterchildren(tag=etree.Element)
        if not _is_xml_step(c) and _local(c) != "from"
    ]
    return json.dumps(own, sort_keys=True)


# --- preview marks --------------------------------------------------------------------------


def mark_changes(base: tuple[RouteTree, ...], head: tuple[RouteTree, ...]) -> tuple[RouteTree, ...]:
    """The head's routes with each step marked added or changed, and the base's steps it
    removed put back in place marked removed (whole removed routes come last)."""
    before = {r.route_id: r for r in base}
    merged: list[RouteTree] = []
    for route in head:
        old = before.pop(route.route_id, None)
        if old is None:
            merged.append(_all(route, "added"))
            continue
        start = _compare(old.start, route.start)
        merged.append(
            RouteTree(
                route.route_id,
                route.source,
                replace(start, children=()),
                _merge(old.handlers, route.handlers),
                _merge(old.steps, route.steps),
            )
        )
    merged.extend(_all(r, "removed") for r in before.values())
    return tuple(merged)


def _all(route: RouteTree, mark: str) -> RouteTree:
    return RouteTree(
        route.route_id,
        route.source,
        _mark_tree(route.start, mark),
        tuple(_mark_tree(s, mark) for s in route.handlers),
        tuple(_mark_tree(s, mark) for s in route.steps),
        mark,
    )


def _mark_tree(step: Step, mark: str) -> Step:
    return replace(step, mark=mark, children=tuple(_mark_tree(c, mark) for c in step.children))


def _key(step: Step) -> tuple[str, str]:
    """Steps align by EIP and explicit id: generated ids shift when a step is inserted."""
    return (step.kind, step.node_id if step.explicit else "")


def _compare(old: Step, new: Step) -> Step:
    mark = "changed" if old.config != new.config else ""
    return replace(new, mark=mark, children=_merge(old.children, new.children))


def _merge(old: tuple[Step, ...], new: tuple[Step, ...]) -> tuple[Step, ...]:
    matcher = SequenceMatcher(None, [_key(s) for s in old], [_key(s) for s in new], autojunk=False)
    out: list[Step] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(_compare(a, b) for a, b in zip(old[i1:i2], new[j1:j2], strict=True))
            continue
        out.extend(_mark_tree(s, "removed") for s in old[i1:i2])
        out.extend(_mark_tree(s, "added") for s in new[j1:j2])
    return tuple(out)

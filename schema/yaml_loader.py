"""Safe YAML loading: libyaml speed, YAML 1.2 core scalars, duplicate keys and alias bombs refused.

libyaml composes the node graph in C; we walk it once (duplicate keys, expanded size, depth,
recursive aliases) before constructing plain data. The node graph is kept so that file:line:col
can be looked up for any JSON pointer, but only when there is something to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.cyaml import CParser  # type: ignore[attr-defined]
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schema.diagnostics import Diagnostic, InvalidFileError, Severity
from schema.limits import LoadLimits


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema, as Camel's snakeyaml-engine reads it: `yes`, `on`, `0644` and
    `2024-01-01` stay strings or decimal; no merge keys, no sexagesimal numbers."""


_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class _DataError(yaml.constructor.ConstructorError):
    """Well-formed YAML that is not acceptable data: reported without the 'invalid YAML' prefix."""


MAX_INT_DIGITS = 64
"""Longer integers are refused as data: nothing in a config needs them, and Python refuses to
convert thousands of digits (a crash instead of a report)."""


class _CoreConstructor(yaml.constructor.SafeConstructor):
    def construct_core_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        if len(text.lstrip("+-")) > MAX_INT_DIGITS:
            raise _DataError(
                None,
                None,
                f"an integer of {len(text)} characters is out of range (at most "
                f"{MAX_INT_DIGITS} digits; no setting takes more than 64 bits)",
                node.start_mark,
            )
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse duplicate keys (PyYAML keeps the last one silently) and non-scalar keys."""
        seen: dict[str, Node] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _DataError(
                    None, None, "mapping keys must be plain scalars", key_node.start_mark
                )
            first = seen.setdefault(key_node.value, key_node)
            if first is not key_node:
                line = first.start_mark.line + 1
                raise _DataError(
                    None,
                    None,
                    f"duplicate key '{key_node.value}' (first defined on line {line})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)

    def construct_core_bool(self, node: ScalarNode) -> bool:
        return str(self.construct_scalar(node)).lower() == "true"


_CoreConstructor.add_constructor("tag:yaml.org,2002:int", _CoreConstructor.construct_core_int)  # type: ignore[type-var]
_CoreConstructor.add_constructor("tag:yaml.org,2002:bool", _CoreConstructor.construct_core_bool)  # type: ignore[type-var]


def _reject_tag(_loader: _CoreConstructor, node: Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {node.tag} is not allowed (plain YAML 1.2 data only)", node.start_mark
    )


for _tag in ("timestamp", "binary", "set", "omap", "pairs"):
    _CoreConstructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _reject_tag)  # type: ignore[type-var]


class _Loader(CParser, _CoreConstructor, _CoreResolver):
    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        _CoreConstructor.__init__(self)
        _CoreResolver.__init__(self)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """Plain data plus the node graph that knows where everything came from."""

    path: str
    data: Any
    root: Node | None

    def locate(
        self, parts: tuple[str | int, ...] | list[str | int], at_key: bool = False
    ) -> tuple[int, int]:
        """1-based (line, col) of the value (or key) at a path; the nearest parent if absent."""
        node = self.root
        if node is None:
            return (1, 1)
        mark = node.start_mark
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            child, key_node = _child(node, part)
            if child is None:
                break
            mark = key_node.start_mark if (last and at_key and key_node) else child.start_mark
            node = child
        return (mark.line + 1, mark.column + 1)


def _child(node: Node, part: str | int) -> tuple[Node | None, Node | None]:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                return value_node, key_node
    elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], None
    return None, None


def _error(path: str, node: Node, message: str, code: str) -> InvalidFileError:
    mark = node.start_mark
    diag = Diagnostic(path, mark.line + 1, mark.column + 1, Severity.ERROR, message, code=code)
    return InvalidFileError([diag])


class _GraphCheck:
    """One pass over the composed graph: duplicate keys, depth, recursion, expanded size."""

    def __init__(self, path: str, limits: LoadLimits) -> None:
        self.path = path
        self.limits = limits
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()

    def size(self, node: Node, depth: int) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.active:
            raise _error(
                self.path, node, "recursive alias: an anchor refers to itself", "yaml-alias"
            )
        if depth > self.limits.max_yaml_depth:
            raise _error(
                self.path,
                node,
                f"nesting deeper than {self.limits.max_yaml_depth} levels",
                "yaml-depth",
            )
        self.active.add(id(node))
        total = 1 + sum(self.size(child, depth + 1) for child in self._children(node))
        self.active.discard(id(node))
        if total > self.limits.max_yaml_nodes:
            raise _error(
                self.path,
                node,
                f"document expands to more than {self.limits.max_yaml_nodes} nodes "
                "(anchors and aliases multiply content; is this a YAML bomb?)",
                "yaml-bomb",
            )
        self.sizes[id(node)] = total
        return total

    def _children(self, node: Node) -> list[Node]:
        if isinstance(node, SequenceNode):
            return list(node.value)
        if not isinstance(node, MappingNode):
            return []
        seen: dict[str, Node] = {}
        children: list[Node] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _error(self.path, key_node, "mapping keys must be plain scalars", "yaml-key")
            first = seen.get(key_node.value)
            if first is not None:
                line = first.start_mark.line + 1
                raise _error(
                    self.path,
                    key_node,
                    f"duplicate key '{key_node.value}' (first defined on line {line})",
                    "yaml-duplicate-key",
                )
            seen[key_node.value] = key_node
            children += (key_node, value_node)
        return children


_INDENT = re.compile(r"^[ \t]*", re.MULTILINE)


def _needs_graph_check(text: str, limits: LoadLimits) -> bool:
    """Cheap proof that a document is harmless: no anchors (so no aliases to expand) and too few
    brackets plus indentation to nest past the limit. Anything else gets the full walk."""
    if "&" in text:
        return True
    flow = text.count("[") + text.count("{")
    indent = max((len(m) for m in _INDENT.findall(text)), default=0)
    return flow + indent + 1 > limits.max_yaml_depth


def load_yaml(text: str, path: str, limits: LoadLimits) -> YamlDocument:
    """Parse one YAML document; raise InvalidFileError with file:line:col on anything unsafe."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return YamlDocument(path, None, None)
        if _needs_graph_check(text, limits):
            _GraphCheck(path, limits).size(root, 0)
        data = loader.construct_document(root)
    except _DataError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        diag = Diagnostic(path, line, col, Severity.ERROR, str(exc.problem), code="yaml-data")
        raise InvalidFileError([diag]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        diag = Diagnostic(path, line, col, Severity.ERROR, f"invalid YAML: {message}", code="yaml")
        raise InvalidFileError([diag]) from exc
    except yaml.YAMLError as exc:
        diag = Diagnostic(path, 0, 0, Severity.ERROR, f"invalid YAML: {exc}", code="yaml")
        raise InvalidFileError([diag]) from exc
    finally:
        loader.dispose()
    return YamlDocument(path, data, root)

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

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """BaseResolver's answer without its path-resolver bookkeeping (none are registered):
        libyaml asks once per node, the most frequent call of a load."""
        if kind is ScalarNode:
            if implicit[0]:
                for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        return tag  # type: ignore[no-any-return]
            return self.DEFAULT_SCALAR_TAG
        if kind is SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return self.DEFAULT_MAPPING_TAG


_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])


class _DataError(yaml.constructor.ConstructorError):
    """Well-formed YAML that is not acceptable data: reported without the 'invalid YAML' prefix."""


MAX_INT_DIGITS = 64
"""Longer integers are refused as data: nothing in a config needs them, and Python refuses to
convert thousands of digits (a crash instead of a report)."""


def _not_a(what: str, node: ScalarNode) -> _DataError:
    """An explicit tag (`!!int abc`) skips the resolver's grammar check: refuse, never crash.
    The value is not echoed: it could be a secret typed in the wrong place."""
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return _DataError(None, None, f"the value tagged {tag} is not {what}", node.start_mark)


class _CoreConstructor(yaml.constructor.SafeConstructor):
    def construct_core_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        if not _INT.fullmatch(text):
            raise _not_a("a YAML 1.2 integer (like 42, -7, 0o17 or 0x1f)", node)
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
        text = str(self.construct_scalar(node))
        if not _BOOL.fullmatch(text):
            raise _not_a("a YAML 1.2 boolean (true or false)", node)
        return text.lower() == "true"

    def construct_core_float(self, node: ScalarNode) -> float:
        text = str(self.construct_scalar(node))
        if not _FLOAT.fullmatch(text):
            raise _not_a("a YAML 1.2 number (like 1.5, -2e3, .inf or .nan)", node)
        return float(self.construct_yaml_float(node))

    def construct_core_null(self, node: ScalarNode) -> None:
        if not _NULL.fullmatch(str(self.construct_scalar(node))):
            raise _not_a("a YAML 1.2 null (~, null or nothing)", node)


for _tag, _constructor in (
    ("int", _CoreConstructor.construct_core_int),
    ("bool", _CoreConstructor.construct_core_bool),
    ("float", _CoreConstructor.construct_core_float),
    ("null", _CoreConstructor.construct_core_null),
):
    _CoreConstructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _constructor)  # type: ignore[type-var]


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


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _NotPlain(Exception):
    """The document holds something the plain builder leaves to PyYAML's constructor."""


class _PlainBuilder:
    """Builds plain data from the composed graph in a fraction of the time PyYAML's constructor
    takes (a whole load: 0.63x, bench/RESULTS.md); plain data never needs its generic machinery
    (state generators, recursion bookkeeping, merge keys). Scalars go through the constructor's
    own conversions; a document with anything else (another tag, a non-scalar or repeated key,
    a refused value) is handed to the constructor whole, so what it refuses, and how, stays in
    one place."""

    def __init__(self, loader: _Loader, shared: bool) -> None:
        self.loader = loader
        tags = loader.yaml_constructors
        self.scalars = {tag: tags[tag] for tag in _SCALAR_TAGS}
        # an alias is the same node twice: built once, the same object both times, as PyYAML
        self.built: dict[int, Any] | None = {} if shared else None

    def document(self, root: Node) -> Any:
        try:
            return self.value(root)
        except (_NotPlain, yaml.YAMLError):
            # the constructor checks a mapping's keys before its values: it says which error
            # comes first, as it did before the builder. (The builder recurses: the depth limit,
            # proven or walked above, keeps it far from Python's recursion limit.)
            return self.loader.construct_document(root)

    def value(self, node: Node) -> Any:
        built = self.built
        if built is not None:
            known = built.get(id(node), built)
            if known is not built:
                return known
        kind = type(node)
        tag = node.tag
        result: Any
        if kind is ScalarNode:
            if tag == _STR:
                result = node.value
            else:
                convert = self.scalars.get(tag)
                if convert is None:
                    raise _NotPlain
                result = convert(self.loader, node)
        elif isinstance(node, MappingNode) and tag == _MAP:
            result = self.mapping(node)
        elif kind is SequenceNode and tag == _SEQ:
            result = [self.value(child) for child in node.value]
        else:
            raise _NotPlain
        if built is not None:
            built[id(node)] = result
        return result

    def mapping(self, node: MappingNode) -> dict[str, Any]:
        result: dict[str, Any] = {}
        value = self.value
        for key_node, value_node in node.value:
            # string keys only: their text is the key, so a repeated key is a repeated text
            if type(key_node) is not ScalarNode or key_node.tag != _STR:
                raise _NotPlain
            key = key_node.value
            if key in result:
                raise _NotPlain
            result[key] = value(value_node)
        return result


_SCALAR_TAGS = tuple(f"tag:yaml.org,2002:{t}" for t in ("int", "bool", "float", "null"))


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
        may_alias = _needs_graph_check(text, limits)
        if may_alias:
            _GraphCheck(path, limits).size(root, 0)
        data = _PlainBuilder(loader, shared=may_alias).document(root)
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

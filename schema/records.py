"""Config records: the config models' values built without pydantic, for one-shot commands.

`camelops render` and `camelops validate` run as a process per invocation, and importing
pydantic and building the config models was about half of a render of 300 objects
(bench/RESULTS.md). A record reads like its model (the same attribute names, values and types,
immutable, compared by value) and is built from a document's data by a plan derived from the
models themselves: per field its YAML key, default, conversion (tuple, enum, float, nested
record), constraints (type, pattern, length, bounds, unknown keys) and validators. The
validators live in schema/model_rules.py, so records call the very functions the models call:
each rule keeps one home. The plan is plain data, kept in the derived cache under a name
derived from the models' source and pydantic's version (schema/documents.py); deriving it, on a
first run or after an upgrade, imports the models.

Records never word a refusal: a document the plan cannot build goes through the JSON Schema
validator and pydantic, whose message and location the user sees. Oracle:
tests/unit/test_records.py (every config document of the repository and of the hostile corpus,
and variations of them: a record exactly when pydantic accepts, with equal values of equal
types, and never one the JSON Schema refuses).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

RULES_MODULE = "schema.model_rules"
"""The one module a plan may refer to: importing it must not import pydantic."""
LIMIT_NAMES = ("pattern", "min_length", "max_length", "ge", "le", "gt", "lt")
Conv = tuple[Any, ...]
"""How one value is built: ("str",), ("tuple", Conv), ("model", key), ... (see _compile)."""
Plan = dict[str, Any]
"""{"kinds": {kind: model key}, "models": {model key: (name, fields, checks)}}: marshal-able."""
Build = Callable[[Any], Any]


class RefusedError(ValueError):
    """The plan cannot build this value: pydantic decides, and words, what is wrong."""


class Record:
    """One model's validated values, read like the model: same attribute names, immutable."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (a validated config document)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (a validated config document)")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(getattr(self, f) for f in self._fields)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"


class Records:
    """Builds a kind's record from a document's data, or refuses (None)."""

    def __init__(self, plan: Plan) -> None:
        self._kinds: dict[str, str] = dict(plan["kinds"])
        self._builds: dict[str, Build] = {}
        for key, (name, fields, checks) in plan["models"].items():
            self._builds[key] = self._model_build(name, fields, checks)

    def build(self, kind: str, data: Any) -> Any:
        """The record, or None when any rule refuses the data (pydantic then says why)."""
        try:
            return self._builds[self._kinds[kind]](data)
        except (ValueError, TypeError):  # RefusedError, a rule's ValueError
            return None

    def _model_build(self, name: str, fields: tuple[Any, ...], checks: tuple[str, ...]) -> Build:
        names = tuple(f[0] for f in fields)
        # no __slots__: a record's fields are set in one update of its __dict__
        cls = type(name, (Record,), {"_fields": names, "__module__": __name__})
        by_key = {alias: (field, self._compile(conv)) for field, alias, _d, _v, conv in fields}
        absent = [_Default(field, alias, has_default, value, by_key[alias][1])
                  for field, alias, has_default, value, _conv in fields]  # fmt: skip
        rules = [_resolve(ref) for ref in checks]

        def build(data: Any) -> Any:
            if type(data) is not dict:
                raise RefusedError(name)
            values = {}
            for key, value in data.items():
                known = by_key.get(key)
                if known is None:
                    raise RefusedError(f"{name}: unknown key")  # extra="forbid"
                values[known[0]] = known[1](value)
            if len(values) < len(names):
                for default in absent:
                    if default.field not in values:
                        values[default.field] = default.value()
            record: Any = object.__new__(cls)
            record.__dict__.update(values)
            for rule in rules:
                record = rule(record)
            return record

        return build

    def _compile(self, conv: Conv) -> Build:  # noqa: PLR0911 (one case per kind)
        op = conv[0]
        if op in _SCALARS:
            return _SCALARS[op]
        if op == "literal":
            return _literal(frozenset(conv[1]))
        if op == "enum":
            return _enum(_resolve(conv[1]))
        if op == "model":
            builds, key = self._builds, conv[1]
            # looked up at call time: a model's build may not exist yet while it is compiled
            return lambda value: builds[key](value)  # noqa: PLW0108
        if op == "optional":
            inner = self._compile(conv[1])
            return lambda value: None if value is None else inner(value)
        if op == "tuple":
            item = self._compile(conv[1])
            return lambda value: tuple(item(v) for v in _typed(value, list))
        if op == "dict":
            key, item = self._compile(conv[1]), self._compile(conv[2])
            return lambda value: {key(k): item(v) for k, v in _typed(value, dict).items()}
        if op == "limits":
            return _limits(self._compile(conv[1]), dict(zip(LIMIT_NAMES, conv[2], strict=True)))
        if op == "before":
            rule, inner = _resolve(conv[1]), self._compile(conv[2])
            return lambda value: inner(rule(value))
        if op == "after":
            inner, rule = self._compile(conv[1]), _resolve(conv[2])
            return lambda value: rule(inner(value))
        raise TypeError(f"unknown conversion {op!r}")


class _Default:
    """A field's default, validated like any value (pydantic's validate_default); built once
    when nothing in it can change (no dict or list), else for each record."""

    __slots__ = ("alias", "convert", "data", "field", "has_default", "shared", "state")

    def __init__(self, field: str, alias: str, has_default: bool, data: Any, convert: Build):
        self.field, self.alias, self.has_default = field, alias, has_default
        self.data, self.convert = data, convert
        self.shared: Any = None
        self.state = "unknown"

    def value(self) -> Any:
        if self.state == "shared":
            return self.shared
        if not self.has_default:
            raise RefusedError(f"{self.alias} is required")
        value = self.convert(self.data)
        if self.state == "unknown":
            self.state = "shared" if _immutable(value) else "fresh"
            self.shared = value if self.state == "shared" else None
        return value


def _immutable(value: Any) -> bool:
    if isinstance(value, Record):
        return all(_immutable(getattr(value, f)) for f in value._fields)
    if type(value) is tuple:
        return all(_immutable(v) for v in value)
    return value is None or isinstance(value, (str, int, float, Enum, timedelta))


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise RefusedError(f"expected {kind.__name__}")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: Any) -> float:
    if not _is_number(value):
        raise RefusedError("expected a number")
    return float(value)


def _int(value: Any) -> int:
    if type(value) is float and value.is_integer():
        return int(value)  # pydantic's lax mode takes 2.0 for 2 (and YAML's JSON Schema too)
    if type(value) is not int:
        raise RefusedError("expected an integer")
    return value


def _scalar(value: Any) -> Any:
    if not isinstance(value, (str, int, float)):  # bool is an int
        raise RefusedError("expected a string, number or boolean")
    return value


def _timedelta(value: Any) -> timedelta:
    return _typed(value, timedelta)  # type: ignore[no-any-return]


_SCALARS: dict[str, Build] = {
    "str": lambda value: _typed(value, str),
    "int": _int,
    "float": _float,
    "bool": lambda value: _typed(value, bool),
    "scalar": _scalar,
    "timedelta": _timedelta,
}


def _literal(allowed: frozenset[Any]) -> Build:
    def build(value: Any) -> Any:
        if type(value) is not str or value not in allowed:
            raise RefusedError("not one of the literal values")
        return value

    return build


def _enum(enum: Any) -> Build:
    def build(value: Any) -> Any:
        if type(value) is not str:
            raise RefusedError("expected a string")
        return enum(value)  # ValueError when not a member

    return build


_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def _limits(inner: Build, limits: dict[str, Any]) -> Build:
    # pydantic matches patterns with Rust's regex, whose $ is the end of the text; Python's $
    # also matches before a final newline, so it becomes \Z (as fastjsonschema does too).
    # The pattern compiles on first use: of the ~20 in the models, a repository meets a few.
    pattern = limits["pattern"]
    search: Callable[[str], Any] | None = None
    low, high = limits["min_length"], limits["max_length"]
    ge, le, gt, lt = limits["ge"], limits["le"], limits["gt"], limits["lt"]

    def build(value: Any) -> Any:
        nonlocal search
        value = inner(value)
        if pattern:
            if search is None:
                search = re.compile(_UNESCAPED_DOLLAR.sub(r"\\Z", pattern)).search
            if not search(value):
                raise RefusedError("pattern")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            raise RefusedError("length")
        if (ge is not None and value < ge) or (le is not None and value > le):
            raise RefusedError("bounds")
        if (gt is not None and value <= gt) or (lt is not None and value >= lt):
            raise RefusedError("bounds")
        return value

    return build


def _resolve(ref: str) -> Any:
    module, _, name = ref.partition(":")
    if module != RULES_MODULE:
        raise TypeError(f"a record rule must live in {RULES_MODULE}, not {module}")
    return getattr(importlib.import_module(module), name)


def derive_plan(kinds: dict[str, type[BaseModel]]) -> Plan:
    """The plan of these models (and every model they nest), read from pydantic's view of them.

    Anything the records cannot apply exactly (a validator kind, a constraint or a type not
    listed here) raises TypeError: the plan is then not stored and the CLI uses the models.
    """
    from schema.records_derive import PlanDeriver  # noqa: PLC0415 (imports pydantic)

    return PlanDeriver().plan(kinds)

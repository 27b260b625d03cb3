"""A fast yes/no verdict on a JSON Schema, for the keywords Camel's YAML DSL schema uses.

jsonschema walks the whole 800 KB schema generically (several ms per route file); this compiles each
sub-schema lazily into a closure once per process, so a valid file costs tens of microseconds. Only
when the verdict is "invalid" does the caller run jsonschema to explain why. Keywords it does not
know make it refuse to compile, so it can never call an invalid document valid by ignoring a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = frozenset(
    {"title", "description", "default", "deprecated", "$schema", "definitions", "format"}
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


class UnsupportedSchemaError(ValueError):
    """The schema uses a keyword this checker does not implement."""


class FastChecker:
    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._compiled: dict[int, Check] = {}
        self._check = self._compile(root)

    def is_valid(self, instance: Any) -> bool:
        return self._check(instance)

    def _compile(self, schema: dict[str, Any]) -> Check:
        known = self._compiled.get(id(schema))
        if known is not None:
            return known
        checks: list[Check] = []
        # Registered before the parts compile, so recursive $refs find it.
        self._compiled[id(schema)] = lambda v: all(c(v) for c in checks)
        for key, value in schema.items():
            if key in _IGNORED:
                continue
            builder = getattr(self, "_kw_" + key.lstrip("$"), None)
            if builder is None:
                raise UnsupportedSchemaError(f"keyword {key!r} is not supported")
            checks.append(builder(value, schema))
        return self._compiled[id(schema)]

    def _kw_ref(self, ref: str, _schema: dict[str, Any]) -> Check:
        target: Any = self._root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        holder: list[Check] = []

        def check(value: Any) -> bool:
            if not holder:
                holder.append(self._compile(target))
            return holder[0](value)

        return check

    def _kw_type(self, kinds: str | list[str], _schema: dict[str, Any]) -> Check:
        tests = [_TYPES[k] for k in ([kinds] if isinstance(kinds, str) else kinds)]
        return lambda v: any(t(v) for t in tests)

    def _kw_enum(self, allowed: list[Any], _schema: dict[str, Any]) -> Check:
        return lambda v: v in allowed

    def _kw_pattern(self, pattern: str, _schema: dict[str, Any]) -> Check:
        search = re.compile(pattern).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    def _kw_required(self, names: list[str], _schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or all(n in v for n in names)

    def _kw_maxProperties(self, limit: int, _schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) <= limit

    def _kw_properties(self, props: dict[str, dict[str, Any]], _schema: dict[str, Any]) -> Check:
        compiled = {name: self._lazy(sub) for name, sub in props.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            return all(compiled[k](v) for k, v in value.items() if k in compiled)

        return check

    def _kw_additionalProperties(
        self, extra: bool | dict[str, Any], schema: dict[str, Any]
    ) -> Check:
        declared = frozenset(schema.get("properties", {}))
        if extra is True:
            return lambda _v: True
        if extra is False:
            return lambda v: not isinstance(v, dict) or declared.issuperset(v)
        sub = self._lazy(extra)
        return lambda v: (
            not isinstance(v, dict) or all(sub(item) for k, item in v.items() if k not in declared)
        )

    def _kw_items(self, items: dict[str, Any], _schema: dict[str, Any]) -> Check:
        sub = self._lazy(items)
        return lambda v: not isinstance(v, list) or all(sub(item) for item in v)

    def _kw_anyOf(self, options: list[dict[str, Any]], _schema: dict[str, Any]) -> Check:
        subs = [self._lazy(o) for o in options]
        return lambda v: any(s(v) for s in subs)

    def _kw_allOf(self, options: list[dict[str, Any]], _schema: dict[str, Any]) -> Check:
        subs = [self._lazy(o) for o in options]
        return lambda v: all(s(v) for s in subs)

    def _kw_oneOf(self, options: list[dict[str, Any]], _schema: dict[str, Any]) -> Check:
        subs = [self._lazy(o) for o in options]
        return lambda v: sum(1 for s in subs if s(v)) == 1

    def _kw_not(self, inner: dict[str, Any], _schema: dict[str, Any]) -> Check:
        sub = self._lazy(inner)
        return lambda v: not sub(v)

    def _lazy(self, schema: dict[str, Any]) -> Check:
        holder: list[Check] = []

        def check(value: Any) -> bool:
            if not holder:
                holder.append(self._compile(schema))
            return holder[0](value)

        return check

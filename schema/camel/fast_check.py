"""A fast yes/no verdict on a JSON Schema, for the keywords Camel's YAML DSL schema uses.

jsonschema walks the whole 800 KB schema generically (several ms per route file); this compiles each
sub-schema lazily into a closure once per process, so a valid file costs tens of microseconds. Only
when the verdict is "invalid" does the caller run jsonschema to explain why. Keywords it does not
know make it refuse to compile, so it can never call an invalid document valid by ignoring a rule.
"""

# ruff: noqa: SIM110  (plain loops: this is the hot path, and they beat all()/any() generators)
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = frozenset(
    {"title", "description", "default", "deprecated", "$schema", "definitions", "format"}
)
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "number": (int, float),
    "integer": (int,),
    "null": (type(None),),
}
_TYPES = _PYTHON_TYPES


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
        # A trampoline is registered before the parts compile, so recursive $refs find it.
        final: list[Check] = []
        self._compiled[id(schema)] = lambda v: final[0](v)  # noqa: PLW0108 (late-bound)
        checks = []
        for key, value in schema.items():
            if key in _IGNORED:
                continue
            builder = getattr(self, "_kw_" + key.lstrip("$"), None)
            if builder is None:
                raise UnsupportedSchemaError(f"keyword {key!r} is not supported")
            checks.append(builder(value, schema))
        final.append(_all_of(checks))
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
        names = frozenset([kinds] if isinstance(kinds, str) else kinds)
        unknown = names - _TYPES.keys()
        if unknown:
            raise UnsupportedSchemaError(f"type {sorted(unknown)} is not supported")
        python_types = tuple({t for n in names for t in _PYTHON_TYPES[n]})
        if "boolean" in names or not names & {"integer", "number"}:
            return lambda v: isinstance(v, python_types)
        # bool is an int in Python but not a number in JSON Schema
        return lambda v: isinstance(v, python_types) and not isinstance(v, bool)

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
            for key, item in value.items():
                sub = compiled.get(key)
                if sub is not None and not sub(item):
                    return False
            return True

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

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            for item in value:
                if not sub(item):
                    return False
            return True

        return check

    def _kw_anyOf(self, options: list[dict[str, Any]], _schema: dict[str, Any]) -> Check:
        if all(set(o) == {"required"} and len(o["required"]) == 1 for o in options):
            # Camel's "one of these expression languages is present" test, as one set operation.
            names = frozenset(o["required"][0] for o in options)
            return lambda v: not isinstance(v, dict) or not names.isdisjoint(v)
        subs = [self._lazy(o) for o in options]

        def check(value: Any) -> bool:
            for sub in subs:
                if sub(value):
                    return True
            return False

        return check

    def _kw_allOf(self, options: list[dict[str, Any]], _schema: dict[str, Any]) -> Check:
        return _all_of([self._lazy(o) for o in options])

    def _kw_oneOf(self, options: list[dict[str, Any]], _schema: dict[str, Any]) -> Check:
        subs = [self._lazy(o) for o in options]
        return lambda v: sum(1 for s in subs if s(v)) == 1

    def _kw_not(self, inner: dict[str, Any], _schema: dict[str, Any]) -> Check:
        sub = self._lazy(inner)
        return lambda v: not sub(v)

    def _lazy(self, schema: dict[str, Any]) -> Check:
        """Compile on first use: most of Camel's 260 definitions never appear in a given repo."""
        holder: list[Check] = []

        def check(value: Any) -> bool:
            if not holder:
                holder.append(self._compile(schema))
            return holder[0](value)

        return check


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for sub in checks:
            if not sub(value):
                return False
        return True

    return check

"""Make Camel's published YAML DSL schema judge routes as Camel's own loader does.

Run naively, the schema reports false errors on working routes: Camel coerces scalars (a number
or boolean where the schema says string, "true" or "{{placeholder}}" where it says boolean), and
several `oneOf` branches overlap (an expression shorthand also matches the object form), so a
valid step matches two branches and `oneOf` fails. We rewrite the published schema (never
hand-write one): `oneOf` becomes `anyOf`, scalar types accept what Camel converts.
"""

from __future__ import annotations

import copy
from typing import Any

PLACEHOLDER = r"(\{\{.+\}\}|\$\{.+\})"
_SCALAR_STRING_FORMS = {
    "boolean": rf"^(true|false|True|False|TRUE|FALSE|.*{PLACEHOLDER}.*)$",
    "number": rf"^([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?|.*{PLACEHOLDER}.*)$",
    "integer": rf"^([-+]?[0-9]+|.*{PLACEHOLDER}.*)$",
}
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
_SUBSCHEMA_MAPS = ("properties", "definitions", "patternProperties")
_SUBSCHEMA_ONE = ("items", "not", "additionalProperties")


def lenient_schema(schema: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(schema)
    _rewrite(result)
    return result


def _rewrite(node: dict[str, Any]) -> None:  # noqa: PLR0912
    if "oneOf" in node:
        if "anyOf" in node:
            node.setdefault("allOf", []).append({"anyOf": node.pop("oneOf")})
        else:
            node["anyOf"] = node.pop("oneOf")
    kind = node.get("type")
    # Rewritten types are lists, so a second visit leaves them alone.
    if kind == "string":
        node["type"] = ["string", "number", "boolean"]
    elif isinstance(kind, str) and kind in _SCALAR_STRING_FORMS:
        del node["type"]
        string_form = {"type": ["string"], "pattern": _SCALAR_STRING_FORMS[kind]}
        node.setdefault("allOf", []).append({"anyOf": [{"type": [kind]}, string_form]})
    for key in _SUBSCHEMA_LISTS:
        for child in node.get(key, []):
            if isinstance(child, dict):
                _rewrite(child)
    for key in _SUBSCHEMA_MAPS:
        for child in node.get(key, {}).values():
            if isinstance(child, dict):
                _rewrite(child)
    for key in _SUBSCHEMA_ONE:
        child = node.get(key)
        if isinstance(child, dict):
            _rewrite(child)

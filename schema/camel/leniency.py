"""Make Camel's published YAML DSL schema judge routes as Camel's own loader does.

Run naively, the schema reports false errors on working routes: Camel coerces scalars (a number
or boolean where the schema says string, "true" or "{{placeholder}}" where it says boolean), and
several `oneOf` branches overlap (an expression shorthand also matches the object form), so a
valid step matches two branches and `oneOf` fails. We rewrite the published schema (never
hand-write one): `oneOf` becomes `anyOf`, scalar types accept what Camel converts, enumerations
accept property placeholders, and every key also has its kebab-case spelling (Camel's YAML loader
turns `exchange-property` into `exchangeProperty` before it looks the key up).
"""

from __future__ import annotations

import copy
import re
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


def _rewrite(node: dict[str, Any]) -> None:
    """Children first; the nodes created here are never visited again."""
    if "oneOf" in node:
        if "anyOf" in node:
            node.setdefault("allOf", []).append({"anyOf": node.pop("oneOf")})
        else:
            node["anyOf"] = node.pop("oneOf")
    for child in _children(node):
        _rewrite(child)
    if "properties" in node:
        _add_kebab_aliases(node["properties"])
    if "enum" in node:
        placeholder = {"type": ["string"], "pattern": PLACEHOLDER}
        node.setdefault("allOf", []).append({"anyOf": [{"enum": node.pop("enum")}, placeholder]})
    kind = node.get("type")
    if kind == "string":
        node["type"] = ["string", "number", "boolean"]
    elif isinstance(kind, str) and kind in _SCALAR_STRING_FORMS:
        del node["type"]
        string_form = {"type": ["string"], "pattern": _SCALAR_STRING_FORMS[kind]}
        node.setdefault("allOf", []).append({"anyOf": [{"type": [kind]}, string_form]})


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key in _SUBSCHEMA_LISTS:
        found += [c for c in node.get(key, []) if isinstance(c, dict)]
    for key in _SUBSCHEMA_MAPS:
        found += [c for c in node.get(key, {}).values() if isinstance(c, dict)]
    for key in _SUBSCHEMA_ONE:
        child = node.get(key)
        if isinstance(child, dict):
            found.append(child)
    return found


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "-" + m.group(1).lower(), name)


def _add_kebab_aliases(properties: dict[str, Any]) -> None:
    for name in list(properties):
        alias = _kebab(name)
        if alias != name and alias not in properties:
            properties[alias] = properties[name]

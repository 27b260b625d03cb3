"""Turn jsonschema errors into messages a Camel or camelops user can act on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema loads only when an error must be explained
    from jsonschema.exceptions import ValidationError

MAX_SHOWN = 60


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def suggest(word: str, choices: list[str] | frozenset[str] | tuple[str, ...]) -> str:
    import difflib  # noqa: PLC0415 (only when there is a mistake to suggest a fix for)

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """For anyOf/oneOf failures, follow the branch that matched furthest into the document."""
    if not error.context:
        yield error
        return
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def depth(errors: list[ValidationError]) -> tuple[int, int]:
        deepest = max(len(e.absolute_path) for e in errors)
        # Prefer branches that failed on an unknown key or value over a bare type mismatch.
        specific = sum(1 for e in errors if e.validator not in ("type", "not", "anyOf"))
        return (deepest, specific)

    best = max(branches.values(), key=depth)
    if max(len(e.absolute_path) for e in best) <= len(error.absolute_path) and all(
        e.validator == "type" for e in best
    ):
        yield error  # nothing matched at all: the shape itself is wrong here
        return
    for sub in best:
        yield from leaf_errors(sub)


def describe(error: ValidationError, unknown_key_noun: str = "key") -> tuple[str, str | None]:  # noqa: PLR0911
    """(message, offending key or None) for one leaf error."""
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator = error.validator
    expected: Any = error.validator_value
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in known)
        key = extra[0] if extra else None
        preferred = [k for k in known if "-" not in k]  # suggest the canonical camelCase spelling
        return (f"unknown {unknown_key_noun} '{key}'{suggest(str(key), preferred)}", key)
    if validator == "required" and isinstance(instance, dict):
        missing = [n for n in expected if n not in instance]
        return (f"missing required key '{missing[0] if missing else expected}'", None)
    if validator == "type":
        return (f"expected {_types(expected)}, found {_kind(instance)}", None)
    if validator == "enum":
        allowed = ", ".join(str(v) for v in expected)
        return (f"expected one of {allowed}; found {shown(instance)}", None)
    if validator == "pattern" and schema.get("description"):
        return (f"expected {schema['description']}; found {shown(instance)}", None)
    if validator == "maxProperties" and isinstance(instance, dict):
        keys = ", ".join(sorted(instance))
        return (f"expected exactly one key here, found {len(instance)}: {keys}", None)
    if validator == "not":
        return ("conflicting options: these keys cannot be used together here", None)
    if validator == "anyOf":
        types = _alternative_types(error)
        if types:
            return (f"expected {' or '.join(types)}, found {_kind(instance)}", None)
        return (f"{shown(instance)} does not match any allowed form here", None)
    if validator == "const":
        return (f"expected {expected!r}, found {shown(instance)}", None)
    if validator in ("maximum", "minimum"):
        relation = "greater than the maximum" if validator == "maximum" else "less than the minimum"
        return (f"{shown(instance)} is {relation} of {expected}", None)
    if validator == "minItems":
        return (f"expected at least {expected} item{'s' * (expected != 1)}", None)
    return (error.message if len(error.message) < 200 else error.message[:197] + "...", None)


def _alternative_types(error: ValidationError) -> list[str]:
    """The types an anyOf accepted, when every branch failed only on its type or pattern."""
    if not all(sub.validator in ("type", "pattern") for sub in error.context):
        return []
    types: list[str] = []
    for sub in error.context:
        value: Any = sub.validator_value if sub.validator == "type" else "string"
        for kind in [value] if isinstance(value, str) else value:
            if kind not in types:
                types.append("nothing (null)" if kind == "null" else kind)
    return types


def _types(value: Any) -> str:
    kinds = [value] if isinstance(value, str) else list(value)
    return " or ".join(kinds)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {value!r}".lower()
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {shown(value)}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    return "a mapping"

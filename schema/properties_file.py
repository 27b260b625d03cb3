"""Read Java `.properties` files (the subset Camel users write) to cross-check settings."""

from __future__ import annotations

import re

_SEPARATOR = re.compile(r"(?<!\\)[=:]|(?<!\\)\s")


def parse_properties(text: str) -> dict[str, tuple[str, int]]:
    """key -> (value, 1-based line). Comments, blank lines and continuations are handled."""
    found: dict[str, tuple[str, int]] = {}
    logical = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if not logical:
            start = number
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        key, value = _split(logical)
        found[key] = (value, start)
        logical = ""
    return found


def _split(line: str) -> tuple[str, str]:
    match = _SEPARATOR.search(line)
    if match is None:
        return line, ""
    key = line[: match.start()]
    rest = line[match.end() :].lstrip()
    if match.group().isspace() and rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip()
    return key.replace("\\", ""), rest

"""A small, fast YAML emitter for Kubernetes objects (dicts, lists, str, int, float, bool, None).

PyYAML spends most of its time representing nodes in Python; manifests need none of that.
Output is block style with sorted keys, plain scalars only where no YAML 1.1 or 1.2 reader could
take them for anything but a string, double quotes otherwise, and `|` literals for multi-line
text. Every rendering is checked to load back to the same data (tests/unit/renderers).
"""

from __future__ import annotations

import math
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_/][-A-Za-z0-9_./:@=+,()$ ]*")
# words some YAML reader resolves to a bool or null (YAML 1.1 includes y/n and on/off)
_RESERVED = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "="])
_NEEDS_ESCAPE = re.compile('[\x00-\x1f\x7f-\x9f"\\\\\u2028\u2029\ufeff\ud800-\udfff]')
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\", "\x00": "\\0"}
# printable except tab; a literal block cannot carry other control characters or bare CRs
_LITERAL_SAFE = re.compile("[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]*")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def quoted(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, text) + '"'


def _plain_ok(text: str) -> bool:
    return (
        _PLAIN.fullmatch(text) is not None
        and text.lower() not in _RESERVED
        and not text.endswith((":", " "))
        and ": " not in text
    )


_STRINGS: dict[str, str] = {}
"""Written form of strings already seen: manifests repeat their keys and most values (labels,
kinds, names) across objects, and deciding plain or quoted is most of the emitter's time."""
_STRINGS_MAX = 20_000
_STRING_MAX_LEN = 256  # bounded: a long-running control plane renders revision after revision


def _string(text: str) -> str:
    written = _STRINGS.get(text)
    if written is None:
        written = text if _plain_ok(text) else quoted(text)
        if len(text) <= _STRING_MAX_LEN and len(_STRINGS) < _STRINGS_MAX:
            _STRINGS[text] = written
    return written


def scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"cannot write {type(value).__name__} to YAML")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:  # YAML 1.1 floats need a dot: 1e-05 would read as a string
        mantissa += ".0"
    return mantissa + (f"e{exponent if exponent[0] in '+-' else '+' + exponent}" if e else "")


def _literal_header(text: str) -> str | None:
    """The `|` header for text a literal block carries exactly, or None."""
    if "\n" not in text or not _LITERAL_SAFE.fullmatch(text) or not text.strip("\n"):
        return None
    lines = text.split("\n")
    if any(line and not line.strip(" \t") for line in lines):
        return None  # whitespace-only lines confuse indentation detection: quote instead
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    indicator = "2" if body.lstrip("\n")[:1] in (" ", "\t") else ""
    return f"|{indicator}{chomp}"


def _literal(text: str, header: str, indent: int) -> str:
    pad = " " * indent
    body = text[:-1] if text.endswith("\n") else text
    lines = "\n".join(pad + line if line else "" for line in body.split("\n"))
    return f"{header}\n{lines}\n"


def _value(value: Any, indent: int, out: list[str]) -> None:
    """Writes what follows `key:` or `- ` (the caller wrote that, without a trailing space)."""
    if isinstance(value, dict):
        if not value:
            out.append(" {}\n")
            return
        out.append("\n")
        _mapping(value, indent + 2, out)
    elif isinstance(value, list):
        if not value:
            out.append(" []\n")
            return
        out.append("\n")
        _sequence(value, indent, out)
    elif isinstance(value, str) and (header := _literal_header(value)) is not None:
        out.append(" " + _literal(value, header, indent + 2))
    else:
        out.append(" " + scalar(value) + "\n")


def _mapping(mapping: dict[Any, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    seen = _STRINGS  # a written form is never empty: `or` falls through only on a miss
    for key in sorted(mapping):
        if not isinstance(key, str):
            raise TypeError(f"mapping keys must be strings, found {key!r}")
        value = mapping[key]
        written = seen.get(key) or _string(key)
        # the two commonest entries (a one-line string, a non-empty mapping) written inline:
        # most of a manifest, and a call less each
        if type(value) is str and "\n" not in value:
            out.append(f"{pad}{written}: {seen.get(value) or _string(value)}\n")
        elif type(value) is dict and value:
            out.append(f"{pad}{written}:\n")
            _mapping(value, indent + 2, out)
        elif type(value) is int:  # not a bool: type(True) is bool
            out.append(f"{pad}{written}: {value}\n")
        else:
            out.append(f"{pad}{written}:")
            _value(value, indent, out)


def _sequence(items: list[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if type(item) is str and "\n" not in item:
            out.append(f"{pad}- {_STRINGS.get(item) or _string(item)}\n")
        elif isinstance(item, dict) and item:
            first = len(out)
            _mapping(item, indent + 2, out)
            out[first] = pad + "- " + out[first][indent + 2 :]  # its first key after the dash
        elif isinstance(item, list) and item:
            out.append(f"{pad}-\n")
            _sequence(item, indent + 2, out)
        else:
            out.append(f"{pad}-")
            _value(item, indent, out)


def dump(value: Any) -> str:
    """One YAML document (no `---`), ending with a newline."""
    out: list[str] = []
    if isinstance(value, dict) and value:
        _mapping(value, 0, out)
    elif isinstance(value, list) and value:
        _sequence(value, 0, out)
    else:
        out.append(("{}" if value == {} else "[]" if value == [] else scalar(value)) + "\n")
    return "".join(out)

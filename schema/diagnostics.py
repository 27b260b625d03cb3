"""Diagnostics: what validation reports, with file:line:col, a JSON pointer and a severity."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Control (Cc), format (Cf: bidi overrides, zero-width) and line/paragraph separators: characters
# that can forge or disguise output lines when a file name or value is printed.
HOSTILE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def hostile_char(text: str) -> str | None:
    """The first character of `text` that may not appear in a path, or None."""
    if text.isprintable():
        return None
    return next((ch for ch in text if unicodedata.category(ch) in HOSTILE_CATEGORIES), None)


def printable(text: str) -> str:
    """The text with every hostile character shown as an escape (\\n, \\x1b, \\u202e)."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in HOSTILE_CATEGORIES
        else ch
        for ch in text
    )


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One finding. Line and column are 1-based; 0 means the whole file."""

    path: str
    line: int
    col: int
    severity: Severity
    message: str
    pointer: str = ""
    code: str = ""

    def format_text(self) -> str:
        path = printable(self.path)
        where = path if not self.line else f"{path}:{self.line}:{self.col}"
        return f"{where}: {self.severity}: {printable(self.message)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.col,
            "severity": str(self.severity),
            "code": self.code,
            "pointer": self.pointer,
            "message": self.message,
        }


class InvalidFileError(Exception):
    """A file that cannot be loaded at all; carries the diagnostics that say why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.format_text() for d in diagnostics))
        self.diagnostics = diagnostics


def json_pointer(path: tuple[str | int, ...] | list[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "".join("/" + p for p in escaped)

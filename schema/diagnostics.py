"""Diagnostics: what validation reports, with file:line:col, a JSON pointer and a severity."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
        where = self.path if not self.line else f"{self.path}:{self.line}:{self.col}"
        return f"{where}: {self.severity}: {self.message}"

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

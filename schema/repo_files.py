"""Reading a config repository safely: no escapes, no binaries, bounded sizes, strict UTF-8."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from schema.diagnostics import Diagnostic, InvalidFileError, Severity, hostile_char, printable
from schema.limits import LoadLimits

SKIPPED_DIRS = frozenset({".git"})


def _error(path: str, message: str, code: str, line: int = 0, col: int = 0) -> Diagnostic:
    return Diagnostic(path, line, col, Severity.ERROR, message, code=code)


@dataclass
class RepoFiles:
    """Files of one checkout. Every path handed out is repository-relative, POSIX style."""

    root: Path
    limits: LoadLimits
    _real_root: str = field(init=False)
    _no_symlinks: bool = field(init=False, default=False)
    """Set by survey(): with no symlink anywhere, no path can resolve outside the root."""

    def __post_init__(self) -> None:
        self._real_root = os.path.realpath(self.root)

    def survey(self) -> list[Diagnostic]:
        """Repository-wide caps and symlinks that point outside the repository."""
        problems: list[Diagnostic] = []
        count = total = links = 0
        for directory, subdirs, files in os.walk(self.root):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
            for name in [*subdirs, *files]:
                full = os.path.join(directory, name)
                bad = hostile_char(name)
                if bad is not None:
                    message = (
                        f"file name holds the control character U+{ord(bad):04X}; rename it "
                        "(names are printed, and such characters can forge output)"
                    )
                    problems.append(_error(self.relative(full), message, "repo-name"))
                if os.path.islink(full):
                    links += 1
                    if not self._inside(os.path.realpath(full)):
                        rel = self.relative(full)
                        message = "symlink points outside the repository"
                        problems.append(_error(rel, message, "repo-symlink"))
                elif name in files:
                    count += 1
                    total += os.path.getsize(full)
        self._no_symlinks = links == 0
        if count > self.limits.max_repo_files:
            problems.append(
                _error(
                    ".",
                    f"repository has {count} files; the limit is {self.limits.max_repo_files}",
                    "repo-too-many-files",
                )
            )
        if total > self.limits.max_repo_bytes:
            problems.append(
                _error(
                    ".",
                    f"repository holds {total} bytes; the limit is {self.limits.max_repo_bytes}",
                    "repo-too-large",
                )
            )
        return problems

    def relative(self, full: str | Path) -> str:
        return PurePosixPath(os.path.relpath(full, self.root)).as_posix()

    def _inside(self, real: str) -> bool:
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def _resolves_inside(self, full: Path) -> bool:
        return self._no_symlinks or self._inside(os.path.realpath(full))

    def check_relative(self, rel: str, referenced_from: str) -> str | None:
        """An error message when a path from a repo file is absolute or climbs out; else None."""
        pure = PurePosixPath(rel)
        bad = hostile_char(rel)
        if bad is not None:
            return f"path '{printable(rel)}' holds the control character U+{ord(bad):04X}"
        if pure.is_absolute() or "\\" in rel:
            return f"path '{rel}' must be relative to {referenced_from}"
        if ".." in pure.parts:
            return f"path '{rel}' must not contain '..'"
        return None

    def exists(self, rel: str) -> bool:
        full = self.root / rel
        return full.is_file() and self._resolves_inside(full)

    def is_dir(self, rel: str) -> bool:
        full = self.root / rel
        return full.is_dir() and self._resolves_inside(full)

    def list_dir(self, rel: str) -> list[str]:
        """Sorted entries of a repo directory (relative paths); [] if absent."""
        full = self.root / rel
        if not self.is_dir(rel):
            return []
        prefix = rel.rstrip("/") + "/"
        return sorted(prefix + name for name in os.listdir(full))

    def glob(self, base: str, pattern: str) -> list[str]:
        """Files under `base` matching `pattern` (`*`, `?`, `[..]`, and `**` for any depth)."""
        base_dir = self.root / base
        prefix = base.rstrip("/") + "/"
        folder, _, name_pattern = pattern.rpartition("/")
        if folder == "**" and "**" not in name_pattern:
            # `**/*.kamelet.yaml`, asked for every integration: a walk, as pathlib's `**` goes
            # (symlinked directories not entered), without building a Path per entry
            walked = [
                (os.path.relpath(directory, base_dir), names)
                for directory, _, names in os.walk(base_dir)
            ]
            return sorted(
                prefix + (name if sub == "." else f"{sub}/{name}")
                for sub, names in walked
                for name in fnmatch.filter(names, name_pattern)
            )
        if "**" in pattern or glob_magic(folder):
            found = (p for p in base_dir.glob(pattern) if not p.is_dir())
            return sorted(prefix + p.relative_to(base_dir).as_posix() for p in found)
        # The common case (`routes/*.camel.yaml`): one directory listing, no pathlib globbing.
        directory = base_dir / folder if folder else base_dir
        try:
            entries = [e.name for e in os.scandir(directory) if not e.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            return []
        where = prefix + (folder + "/" if folder else "")
        return sorted(where + n for n in fnmatch.filter(entries, name_pattern))

    def read_text(self, rel: str, max_bytes: int | None = None) -> str:
        """The file as text, or InvalidFileError saying exactly what is wrong with it."""
        full = self.root / rel
        cap = max_bytes or self.limits.max_file_bytes
        if not self._resolves_inside(full):
            raise InvalidFileError(
                [_error(rel, "symlink points outside the repository", "repo-symlink")]
            )
        if not full.is_file():
            raise InvalidFileError([_error(rel, "file not found", "repo-missing")])
        size = full.stat().st_size
        if size > cap:
            raise InvalidFileError(
                [_error(rel, f"file is {size} bytes; the limit is {cap}", "repo-file-too-large")]
            )
        data = full.read_bytes()
        return decode_text(rel, data)


def decode_text(rel: str, data: bytes) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise InvalidFileError(
            [
                _error(
                    rel,
                    "binary file (contains NUL bytes); expected UTF-8 text",
                    "repo-binary",
                    line,
                    col,
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        message = f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        raise InvalidFileError([_error(rel, message, "repo-encoding", line, col)]) from exc
    return text.removeprefix("\ufeff")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, col


def glob_magic(text: str) -> bool:
    return any(ch in text for ch in "*?[")

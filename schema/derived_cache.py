"""Derived artefacts kept between runs: compiled document validators, the lenient Camel schema.

Generating and compiling the fastjsonschema validators and rewriting Camel's YAML DSL schema
cost more than the rest of a `camelops validate` run, yet their inputs (our models' JSON
Schemas, the Camel catalog) change only with a new release. Each entry is named by a digest of
everything it is derived from, including the Python bytecode version and the generator's
version, so a stale entry is never read: a changed input gives a new name. Writes are atomic
(temporary file + rename); a cache directory that cannot be written, or that others could
write, only costs the speed-up, never a verdict.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
from pathlib import Path
from types import CodeType
from typing import Any

ENV_DIR = "CAMELOPS_CACHE_DIR"


def cache_dir() -> Path:
    """$CAMELOPS_CACHE_DIR, else the XDG user cache directory (~/.cache/camelops)."""
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "camelops"


def digest(*parts: str | bytes) -> str:
    """Names an entry; the bytecode magic number keeps one Python's code from another's."""
    hasher = hashlib.sha256(importlib.util.MAGIC_NUMBER)
    for part in parts:
        # a part's length first: no two lists of parts hash the same bytes
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.hexdigest()[:32]


def load_code(name: str) -> CodeType | None:
    data = _load(f"{name}.code")
    try:
        # Only from a directory no one else can write (see _private_dir): like a .pyc file.
        code = marshal.loads(data) if data is not None else None  # noqa: S302
    except (ValueError, EOFError, TypeError):
        return None  # damaged: the caller derives it again
    return code if isinstance(code, CodeType) else None


def store_code(name: str, code: CodeType) -> None:
    _store(f"{name}.code", marshal.dumps(code))


def load_value(name: str) -> Any:
    """The stored plain value, or None when absent or damaged (the caller derives it again).

    marshal, not JSON: twice as fast to read, and it keeps a subschema shared by two keys shared.
    """
    data = _load(f"{name}.value")
    try:
        return marshal.loads(data) if data is not None else None  # noqa: S302 (private dir)
    except (ValueError, EOFError, TypeError):
        return None


def store_value(name: str, value: Any) -> None:
    _store(f"{name}.value", marshal.dumps(value))


def _load(filename: str) -> bytes | None:
    folder = cache_dir()
    try:
        if not _private_dir(folder):
            return None
        return (folder / filename).read_bytes()
    except OSError:
        return None


def _private_dir(folder: Path) -> bool:
    """Ours and writable by no one else: another user could otherwise plant code we run."""
    info = folder.stat()
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _store(filename: str, data: bytes) -> None:
    folder = cache_dir()
    try:
        # Only the user may write here: code entries are executed on the next run.
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        import tempfile  # noqa: PLC0415 (only when an entry is written, not on every run)

        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, folder / filename)
    except OSError:
        return  # read-only home, full disk: run without the cache

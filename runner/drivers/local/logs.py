"""Process logs: size-based rotation (copy-truncate, so the JVM keeps writing to the same
descriptor without being told) and the Camel error a failed start left in its log."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

_ERROR_LINE = re.compile(r"\bERROR\b|^Caused by: |^\S+(Exception|Error)(: |$)")
MAX_ERROR_LINES = 6
MAX_ERROR_CHARS = 1500


def rotate(path: Path, max_bytes: int, keep: int) -> bool:
    """Rotate `path` when it has grown past `max_bytes`: log.1 .. log.<keep>, oldest dropped.
    Raises OSError (e.g. ENOSPC) for the caller to report; the process keeps running anyway."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size <= max_bytes:
        return False
    for n in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{n + 1}"))
    if keep > 0:
        shutil.copyfile(path, path.with_name(f"{path.name}.1"))
    with path.open("r+b") as log:
        log.truncate(0)
    return True


def camel_error(path: Path, tail_bytes: int = 256 * 1024) -> str:
    """The ERROR lines and `Caused by` chain at the end of a log: why Camel did not start."""
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, 2) - tail_bytes))
            text = log.read().decode(errors="replace")
    except OSError as exc:
        return f"no log: {exc}"
    lines = [line.strip() for line in text.splitlines() if _ERROR_LINE.search(line.strip())]
    if not lines:
        last = [line.strip() for line in text.splitlines() if line.strip()][-3:]
        return " | ".join(last) or "the process wrote no log"
    return " | ".join(dict.fromkeys(lines[-MAX_ERROR_LINES:]))[:MAX_ERROR_CHARS]

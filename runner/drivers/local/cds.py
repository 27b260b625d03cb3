"""Class data sharing for the integrations' JVMs: the first process of a runtime records the
classes it loaded into an archive when it exits; every later start maps that archive instead of
loading and verifying the same jars again (Camel's readiness about twice as fast, which is most
of push -> running). A stale archive (another JDK or runtime) is ignored by the JVM, and a new
key makes a new one."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

ARCHIVE_IN_INSTANCE = "classes.jsa"
# the Jolokia agent loads at start: an archive is only written, and then only mapped, with the
# same (diagnostic) switch on
_WITH_AGENT = ("-XX:+UnlockDiagnosticVMOptions", "-XX:+AllowArchivingWithJavaAgent")


class ClassDataSharing:
    def __init__(self, cache_dir: Path, runtime_home: Path) -> None:
        self.archive = cache_dir / f"camel-{_runtime_key(runtime_home)}.jsa"
        self._lock = threading.Lock()
        self._recording: Path | None = None
        """The instance directory whose JVM records the archive, while it runs."""

    def options(self, instance_dir: Path) -> list[str]:
        """JVM flags for a process starting in `instance_dir`."""
        if self.archive.exists():
            return [*_WITH_AGENT, f"-XX:SharedArchiveFile={self.archive}"]
        with self._lock:
            if self._recording is not None and self._recording.exists():
                return []  # one recording at a time
            self._recording = instance_dir
        return [*_WITH_AGENT, f"-XX:ArchiveClassesAtExit={instance_dir / ARCHIVE_IN_INSTANCE}"]

    def collect(self, instance_dir: Path) -> None:
        """After the process in `instance_dir` exited: keep the archive it wrote, if any."""
        written = instance_dir / ARCHIVE_IN_INSTANCE
        with self._lock:
            if self._recording == instance_dir:
                self._recording = None
        if written.exists() and not self.archive.exists():
            self.archive.parent.mkdir(parents=True, exist_ok=True)
            written.replace(self.archive)


def _runtime_key(runtime_home: Path) -> str:
    """The JDK and every jar of the runtime, by name, size and time."""
    java = shutil.which("java") or "java"
    parts = [os.path.realpath(java)]
    with_stat = [Path(os.path.realpath(java)), *sorted((runtime_home / "lib").glob("*.jar"))]
    for path in with_stat:
        try:
            info = path.stat()
        except OSError:
            continue
        parts.append(f"{path.name}:{info.st_size}:{int(info.st_mtime)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
